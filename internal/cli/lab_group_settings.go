package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/groupsettings"
)

type labGroupSettingsFlags struct {
	groupsettings.Config
	out outFlags
}

func newLabGroupSettingsCmd(g *globals) *cobra.Command {
	f := &labGroupSettingsFlags{Config: groupsettings.DefaultConfig()}
	f.Experiments = groupsettings.Names()
	c := command("group-settings", "Measure what auto.offset.reset, enable.auto.commit, isolation.level and max.poll.interval.ms do",
		`Runs the consumer-group settings experiments against the real broker, each
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

Results: <out>/lab-group-settings.json (schema `+fmt.Sprintf("%q version %d", groupsettings.Schema, groupsettings.SchemaVersion)+`),
lab-group-settings.md and its charts (SVG, PNG). --json prints the JSON instead.`, func(cmd *cobra.Command) error { return runLabGroupSettings(cmd, g, f) })
	fl := c.Flags()
	bindFlags(fl, f, `
experiments  Experiments      comma-separated experiments: `+strings.Join(groupsettings.Names(), ", ")+`
records      Records          records in each experiment's input topic`)
	addSeed(fl, &f.Seed)
	addOutFlags(fl, &f.out, "lab-group-settings")
	return wired(c)
}

// runLabGroupSettings validates the Config from the flags before any
// broker is looked up, then runs it.
func runLabGroupSettings(cmd *cobra.Command, g *globals, f *labGroupSettingsFlags) error {
	cfg := f.Config
	cfg, err := seeded(&cfg, &cfg.Seed)
	if err != nil {
		return err
	}
	if err := g.kparChild(&cfg.Member); err != nil {
		return err
	}
	return runSettings(cmd, g, cfg, &f.out)
}

// runSettings runs the settings experiments of a validated cfg, writes
// them to out and prints their summary: for `kpar lab group-settings`
// and the second half of `kpar lab group` (whose cfg has the brokers it
// probed already).
func runSettings(cmd *cobra.Command, g *globals, cfg groupsettings.Config, out *outFlags) error {
	var brokers func(context.Context) ([]string, error)
	if len(cfg.Brokers) > 0 {
		brokers = func(context.Context) ([]string, error) { return cfg.Brokers, nil }
	}
	return runExperiment(cmd, g, experiment[groupsettings.Result]{out: out, data: "lab-group-settings.json", unit: "cells",
		brokers: brokers,
		intro: func(e env.Env) string {
			return fmt.Sprintf("kpar lab group-settings: seed %d, experiments %s, %d records, brokers %s",
				cfg.Seed, strings.Join(cfg.Experiments, ","), cfg.Records, strings.Join(e.Brokers, ","))
		},
		run:  runOf(cfg, groupsettings.Run),
		doc:  groupsettings.Doc,
		tail: func(res groupsettings.Result) string { return "rerun: " + strings.Join(res.Command, " ") + "\n" }})
}
