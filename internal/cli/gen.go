package cli

import "github.com/spf13/cobra"

func newGenCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "gen",
		Short: "Generate deterministic input datasets",
	}
	c.AddCommand(newGenCSVCmd(g))
	return c
}
