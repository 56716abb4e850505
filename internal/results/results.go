// Package results is the one way every kpar measurement stores what it
// measured: a versioned JSON data file and the views computed from it
// (Markdown, CSV, charts), written into one directory so that a reader never
// sees a half-written run.
//
// The shape every experiment follows: Config -> Run(ctx, Config) (Result,
// error) -> Result (plain data embedding a Header) -> views that read only
// the Result -> Write. Write is called only after Run succeeded, so a failed
// run writes nothing at all.
package results

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Header opens every result file. Schema names the kind of result
// ("kpar.bench.produce", "kpar.bench.consume", "kpar.lab.consumer", ...);
// Version changes whenever a field changes meaning or disappears (adding a
// field does not). Command is the command line that reproduces the run.
// Machine is where it ran (absent in files written before it existed).
// Broker ("kafka" in the file) is the Kafka it ran against, as far as kpar could tell (absent when
// the command did not know, and in files written before it existed).
// Fixture marks a file kept in the repository for tests.
type Header struct {
	Schema   string    `json:"schema"`
	Version  int       `json:"version"`
	Command  []string  `json:"command,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  *Machine  `json:"machine,omitempty"`
	Broker   *Broker   `json:"kafka,omitempty"` // not "broker": results use that key for their seeds
	Fixture  *Fixture  `json:"fixture,omitempty"`
}

// Broker is the Kafka a run measured. Version is known when the brokers are
// the ones kpar started from its pinned jars (read from the broker's state
// file); Guess is franz-go's kversion guess from the brokers' ApiVersions
// answer ("v4.3", "at least v4.4", ...): a guess, since a patched or newer
// broker can answer like another release. Either may be empty.
type Broker struct {
	Version string `json:"version,omitempty"`
	Guess   string `json:"guess,omitempty"`
}

// Fixture marks a result committed for tests: By is the script that
// regenerates it. The command, the kpar revision and the machine that
// produced it are the header's own Command and Machine.
type Fixture struct {
	By string `json:"by"`
}

// EnvFixture, when set (scripts/fixtures.sh sets it to its own path), marks
// every result this process writes as a fixture made by that script.
const EnvFixture = "KPAR_FIXTURE"

var broker atomic.Pointer[Broker]

// SetBroker records the broker every later NewHeader of this process names
// (the command sets it once it has probed the brokers). nil forgets it.
func SetBroker(b *Broker) { broker.Store(b) }

// Machine is the host and build a run measured with, so that a reader of
// several results (kpar report) can tell when they come from different
// machines or builds. Empty fields could not be read.
type Machine struct {
	Hostname    string `json:"hostname,omitempty"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes,omitempty"` // MemTotal from /proc/meminfo
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	GoVersion   string `json:"go_version"`
	// Kpar is the binary's revision ("+dirty" with uncommitted changes):
	// Revision when the build stamped it, else the VCS data Go embeds,
	// else the module version.
	Kpar string `json:"kpar,omitempty"`
}

// NewHeader starts a header for schema at version, now, on this machine.
func NewHeader(schema string, version int, command []string) Header {
	m := ThisMachine()
	h := Header{Schema: schema, Version: version, Command: command, Started: time.Now().UTC(), Machine: &m}
	if b := broker.Load(); b != nil {
		c := *b
		h.Broker = &c
	}
	if by := strings.TrimSpace(os.Getenv(EnvFixture)); by != "" {
		h.Fixture = &Fixture{By: by}
	}
	return h
}

// ThisMachine describes the machine and build this process runs on.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version(),
		MemoryBytes: memTotal(), Kpar: buildRevision()}
	m.Hostname, _ = os.Hostname()
	return m
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "MemTotal:       16318480 kB"
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Revision is kpar's revision as the build stamped it: the Makefile and the
// scripts build with
//
//	-ldflags "-X github.com/kpar/kpar/internal/results.Revision=$(git rev-parse --short=12 HEAD)[+dirty]"
//
// because a toolchain with GOFLAGS=-buildvcs=false (or a build outside the
// repository) embeds no VCS data. Empty: the build info's, if any.
var Revision string

func buildRevision() string {
	if r := strings.TrimSpace(Revision); r != "" {
		return r
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// Finish stamps the end of the run.
func (h *Header) Finish() { h.Finished = time.Now().UTC() }

// View is one file computed from the data: either its bytes, or a function
// that saves it at a path (charts, whose libraries write files themselves).
type View struct {
	Name  string
	Bytes []byte
	Save  func(path string) error
}

// Write stores the data as dataName (JSON) and views in dir. Everything is
// first written into a temporary directory inside dir, then renamed into
// place with the data file last: a data file in dir always belongs to a
// finished run whose views are there too. On error nothing new is left in
// dir. It returns the paths written, data first.
func Write(dir, dataName string, data any, views ...View) ([]string, error) {
	js, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("results: encode %s: %w", dataName, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	seen := map[string]bool{dataName: true}
	for _, v := range views {
		if seen[v.Name] || v.Name == "" || filepath.Base(v.Name) != v.Name {
			return nil, fmt.Errorf("results: bad or repeated view name %q", v.Name)
		}
		seen[v.Name] = true
		if err := v.WriteFile(filepath.Join(tmp, v.Name)); err != nil {
			return nil, fmt.Errorf("results: %s: %w", v.Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, dataName), append(js, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("results: %s: %w", dataName, err)
	}
	// An older run's data file goes first: views without data are an
	// unfinished run, data beside another run's views would be a lie.
	final := filepath.Join(dir, dataName)
	if err := os.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("results: %w", err)
	}
	var written []string
	for _, v := range views {
		final := filepath.Join(dir, v.Name)
		if err := os.Rename(filepath.Join(tmp, v.Name), final); err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		written = append(written, final)
	}
	if err := os.Rename(filepath.Join(tmp, dataName), final); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return append([]string{final}, written...), nil
}

// WriteFile writes the file at path (named by --out) through write, into a
// temporary file beside it renamed into place once complete: a reader never
// sees half a file, and a failed or interrupted write leaves none.
func WriteFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}

// ErrSchema: a data file is not of the expected kind or version.
var ErrSchema = errors.New("results: unexpected schema")

// Read loads a data file written by Write into v, after checking that its
// header names schema and a version this reader knows (1..maxVersion).
func Read(path, schema string, maxVersion int, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var h Header
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if h.Schema != schema || h.Version < 1 || h.Version > maxVersion {
		return fmt.Errorf("%w: %s holds %q version %d, want %q version 1..%d", ErrSchema, path, h.Schema, h.Version, schema, maxVersion)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
