package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

// experiment is what one measuring command gives the runner beyond its
// flags, which it has parsed into a validated Config before runExperiment
// (so a bad flag is never reported as a missing broker).
type experiment[R any] struct {
	out  *outFlags
	kind results.Kind // what the data file under --out holds (kind.File)
	unit string       // what the bar counts of Begin/End events: "cells", "runs"
	// brokers finds the cluster; nil: g.connect, the one broker probe.
	// A command whose experiment may start its own cluster returns none.
	brokers func(ctx context.Context) ([]string, error)
	seed    int64                // added to the stored command line when --seed was not given (0: none)
	intro   func(env.Env) string // the text before the run (may be nil)
	run     func(context.Context, env.Env) (R, error)
	doc     func(R) doc.Doc
	views   func(R) []results.View // the files beside the data; nil: the document's (render.Views)
	// partial reports a run error after which the result is still written
	// and printed; the command then fails with that error.
	partial func(error) bool
	// failed is a written result's failure (a step or cell that failed):
	// the command exits 1 with it. May be nil.
	failed func(res R, written []string) error
	tail   func(R) string // text after the summary (may be nil)

	// stall > 0 watches the brokers found during the run: once they have
	// not answered for stall, the run is cancelled and the command fails
	// with one line naming them (0: no watch).
	stall time.Duration
}

// runExperiment runs x: the broker probe, the environment, the progress
// display, the run, results.Write into --out, then the text summary
// (render.Text of the document and the files written) or, with --json,
// the data alone on stdout.
func runExperiment[R any](cmd *cobra.Command, g *globals, x experiment[R]) error {
	ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if x.brokers == nil {
		x.brokers = g.connect
	}
	brokers, err := x.brokers(ctx)
	if err != nil {
		return err
	}
	text := x.out.text(stdout)
	lines := text // progress lines go with the text, or to stderr under --json
	if x.out.json {
		lines = stderr
	}
	d := newDisplay(stderr, lines, x.unit)
	defer d.stop()
	e := env.Env{Brokers: brokers, Client: g.client, Command: commandLine(cmd), Progress: d.show}
	if x.seed != 0 && !cmd.Flags().Changed("seed") {
		e.Command = append(e.Command, fmt.Sprintf("--seed=%d", x.seed))
	}
	if x.intro != nil {
		fmt.Fprintln(text, x.intro(e))
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if x.stall > 0 && len(brokers) > 0 {
		go watchBrokers(runCtx, cancel, brokers, x.stall, g.client.Opts)
	}
	res, runErr := x.run(runCtx, e)
	d.stop()
	if ctx.Err() != nil { // interrupted: no results, even of the parts that finished
		return ctx.Err()
	}
	if runCtx.Err() != nil { // the brokers stopped answering
		return context.Cause(runCtx)
	}
	if runErr != nil && (x.partial == nil || !x.partial(runErr)) {
		return runErr
	}
	dc := x.doc(res)
	var vs []results.View
	if x.views != nil {
		vs = x.views(res)
	} else {
		vs = render.Views(dc)
	}
	written, err := results.Write(x.out.out, x.kind.File, res, vs...)
	if err != nil {
		return err
	}
	if x.out.json {
		if err := printJSON(stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, render.Text(dc))
		if x.tail != nil {
			fmt.Fprint(stdout, x.tail(res))
		}
		fmt.Fprintln(stdout, wroteLine(written))
	}
	if runErr != nil {
		return runErr
	}
	if x.failed != nil {
		if err := x.failed(res, written); err != nil {
			return &exitError{code: 1, err: err}
		}
	}
	return nil
}

// wroteLine names the files written, the first few of a long list.
func wroteLine(written []string) string {
	if len(written) > 8 {
		return fmt.Sprintf("wrote %s and %d more", strings.Join(written[:3], ", "), len(written)-3)
	}
	return "wrote " + strings.Join(written, ", ")
}

// commandLine is the kpar command line that reproduces cmd's run: its path
// and every flag the user set, brokers included.
func commandLine(cmd *cobra.Command) []string {
	line := strings.Fields(cmd.CommandPath())
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		line = append(line, "--"+fl.Name+"="+fl.Value.String())
	})
	return line
}

// runOf is the run of an experiment whose Config embeds env.Env: the
// environment put in cfg, then the package's Run.
func runOf[C any, P interface {
	*C
	SetEnv(env.Env)
}, R any](cfg C, run func(context.Context, C) (R, error)) func(context.Context, env.Env) (R, error) {
	return func(ctx context.Context, e env.Env) (R, error) {
		P(&cfg).SetEnv(e)
		return run(ctx, cfg)
	}
}
