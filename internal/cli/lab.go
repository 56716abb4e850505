package cli

import "github.com/spf13/cobra"

func newLabCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "lab",
		Short: "Correctness experiments: count what each consumer strategy loses, duplicates and reorders",
	}
	c.AddCommand(newLabConsumerCmd(g))
	c.AddCommand(newLabProducerCmd(g))
	c.AddCommand(newLabGroupCmd(g))
	c.AddCommand(newLabGroupSettingsCmd(g))
	c.AddCommand(newLabSoakCmd(g))
	return c
}
