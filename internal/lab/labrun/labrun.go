// Package labrun is what the labs share: a result's seeded header, a
// Config's check and cell names from its plan (`kpar lab consumer` and `kpar
// lab group`), the check of a flag's list of names and waiting for a
// condition (`kpar lab group` and `kpar lab group-settings`), and what of a
// cell repeats on a re-run (Repeats: the consumer, group and producer labs).
package labrun

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/results"
)

// Run heads a lab's Result: the header, the seed every random choice came
// from and the brokers it ran against.
type Run struct {
	results.Header
	Seed    int64    `json:"seed"`
	Brokers []string `json:"brokers"`
}

// New heads a run of kind that argv reproduces, with the seed it picked and
// the brokers it runs against.
func New(kind results.Kind, argv []string, seed int64, brokers []string) Run {
	return Run{Header: kind.Header(argv), Seed: seed, Brokers: brokers}
}

// Ready refuses to start lab (its command, "lab group") without a broker,
// or without the command that starts its processes when it needs one
// (child names them, "member"; hasChild says whether the Config has it).
func Ready(lab string, brokers []string, child string, hasChild bool) error {
	switch {
	case len(brokers) == 0:
		return fmt.Errorf("%s: no broker to run against", lab)
	case child != "" && !hasChild:
		return fmt.Errorf("%s: no %s command", lab, child)
	}
	return nil
}

// Check is the error of planning a lab's cells (nil: the plan holds), the
// one check a lab whose flags all shape its plan makes in Validate.
func Check[C any](plan func() ([]C, error)) error {
	_, err := plan()
	return err
}

// Cells are the names of a valid plan's cells, in the order it runs them.
func Cells[C interface{ Name() string }](plan func() ([]C, error)) []string {
	cells, _ := plan()
	return Names(cells)
}

// Names are the names of a lab's cells, in the order it runs them.
func Names[C interface{ Name() string }](cells []C) []string {
	out := make([]string, 0, len(cells))
	for _, c := range cells {
		out = append(out, c.Name())
	}
	return out
}

// StartLine is the details' first sentence: when, where and with which seed.
func (r Run) StartLine() string {
	return fmt.Sprintf("Started %s against %s, seed %d.", r.Started.Format("2006-01-02 15:04:05 MST"), strings.Join(r.Brokers, ","), r.Seed)
}

// CheckNames refuses a name of names (flag --flag, each a what) that is not
// one of valid, naming the valid ones, or that is named twice.
func CheckNames(flag, what string, names, valid []string) error {
	for i, n := range names {
		if !slices.Contains(valid, n) {
			return fmt.Errorf("--%s: unknown %s %q (valid: %s)", flag, what, n, strings.Join(valid, ", "))
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("--%s: %s is named twice", flag, n)
		}
	}
	return nil
}

// Until checks done every period until it holds (true) or ctx ends (false).
func Until(ctx context.Context, every time.Duration, done func() bool) bool {
	t := time.NewTicker(every)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
