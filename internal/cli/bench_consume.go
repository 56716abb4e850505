package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(placeholder): replaced by the real command.
func newBenchConsumeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "consume",
		Short: "Parallel consumer bench (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("not built yet") },
	}
}
