package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/results"
)

// StaleAfter: a result this much older than the newest on the page gets a
// warning (the broker, the code or the machine's load may have changed).
const StaleAfter = 24 * time.Hour

// Facts are a part's provenance: what reproduces it and what it ran on.
// Empty fields are unknown; Unknown says so in words, never with a guess.
type Facts struct {
	Command  string
	Started  time.Time
	Finished time.Time
	Seed     string
	// Versions are "name version" pairs the data records (Go, Java, PC,
	// kafka-clients, kpar's revision).
	Versions []string
	Host     string // hostname, "" when not recorded
	Cores    int    // 0 when not recorded
	Memory   int64  // bytes, 0 when not recorded
	Kpar     string // kpar's revision
	// NoSeed says why a part has no seed: its measurement makes no random
	// choice of its own ("" when it should have one).
	NoSeed string
	// Fixture is the script that regenerates this result when it is a
	// fixture committed for tests ("" for a run of the user's).
	Fixture  string
	Unknown  []string
	Warnings []string
}

func (f *Facts) addVersion(name, v string) {
	if v = strings.TrimSpace(v); v != "" && !slices.Contains(f.Versions, name+" "+v) {
		f.Versions = append(f.Versions, name+" "+v)
	}
}

// fromHeader fills what every results header holds, after the section's
// loader filled what its own data adds (a loader's cores win: they were
// measured by the run itself).
func (f *Facts) fromHeader(h results.Header) {
	f.Command = strings.Join(h.Command, " ")
	f.Started, f.Finished = h.Started, h.Finished
	if m := h.Machine; m != nil {
		f.Host, f.Memory, f.Kpar = m.Hostname, m.MemoryBytes, m.Kpar
		if f.Cores == 0 {
			f.Cores = m.Cores
		}
		f.addVersion("Go", m.GoVersion)
		if m.Kpar != "" {
			f.addVersion("kpar", m.Kpar)
		}
	}
	if f.Host == "" {
		f.Unknown = append(f.Unknown, "the host (not recorded by this run)")
	}
	if f.Memory == 0 {
		f.Unknown = append(f.Unknown, "the machine's memory")
	}
	if f.Cores == 0 {
		f.Unknown = append(f.Unknown, "the machine's cores")
	}
	if f.Kpar == "" {
		f.Unknown = append(f.Unknown, "kpar's revision")
	}
	if !slices.ContainsFunc(f.Versions, func(v string) bool { return strings.HasPrefix(v, "Go ") }) {
		f.Unknown = append(f.Unknown, "the Go version")
	}
	// The broker's version only as the run recorded it: never assume the
	// local broker's pinned one (--brokers may name any cluster).
	switch b := h.Broker; {
	case b == nil || (b.Version == "" && b.Guess == ""):
		f.Unknown = append(f.Unknown, "the Kafka broker's version")
	case b.Version != "" && b.Guess != "":
		f.addVersion("Kafka", fmt.Sprintf("%s (the jars kpar started; ApiVersions answers like %s)", b.Version, b.Guess))
	case b.Version != "":
		f.addVersion("Kafka", b.Version+" (the jars kpar started)")
	default:
		f.addVersion("Kafka", fmt.Sprintf("%s (a guess from the brokers' ApiVersions answer)", b.Guess))
	}
	if f.Seed == "" && f.NoSeed == "" {
		f.Unknown = append(f.Unknown, "a seed")
	}
	if h.Fixture != nil {
		f.Fixture = h.Fixture.By
	}
}

// noRandomChoice is the NoSeed of the measurements that make no random
// choice of their own (their records, keys and order follow from the flags).
const noRandomChoice = "none: this measurement makes no random choice of its own"

// FixtureNote is the mark on a part drawn from a fixture, in words.
func (f Facts) FixtureNote() string {
	if f.Fixture == "" {
		return ""
	}
	by := []string{"`" + f.Command + "`"}
	if f.Kpar != "" {
		by = append(by, "kpar "+f.Kpar)
	}
	if f.Host != "" {
		by = append(by, "host "+f.Host)
	}
	return fmt.Sprintf("A fixture: this result is committed with kpar for its tests, not a run of yours; %s regenerates it. It was produced by %s on %s.",
		"`"+f.Fixture+"`", doc.Listing(by), f.Started.Format(time.DateOnly))
}

// Machine is the facts' machine in words.
func (f Facts) Machine() string {
	var p []string
	if f.Host != "" {
		p = append(p, "host "+f.Host)
	}
	if f.Cores > 0 {
		p = append(p, fmt.Sprintf("%d cores", f.Cores))
	}
	if f.Memory > 0 {
		p = append(p, fmt.Sprintf("%.1f GiB memory", float64(f.Memory)/(1<<30)))
	}
	if len(p) == 0 {
		return "not recorded"
	}
	return strings.Join(p, ", ")
}

// Duration is the run's wall time in words.
func (f Facts) Duration() string {
	if f.Finished.IsZero() || f.Finished.Before(f.Started) {
		return "unknown"
	}
	return f.Finished.Sub(f.Started).Round(time.Second).String()
}

// warn adds to every part the warnings that need the whole page: a result
// much older than the newest, one from another host, core count or build.
func warn(pg *Page) {
	var all []*Part
	for i := range pg.Sections {
		for j := range pg.Sections[i].Parts {
			all = append(all, &pg.Sections[i].Parts[j])
		}
	}
	var newest time.Time
	for _, p := range all {
		if p.Facts.Started.After(newest) {
			newest = p.Facts.Started
		}
	}
	// The most common value among the parts that record it is "the others".
	common := func(val func(*Part) string) string {
		n := map[string]int{}
		best := ""
		for _, p := range all {
			if v := val(p); v != "" {
				n[v]++
				if n[v] > n[best] || (n[v] == n[best] && v < best) {
					best = v
				}
			}
		}
		return best
	}
	host := common(func(p *Part) string { return p.Facts.Host })
	cores := common(func(p *Part) string {
		if p.Facts.Cores == 0 {
			return ""
		}
		return fmt.Sprint(p.Facts.Cores)
	})
	kpar := common(func(p *Part) string { return p.Facts.Kpar })
	for _, p := range all {
		f := &p.Facts
		if age := newest.Sub(f.Started); age > StaleAfter {
			f.Warnings = append(f.Warnings, fmt.Sprintf("This result is %s older than the newest on this page (started %s, the newest %s): the code, the broker or the machine may have changed since.",
				days(age), f.Started.Format(time.DateOnly), newest.Format(time.DateOnly)))
		}
		switch {
		case f.Host != "" && host != "" && f.Host != host:
			f.Warnings = append(f.Warnings, fmt.Sprintf("Ran on host %s; most results on this page ran on %s.", f.Host, host))
		case f.Cores > 0 && cores != "" && fmt.Sprint(f.Cores) != cores:
			f.Warnings = append(f.Warnings, fmt.Sprintf("Ran with %d cores; most results on this page with %s: another machine or another CPU limit.", f.Cores, cores))
		}
		if f.Kpar != "" && kpar != "" && f.Kpar != kpar {
			f.Warnings = append(f.Warnings, fmt.Sprintf("Built from kpar %s; most results on this page from %s.", f.Kpar, kpar))
		}
	}
}

func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%.0f hours", d.Hours())
	}
	return fmt.Sprintf("%.0f days", d.Hours()/24)
}
