// Package report is `kpar report`: one self-contained HTML page from every
// results file under a directory, in the mission's order (producer scaling,
// the parallel consumer, the correctness lab, the group lab, the group
// settings, the producer fault lab, the comparison with Confluent's Parallel
// Consumer and share groups).
//
// The page is a view like any other: it reads only results data, through the
// measurement packages' own Result types, after checking each file's schema
// and version (results.Header). A file this kpar cannot read is listed with
// one line saying why, never guessed at; a section without results says so
// and names the command that produces them. What a section says about a
// result is the package's own document (its Doc), rendered by
// internal/render as everywhere else; this package adds the question, the
// provenance and the page around it. The page loads nothing from the
// network: styles and charts are inline.
//
// One file per section (produce.go, consume.go, ...): a schema change touches
// that file alone.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/render"
	"github.com/kpar/kpar/internal/results"
)

// kind is one results schema the report reads: the versions it reads, the
// section it feeds, and how to turn a file into a part of it.
type kind struct {
	of results.Kind // the kind the package writes now (of.Version: its current version)
	// version is the version the section was written for. Files newer
	// than version are refused even when the package writes them: a field
	// may mean something else there. TestSectionsReadWhatThePackagesWrite
	// fails until the section is reviewed and version raised.
	version int
	// oldest is the oldest version whose every field keeps its meaning in
	// the current Result type, as the package's version notes say (0: the
	// current version only). Older files are refused, never misread.
	oldest  int
	section string
	load    func(path string) (Part, error)
	// noSeed: the measurement makes no random choice of its own, so its
	// results have no seed to record.
	noSeed bool
}

// kinds lists every schema this kpar reads. A new measurement adds one line
// here and its entry in sections.go.
var kinds = []kind{
	produceKind,
	trogdorKind,
	consumeKind,
	labConsumerKind,
	labGroupKind,
	groupSettingsKind,
	labProducerKind,
	compareKind,
	soakKind,
}

// sectionDef is a section of the page, in the mission's order.
type sectionDef struct {
	ID    string
	Title string
	// Question is what the section answers, as the mission asks it (no
	// figures: those come from the data).
	Question string
	// Produce is the command that writes the section's results (by default
	// under results/<name>), shown when they are missing.
	Produce string
}

var sections = []sectionDef{
	{"produce", "Producer scaling", "How far does adding producers scale, and where and why does it stop?",
		"kpar gen csv --rows 1000000 --out results/events.csv && kpar bench produce --input results/events.csv --producers 1,2,4,8 --vs-java"},
	{"consume", "The parallel consumer", "Does the parallel consumer reach the ideal rate, keep up with a plain poll loop, and stay small in memory?",
		"kpar bench consume"},
	{"lab", "The correctness lab", "What do consumer strategies lose, duplicate and reorder under crashes, kills, rebalances and failures?",
		"kpar lab consumer"},
	{"group", "The group lab", "What does a membership change cost a consumer group, assignor by assignor?",
		"kpar lab group"},
	{"settings", "Group settings", "What do auto.offset.reset, enable.auto.commit, isolation.level and max.poll.interval.ms do when it matters?",
		"kpar lab group-settings"},
	{"producer-lab", "The producer fault lab", "What does a producer lose or duplicate under faults, setting by setting?",
		"kpar lab producer"},
	{"compare", "kpar vs Confluent's Parallel Consumer and share groups", "How does kpar compare with Confluent's Parallel Consumer, a plain loop and share groups on the same broker?",
		"kpar compare consume"},
	{"soak", "The chaos soak", "What do the consumers lose, duplicate and reorder when broker, consumer and network faults mix for minutes on end, and how fast do they recover?",
		"kpar lab soak"},
}

// Part is what one results file contributes to its section.
type Part struct {
	Path   string // as found under the input directory
	Header results.Header
	Facts  Facts
	// Doc is the result's own document (internal/doc), rendered by
	// internal/render; its first answer finding is the part's line in the
	// page's contents.
	Doc *doc.Doc
}

// Lead is the part's line in the page's contents: its document's first
// answer finding.
func (p Part) Lead() template.HTML {
	if len(p.Doc.Answer) == 0 {
		return "This result's document states no answer; its tables follow."
	}
	return render.FindingHTML(p.Doc.Answer[0])
}

// Skipped is a file the report could not use, with the one line why.
type Skipped struct {
	Path string
	Why  string
}

// Section is one section of the page as built.
type Section struct {
	sectionDef
	Parts []Part
	// Refused are this section's files that could not be read.
	Refused []Skipped
}

// Page is everything the HTML shows.
type Page struct {
	Dir       string
	Generated time.Time
	Sections  []Section
	Skipped   []Skipped // files of no known schema, or not results at all
	Machine   results.Machine
}

// Missing reports whether the section has nothing to show.
func (s Section) Missing() bool { return len(s.Parts) == 0 }

// ErrNotResults marks a JSON file without a results header.
var ErrNotResults = errors.New("not a kpar results file (no schema in it)")

// readHeader reads just the header of a JSON file.
func readHeader(path string) (results.Header, error) {
	var h results.Header
	b, err := os.ReadFile(path)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("not JSON: %w", err)
	}
	if h.Schema == "" {
		return h, ErrNotResults
	}
	return h, nil
}

// checkVersion is the one line that refuses a file of a version this kpar
// does not read: newer (a newer kpar wrote it) or older (its fields may mean
// something else now).
func checkVersion(rel string, h results.Header, k kind) error {
	oldest := max(k.oldest, 1)
	if k.oldest == 0 {
		oldest = k.version
	}
	switch {
	case h.Version > k.version:
		if h.Version <= k.of.Version {
			return fmt.Errorf("%s: schema %s version %d is newer than this kpar's report reads (%d): its section needs updating", rel, h.Schema, h.Version, k.version)
		}
		return fmt.Errorf("%s: schema %s version %d is newer than this kpar reads (%d)", rel, h.Schema, h.Version, k.version)
	case h.Version < oldest:
		return fmt.Errorf("%s: schema %s version %d is older than this kpar reads (%d); run it again", rel, h.Schema, h.Version, oldest)
	}
	return nil
}

// Build reads every *.json under dir and builds the page. It fails only when
// dir itself cannot be read: a file it cannot use is listed as skipped.
func Build(dir string) (Page, error) {
	pg := Page{Dir: dir, Generated: time.Now().UTC(), Machine: results.ThisMachine()}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// results.Write's temporaries hold unfinished runs.
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return pg, fmt.Errorf("--in %s: %w", dir, err)
	}
	// By path components, so results/produce comes before
	// results/produce-ceiling: a command's default directory first.
	sort.Slice(files, func(i, j int) bool {
		return slices.Compare(strings.Split(files[i], string(filepath.Separator)), strings.Split(files[j], string(filepath.Separator))) < 0
	})
	bySection := map[string]*Section{}
	for _, d := range sections {
		pg.Sections = append(pg.Sections, Section{sectionDef: d})
	}
	for i := range pg.Sections {
		bySection[pg.Sections[i].ID] = &pg.Sections[i]
	}
	for _, p := range files {
		rel := p
		if r, err := filepath.Rel(filepath.Dir(filepath.Clean(dir)), p); err == nil {
			rel = r
		}
		h, err := readHeader(p)
		if err != nil {
			pg.Skipped = append(pg.Skipped, Skipped{rel, fmt.Sprintf("%s: %v", rel, err)})
			continue
		}
		i := slices.IndexFunc(kinds, func(k kind) bool { return k.of.Schema == h.Schema })
		if i < 0 {
			pg.Skipped = append(pg.Skipped, Skipped{rel, fmt.Sprintf("%s: schema %s version %d is not one this kpar reads", rel, h.Schema, h.Version)})
			continue
		}
		k := kinds[i]
		sec := bySection[k.section]
		if err := checkVersion(rel, h, k); err != nil {
			sec.Refused = append(sec.Refused, Skipped{rel, err.Error()})
			continue
		}
		part, err := safeLoad(k, p)
		if err != nil {
			sec.Refused = append(sec.Refused, Skipped{rel, fmt.Sprintf("%s: %v", rel, err)})
			continue
		}
		part.Path, part.Header = rel, h
		if k.noSeed && part.Facts.Seed == "" {
			part.Facts.NoSeed = noRandomChoice
		}
		part.Facts.fromHeader(h)
		sec.Parts = append(sec.Parts, part)
	}
	warn(&pg)
	return pg, nil
}

// safeLoad keeps a bug in one section's code from taking the whole page
// down: the file is refused with what went wrong.
func safeLoad(k kind, path string) (p Part, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the %s section failed on this file (a bug in kpar report): %v", k.section, r)
		}
	}()
	p, err = k.load(path)
	if err == nil && p.Doc == nil {
		err = fmt.Errorf("the %s section made no document of this file (a bug in kpar report)", k.section)
	}
	return p, err
}

// Write builds the page from dir and writes it to out (results.WriteFile: a
// reader never sees half a page).
func Write(dir, out string) (Page, error) {
	pg, err := Build(dir)
	if err != nil {
		return pg, err
	}
	html, err := Render(pg)
	if err != nil {
		return pg, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return pg, fmt.Errorf("--out %s: %w", out, err)
	}
	return pg, results.WriteFile(out, func(w io.Writer) error {
		_, err := w.Write(html)
		return err
	})
}

// Summary is the command's text output: one line per section, then the
// skipped files.
func (pg Page) Summary() string {
	var b strings.Builder
	w := 0
	for _, s := range pg.Sections {
		w = max(w, len(s.Title))
	}
	for _, s := range pg.Sections {
		switch {
		case !s.Missing():
			var ps []string
			for _, p := range s.Parts {
				if p.Facts.Fixture != "" {
					ps = append(ps, p.Path+" (a fixture, not a run of yours)")
					continue
				}
				ps = append(ps, p.Path)
			}
			fmt.Fprintf(&b, "  %-*s  %s\n", w, s.Title, strings.Join(ps, ", "))
		default:
			fmt.Fprintf(&b, "  %-*s  missing: run `%s`\n", w, s.Title, s.Produce)
		}
		for _, r := range s.Refused {
			fmt.Fprintf(&b, "  %-*s  refused %s\n", w, "", r.Why)
		}
	}
	for _, s := range pg.Skipped {
		fmt.Fprintf(&b, "  skipped %s\n", s.Why)
	}
	return b.String()
}
