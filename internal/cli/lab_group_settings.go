package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/groupsettings"
)

func newLabGroupSettingsCmd(g *globals) *cobra.Command {
	cfg := groupsettings.DefaultConfig()
	cfg.Experiments = groupsettings.Names()
	c, _ := configCommand("group-settings", "Measure what auto.offset.reset, enable.auto.commit, isolation.level and max.poll.interval.ms do",
		help("lab-group-settings"), "lab-group-settings", cfg, `
experiments  Experiments      comma-separated experiments: `+strings.Join(groupsettings.Names(), ", ")+`
records      Records          records in each experiment's input topic
seed         Seed`, func(cmd *cobra.Command, cfg groupsettings.Config, out *outFlags) error {
			return runLabGroupSettings(cmd, g, cfg, out)
		})
	return wired(c)
}

// runLabGroupSettings validates the Config from the flags before any
// broker is looked up, then runs it.
func runLabGroupSettings(cmd *cobra.Command, g *globals, cfg groupsettings.Config, out *outFlags) error {
	cfg, err := seeded(&cfg, &cfg.Seed)
	if err != nil {
		return err
	}
	if err := g.kparChild(&cfg.Member); err != nil {
		return err
	}
	return runSettings(cmd, g, cfg, out)
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
	return runExperiment(cmd, g, experiment[groupsettings.Result]{out: out, kind: groupsettings.Kind, unit: "cells",
		brokers: brokers,
		intro: func(e env.Env) string {
			return fmt.Sprintf("kpar lab group-settings: seed %d, experiments %s, %d records, brokers %s",
				cfg.Seed, strings.Join(cfg.Experiments, ","), cfg.Records, strings.Join(e.Brokers, ","))
		},
		run:  runOf(cfg, groupsettings.Run),
		doc:  groupsettings.Doc,
		tail: func(res groupsettings.Result) string { return "rerun: " + strings.Join(res.Command, " ") + "\n" }})
}
