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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Header opens every result file. Schema names the kind of result
// ("kpar.bench.produce", "kpar.bench.consume", "kpar.lab.consumer", ...);
// Version changes whenever a field changes meaning or disappears (adding a
// field does not). Command is the command line that reproduces the run.
type Header struct {
	Schema   string    `json:"schema"`
	Version  int       `json:"version"`
	Command  []string  `json:"command,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// NewHeader starts a header for schema at version, now.
func NewHeader(schema string, version int, command []string) Header {
	return Header{Schema: schema, Version: version, Command: command, Started: time.Now().UTC()}
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
		p := filepath.Join(tmp, v.Name)
		switch {
		case v.Save != nil:
			err = v.Save(p)
		default:
			err = os.WriteFile(p, v.Bytes, 0o644)
		}
		if err != nil {
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
