package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/lab/group/settings"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/results"
)

type labGroupSettingsFlags struct {
	out         outFlags
	experiments string
	cfg         settings.Config
}

func newLabGroupSettingsCmd(g *globals) *cobra.Command {
	f := &labGroupSettingsFlags{cfg: settings.DefaultConfig()}
	c := &cobra.Command{
		Use:   "group-settings",
		Short: "Measure what auto.offset.reset, enable.auto.commit, isolation.level and max.poll.interval.ms do",
		Long: `Runs the consumer-group settings experiments against the real broker, each
on fresh topics with seeded records whose identity is checked:

  reset         auto.offset.reset earliest / latest / none for a new group on
                a topic with data, and for a group whose committed offsets fell
                below the log start (DeleteRecords past them): records read and
                skipped, and the error "none" gives.
  autocommit    enable.auto.commit on (processing in the poll loop, or handed
                to a pool) and off (commit after processing), with the member
                process SIGKILLed at a seeded processed count and restarted:
                lost and duplicated.
  isolation     read_committed vs read_uncommitted against a transactional
                producer that aborts a seeded share of its transactions; then
                how late each delivers other producers' records while one
                transaction stays open (the last stable offset).
  pollinterval  a member whose batch outlasts max.poll.interval.ms (kgo's
                RebalanceTimeout) while another joins, holding the rebalance
                (BlockRebalanceOnPoll) and not: when it is removed, whether its
                commit lands, what the others redo.

Every random choice derives from --seed, printed with the command that
reruns it; each cell says which counts repeat exactly from the seed.

Results: <out>/lab-group-settings.json (schema ` + fmt.Sprintf("%q version %d", settings.Schema, settings.SchemaVersion) + `),
lab-group-settings.md and its charts (SVG, PNG). --json prints the JSON instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLabGroupSettings(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.experiments, "experiments", strings.Join(settings.Names(), ","), "comma-separated experiments: "+strings.Join(settings.Names(), ", "))
	addSeed(fl, &f.cfg.Seed)
	fl.IntVar(&f.cfg.Records, "records", f.cfg.Records, "records in each experiment's input topic")
	addOutFlags(fl, &f.out, "lab-group-settings")
	return wired(c)
}

// config turns the flags into a validated Config, before any broker is
// looked up.
func (f *labGroupSettingsFlags) config() (settings.Config, error) {
	cfg := f.cfg
	cfg.Experiments = splitList(f.experiments)
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	cfg.Seed = pickSeed(cfg.Seed)
	return cfg, nil
}

func runLabGroupSettings(cmd *cobra.Command, g *globals, f *labGroupSettingsFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if err := settingsMember(g, &cfg); err != nil {
		return err
	}
	cfg.Security = g.sec
	if cfg.Brokers, err = g.connect(cmd.Context()); err != nil {
		return err
	}
	return runSettings(cmd, cfg, f.out)
}

// settingsMember sets the member process the settings experiments start.
func settingsMember(g *globals, cfg *settings.Config) error {
	child, err := proc.Kpar(g.sec)
	if err != nil {
		return err
	}
	cfg.Member = child.Start
	return nil
}

// runSettings runs the settings experiments of a validated cfg (brokers
// set), writes them to out and prints their summary: for
// `kpar lab group-settings` and the second half of `kpar lab group`.
func runSettings(cmd *cobra.Command, cfg settings.Config, out outFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	text := out.text(stdout)
	fmt.Fprintf(text, "kpar lab group-settings: seed %d, experiments %s, %d records, brokers %s\n",
		cfg.Seed, strings.Join(cfg.Experiments, ","), cfg.Records, strings.Join(cfg.Brokers, ","))
	bar := newProgress(stderr, text, "cells", int64(settings.CellCount(cfg.Experiments)))
	defer bar.stop()
	cfg.OnCellStart = func(exp, cell string) { bar.current(exp + " " + cell) }
	cfg.OnCell = func(_, line string) {
		bar.println(line)
		bar.add(1)
	}
	res, err := settings.Run(cmd.Context(), cfg)
	bar.stop()
	if err != nil {
		return err
	}
	written, err := results.Write(out.out, "lab-group-settings.json", res, settings.Views(res)...)
	if err != nil {
		return err
	}
	if out.json {
		return printJSON(stdout, res)
	}
	fmt.Fprint(text, render.Text(settings.Doc(res)))
	fmt.Fprintf(text, "rerun: %s\nwrote %s\n", strings.Join(res.Command, " "), strings.Join(written, ", "))
	return nil
}
