package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(placeholder): replaced by the real command.
func newGenCSVCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "csv",
		Short: "Write a seeded e-commerce CSV dataset (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("not built yet") },
	}
}
