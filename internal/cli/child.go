package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/compare/stuck"
	"github.com/kpar/kpar/internal/lab/group"
	"github.com/kpar/kpar/internal/lab/groupsettings"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/proc"
)

// newChildCmd is the hidden `kpar child <name>`: the processes a
// measurement starts (proc.Kpar). Each reads its spec on stdin (childCmd),
// never the parent's command line.
func newChildCmd(g *globals) *cobra.Command {
	c := parent("child", "processes started by measurements (not for direct use)",
		childCmd("produce-worker", "one producer of a 'bench produce --processes' run: spec on stdin, result JSON on stdout",
			func(ctx context.Context, s produce.WorkerSpec, c *proc.Child, _ io.Writer) error {
				return produce.RunWorker(ctx, s, c)
			}),
		childCmd("lab-worker", "one consumer process under test of 'lab consumer'",
			func(ctx context.Context, p worker.Params, c *proc.Child, _ io.Writer) error {
				p.JavaSecurity = c.Client.Java
				return worker.Run(ctx, p, c.Out)
			}),
		outChild("consume-rss", "the peak-RSS child of 'bench consume': consumes a backlog, prints its VmHWM as JSON", consume.RSSChild),
		childCmd("group-member", "one consumer-group member of 'lab group'",
			func(ctx context.Context, p group.MemberParams, c *proc.Child, _ io.Writer) error {
				return group.RunMember(ctx, p, c.Out, os.Stderr)
			}),
		// A process so that it can die of a SIGKILL.
		childCmd("group-settings-member", "one consumer process of 'lab group-settings' (autocommit experiment)",
			func(ctx context.Context, s groupsettings.MemberSpec, c *proc.Child, _ io.Writer) error {
				return groupsettings.RunMember(ctx, s, c.Out)
			}),
		outChild("compare-kpar", "kpar's process in 'compare consume': consumes its records, prints its figures as JSON", compare.RunKparChild),
		outChild("compare-plain", "the plain franz-go loop of 'compare consume': reads its records, prints its figures as JSON", compare.RunPlainChild),
		outChild("compare-share", "the bare share consumer of 'compare consume': consumes its records of a share group, prints its figures as JSON", compare.RunShareChild),
		childCmd("window-kpar", "the kpar consumer of the out-of-order window comparison (internal/compare/stuck)",
			func(ctx context.Context, s stuck.ChildSpec, c *proc.Child, out io.Writer) error {
				return stuck.RunChild(ctx, s, c.Commands, out)
			}),
	)
	c.Hidden = true
	return c
}

// kparChild points each of starts at this binary's `kpar child`, which
// gets the command's security in its spec line.
func (g *globals) kparChild(starts ...*proc.Starter) error {
	child, err := proc.Kpar(g.sec)
	if err != nil {
		return err
	}
	for _, s := range starts {
		*s = child.Start
	}
	return nil
}

// childCmd is one `kpar child <name>`: it takes no flags; its spec and the
// parent's security come in the spec line on stdin (proc.ReadSpec), its
// events and results go out as JSON lines, and its context ends when stdin
// does (the parent is gone). A spec's ClientOpts field gets the resolved
// security's client options (proc.ReadSpec).
func childCmd[S any](name, short string, run func(ctx context.Context, s S, c *proc.Child, out io.Writer) error) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s S
			ctx, c, err := proc.ReadSpec(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), &s)
			if err != nil {
				return fmt.Errorf("kpar child %s: %w", name, err)
			}
			return run(ctx, s, c, cmd.OutOrStdout())
		},
	}
}

// outChild is a child whose run writes its figures to stdout.
func outChild[S any](name, short string, run func(context.Context, S, io.Writer) error) *cobra.Command {
	return childCmd(name, short, func(ctx context.Context, s S, _ *proc.Child, out io.Writer) error { return run(ctx, s, out) })
}
