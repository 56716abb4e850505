package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/env"
	"github.com/kpar/kpar/internal/lab/group"
	"github.com/kpar/kpar/internal/lab/groupsettings"
)

type labGroupFlags struct {
	group.Config
	EventsFlag, AssignorsFlag, ParFlag string
	Full, Verbose                      bool

	// The settings experiments (kpar lab group-settings) run after the
	// events, with the same seed, into their own directory.
	Settings, SettingsOut string
	SettingsCfg           groupsettings.Config
}

func newLabGroupCmd(g *globals) *cobra.Command {
	def := group.DefaultConfig()
	f := labGroupFlags{Config: def, EventsFlag: strings.Join(def.Events, ","), AssignorsFlag: strings.Join(def.Assignors, ","),
		ParFlag: strings.Join(def.ParallelAssignors, ","), Settings: "all", SettingsOut: filepath.Join("results", "lab-group-settings"),
		SettingsCfg: groupsettings.DefaultConfig()}
	c, _ := configCommand("group", "What a member joining, leaving, dying or restarting does to a consumer group, per assignor and protocol",
		help("lab-group"), "lab-group", f, `
events            EventsFlag           comma-separated events (`+strings.Join(group.Events, ", ")+`; or all)
assignors         AssignorsFlag        comma-separated assignors run with plain members (`+strings.Join(group.Assignors, ", ")+`; or all)
parallel          ParFlag              comma-separated assignors run with kpar's parallel consumer as every member (or all, or none)
full              Full                 the whole matrix: every event and assignor, plain and parallel members (overrides --events, --assignors, --parallel)
cell              Cell                 run one cell, event/assignor or event/assignor/parallel (e.g. join/range)
orders            Orders               partitions of the orders topic
payments          Payments             partitions of the payments topic
rate              Rate                 records/s produced during the stream
duration          Duration             length of the stream per cell
event-at          EventAt              when the event happens, from the stream's start
work              Work                 handler time per record
session-timeout   SessionTimeout       classic members' session timeout (KIP-848's is the broker's group.consumer.session.timeout.ms)
settle-timeout    Settle               how long a member may take to come up and the group to own every partition
drain-timeout     Drain                how long after the stream every record must be processed
keep-topics       Keep                 keep each cell's topics and group for inspection
verbose           Verbose              pass the members' stderr through
settings          Settings             settings experiments to run after the events (`+strings.Join(groupsettings.Names(), ", ")+`; all or none)
settings-out      SettingsOut          directory for the settings experiments' results
settings-records  SettingsCfg.Records  records in each settings experiment's input topic
seed  Seed`, func(cmd *cobra.Command, f labGroupFlags, out *outFlags) error { return runLabGroup(cmd, g, &f, out) })
	return wired(c)
}

// allOr expands "all" to every name and "none" to nothing.
func allOr(s string, every []string) []string {
	switch strings.TrimSpace(s) {
	case "all":
		return slices.Clone(every)
	case "none":
		return nil
	}
	return splitList(s)
}

// config turns the flags into the lab's Config and validates it, before
// any broker is looked up.
func (f *labGroupFlags) config() (group.Config, error) {
	cfg := f.Config
	cfg.Events, cfg.Assignors, cfg.ParallelAssignors = allOr(f.EventsFlag, group.Events), allOr(f.AssignorsFlag, group.Assignors), allOr(f.ParFlag, group.Assignors)
	if f.Full {
		cfg = cfg.Full()
	}
	return seeded(&cfg, &cfg.Seed)
}

// settingsConfig is the settings experiments' validated Config, or ok
// false under --settings none (or with --cell, which names an event cell).
func (f *labGroupFlags) settingsConfig(seed int64) (_ groupsettings.Config, ok bool, err error) {
	names := allOr(f.Settings, groupsettings.Names())
	if len(names) == 0 || f.Cell != "" {
		return groupsettings.Config{}, false, nil
	}
	cfg := f.SettingsCfg
	cfg.Experiments, cfg.Seed = names, seed
	if err := cfg.Validate(); err != nil {
		return cfg, false, fmt.Errorf("--settings: %w", err)
	}
	return cfg, true, nil
}

func runLabGroup(cmd *cobra.Command, g *globals, f *labGroupFlags, out *outFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	scfg, withSettings, err := f.settingsConfig(cfg.Seed)
	if err != nil {
		return err
	}
	if withSettings {
		if err := g.kparChild(&scfg.Member); err != nil {
			return err
		}
	}
	if err := g.kparChild(&cfg.Member); err != nil {
		return err
	}
	if f.Verbose {
		cfg.MemberStderr = cmd.ErrOrStderr()
	}
	err = runExperiment(cmd, g, experiment[group.Result]{out: out, kind: group.Kind, unit: "cells",
		intro: func(e env.Env) string {
			return fmt.Sprintf("kpar lab group: seed %d, %d cells, %d records/s for %s each, brokers %s\n%s",
				cfg.Seed, len(cfg.Cells()), cfg.Rate, cfg.Duration, strings.Join(e.Brokers, ","), group.TextHeader())
		},
		// cfg keeps the brokers probed: the settings experiments run on them.
		run: func(ctx context.Context, e env.Env) (group.Result, error) {
			cfg.Env = e
			return group.Run(ctx, cfg)
		},
		doc: group.Doc,
		tail: func(res group.Result) string {
			var b strings.Builder
			for _, c := range res.Cells {
				fmt.Fprintf(&b, "rerun: %s\n", c.Rerun)
			}
			return b.String()
		},
		failed: func(res group.Result, written []string) error {
			if n := res.Failed(); n > 0 {
				return fmt.Errorf("%d of %d cells failed (see %s)", n, len(res.Cells), written[0])
			}
			return nil
		}})
	// Failed cells are written: the settings experiments still run, then
	// the command fails.
	var failed *exitError
	if err != nil && !errors.As(err, &failed) || !withSettings {
		return err
	}
	scfg.Brokers = cfg.Brokers
	if serr := runSettings(cmd, g, scfg, &outFlags{out: f.SettingsOut, json: out.json}); serr != nil {
		return fmt.Errorf("settings experiments: %w", serr)
	}
	return err
}
