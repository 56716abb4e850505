package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/compare/window"
	"github.com/kpar/kpar/internal/lab/worker"
)

// newChildCmd is the hidden `kpar child <name>`: the processes a
// measurement starts (see childArgv). Each takes explicit arguments or a
// spec on stdin, never the parent's command line.
func newChildCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:    "child",
		Short:  "processes started by measurements (not for direct use)",
		Hidden: true,
	}
	c.AddCommand(
		wired(&cobra.Command{
			Use:   "produce-worker",
			Short: "one producer of a 'bench produce --processes' run: spec on stdin, result JSON on stdout",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return produce.RunWorker(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), g.client.Opts...)
			},
		}),
		wired(&cobra.Command{
			Use:                "lab-worker",
			Short:              "one consumer process under test of 'lab consumer'",
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				if code := worker.Main(cmd.Context(), args); code != 0 {
					return &exitError{code: code, err: errors.New("lab worker failed")}
				}
				return nil
			},
		}),
		newChildConsumeRSSCmd(g),
		newChildGroupMemberCmd(),
		newChildGroupSettingsMemberCmd(),
		wired(newChildCompareKparCmd(g)),
		wired(newChildComparePlainCmd(g)),
		wired(newChildCompareShareCmd(g)),
		&cobra.Command{
			Use:                "window-kpar",
			Short:              "the kpar consumer of the out-of-order window comparison (internal/compare/window)",
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return window.ChildMain(cmd.Context(), args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			},
		},
	)
	return c
}

// childBrokers is the --brokers a child got (the root's persistent flag).
func childBrokers(cmd *cobra.Command) ([]string, error) {
	var b []string
	if fl := cmd.Flag("brokers"); fl != nil {
		b = splitList(fl.Value.String())
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("--brokers: none given")
	}
	return b, nil
}
