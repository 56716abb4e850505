package cli

import "github.com/spf13/cobra"

func newBenchCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure producers and consumers against a real broker",
	}
	c.AddCommand(newBenchProduceCmd(g), newBenchConsumeCmd(g), newBenchDownstreamCmd(g))
	return c
}
