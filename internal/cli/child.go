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
				p.ClientOpts, p.JavaSecurity = c.Client.Opts, c.Client.Java
				return worker.Run(ctx, p, c.Out)
			}),
		childCmd("consume-rss", "the peak-RSS child of 'bench consume': consumes a backlog, prints its VmHWM as JSON",
			func(ctx context.Context, s consume.RSSSpec, c *proc.Child, out io.Writer) error {
				s.ClientOpts = c.Client.Opts
				return consume.RSSChild(ctx, s, out)
			}),
		childCmd("group-member", "one consumer-group member of 'lab group'",
			func(ctx context.Context, p group.MemberParams, c *proc.Child, _ io.Writer) error {
				p.ClientOpts = c.Client.Opts
				return group.RunMember(ctx, p, c.Out, os.Stderr)
			}),
		// A process so that it can die of a SIGKILL.
		childCmd("group-settings-member", "one consumer process of 'lab group-settings' (autocommit experiment)",
			func(ctx context.Context, s groupsettings.MemberSpec, c *proc.Child, _ io.Writer) error {
				s.ClientOpts = c.Client.Opts
				return groupsettings.RunMember(ctx, s, c.Out)
			}),
		childCmd("compare-kpar", "kpar's process in 'compare consume': consumes its records, prints its figures as JSON",
			func(ctx context.Context, s compare.KparSpec, c *proc.Child, out io.Writer) error {
				s.ClientOpts = c.Client.Opts
				return compare.RunKparChild(ctx, s, out)
			}),
		childCmd("compare-plain", "the plain franz-go loop of 'compare consume': reads its records, prints its figures as JSON",
			func(ctx context.Context, s compare.PlainSpec, c *proc.Child, out io.Writer) error {
				s.ClientOpts = c.Client.Opts
				return compare.RunPlainChild(ctx, s, out)
			}),
		childCmd("compare-share", "the bare share consumer of 'compare consume': consumes its records of a share group, prints its figures as JSON",
			func(ctx context.Context, s compare.ShareSpec, c *proc.Child, out io.Writer) error {
				s.ClientOpts = c.Client.Opts
				return compare.RunShareChild(ctx, s, out)
			}),
		childCmd("window-kpar", "the kpar consumer of the out-of-order window comparison (internal/compare/stuck)",
			func(ctx context.Context, s stuck.ChildSpec, c *proc.Child, out io.Writer) error {
				s.ClientOpts = c.Client.Opts
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
// does (the parent is gone).
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
