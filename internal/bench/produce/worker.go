package produce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kpar/kpar/internal/csvload"
	"github.com/kpar/kpar/internal/proc"
)

// Source says how to load the dataset, so a worker process loads exactly
// the records the parent has.
type Source struct {
	Path      string `json:"path"`
	KeyColumn string `json:"key_column"`
	Value     string `json:"value"` // raw or json
	SkipBad   bool   `json:"skip_bad"`
	Limit     int    `json:"limit"`
	Size      int    `json:"size"` // value bytes (0: as in the file); see sized
}

// Load reads the dataset the source describes.
func (s Source) Load() (*csvload.Dataset, error) {
	vm, err := csvload.ParseValueMode(s.Value)
	if err != nil {
		return nil, err
	}
	d, err := csvload.Load(s.Path, csvload.KeyColumn(s.KeyColumn), csvload.Value(vm), csvload.SkipBad(s.SkipBad), csvload.Limit(s.Limit))
	if err != nil || s.Size <= 0 {
		return d, err
	}
	return sized(d, s.Size), nil
}

// WorkerSpec is the spec a worker reads on stdin.
type WorkerSpec struct {
	Seeds      []string       `json:"seeds"`
	Source     Source         `json:"source"`
	Records    int            `json:"records"` // the first N records of the dataset are split
	Part       int            `json:"part"`
	Parts      int            `json:"parts"`
	Settings   Settings       `json:"settings"`
	Partitions map[string]int `json:"partitions"`
	// Payload, when set, is a payload file (one value per line) whose every
	// line the worker sends unkeyed, read while it sends (payloadLines), in
	// place of Source's records: the file kcat and ProducerPerformance read.
	Payload string `json:"payload,omitempty"`
}

// The protocol after the spec: a ready line out once loaded and connected;
// the command "go" in; one Sample line out. Loading is thereby kept out of
// the measured window, and all workers start together.
const lineGo = "go"

// readyLine is the worker's first line.
type readyLine struct {
	Ready bool `json:"ready"`
}

// RunWorker is `kpar child produce-worker`: c carries its TLS and SASL
// settings, its commands and its stdout.
func RunWorker(ctx context.Context, sp WorkerSpec, c *proc.Child) error {
	src, closeSrc, err := sp.records()
	if err != nil {
		return err
	}
	defer closeSrc()
	p, err := newProducer(sp.Seeds, sp.Settings, c.Client.Opts...)
	if err != nil {
		return err
	}
	defer p.close()
	if err := c.Out.Write(readyLine{Ready: true}); err != nil {
		return err
	}
	if line, ok := <-c.Commands; !ok || strings.TrimSpace(line) != lineGo {
		return fmt.Errorf("worker: expected %q, got %q", lineGo, line)
	}
	cpu := proc.SelfCPU()
	smp, err := p.run(ctx, sp.Part, src, sp.Settings, sp.Partitions, nil)
	if err != nil {
		return err
	}
	if sp.Settings.NoFlush {
		p.close()
	}
	smp.CPUSeconds = proc.SelfCPU() - cpu
	return c.Out.Write(smp)
}

// records is the worker's source: the payload file's lines, opened here so
// a missing file fails before the worker is ready, or its part of the
// first Records records of the loaded dataset. done releases the file.
func (sp WorkerSpec) records() (src source, done func(), err error) {
	if sp.Payload != "" {
		f, err := os.Open(sp.Payload)
		if err != nil {
			return nil, nil, err
		}
		// What stays live is the records in flight, a few MB: at the
		// default GOGC of 100 the collector ran about a dozen times per
		// million records, and every cycle also empties franz-go's pool
		// of request buffers, which then grow again.
		debug.SetGCPercent(payloadGCPercent)
		return payloadLines(f, sp.Payload), func() { f.Close() }, nil
	}
	data, err := sp.Source.Load()
	if err != nil {
		return nil, nil, err
	}
	n := sp.Records
	if n <= 0 || n > data.Len() {
		n = data.Len()
	}
	return part(data, n, sp.Part, sp.Parts).records, func() {}, nil
}

// workerProc is one started worker: its stdout lines as they come.
type workerProc struct {
	p     *proc.Process
	name  string // "worker N" or "go anchor worker", as errors say it
	lines chan []byte
}

// fail adds the worker's stderr to err.
func (w *workerProc) fail(err error) error {
	if msg := w.p.Tail(0); msg != "" {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// readLine is the worker's next stdout line ("" once it has exited).
func (w *workerProc) readLine() string {
	select {
	case b := <-w.lines:
		return string(b)
	case <-w.p.Done():
		select {
		case b := <-w.lines:
			return string(b)
		default:
			return ""
		}
	}
}

// result waits for the worker's Sample line and its exit.
func (w *workerProc) result(s *Sample) error {
	err := json.Unmarshal([]byte(w.readLine()), s)
	if werr := w.p.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return w.fail(fmt.Errorf("%s: %w", w.name, err))
	}
	return nil
}

// launch starts one worker per spec, named by name, and waits until every
// one has loaded and connected; on a failure it kills the ones started.
func (b *bench) launch(ctx context.Context, specs []WorkerSpec, name func(int) string) ([]*workerProc, error) {
	var procs []*workerProc
	for i, sp := range specs {
		w := &workerProc{name: name(i), lines: make(chan []byte, 4)}
		var err error
		w.p, err = b.worker(ctx, "produce-worker", sp, proc.Options{OnLine: func(b []byte) {
			select {
			case w.lines <- append([]byte(nil), b...):
			default: // more than the protocol's lines: not ours to read
			}
		}})
		if err == nil {
			procs = append(procs, w)
			continue
		}
		for _, w := range procs {
			w.p.Kill()
		}
		return nil, fmt.Errorf("worker %d: %w", sp.Part, err)
	}
	for _, w := range procs {
		var r readyLine
		if json.Unmarshal([]byte(w.readLine()), &r) != nil || !r.Ready {
			for _, w := range procs {
				w.p.Kill()
			}
			return nil, w.fail(fmt.Errorf("%s did not get ready", w.name))
		}
	}
	return procs, nil
}

// spec is the worker spec of part i of parts over the first n records at
// record size size.
func (b *bench) spec(s Settings, partitions map[string]int, n, size, i, parts int) WorkerSpec {
	src := b.src
	src.Size = size
	return WorkerSpec{Seeds: b.seeds, Source: src, Records: n, Part: i, Parts: parts, Settings: s, Partitions: partitions}
}

// workers runs r.Producers worker processes over the first n records.
func (b *bench) workers(ctx context.Context, r point, n int, win *window) ([]Sample, time.Duration, error) {
	specs := make([]WorkerSpec, r.Producers)
	for i := range specs {
		specs[i] = b.spec(r.Settings, r.Partitions, n, r.RecordSize, i, r.Producers)
	}
	_, samples, wall, err := b.runWorkers(ctx, specs, func(i int) string { return fmt.Sprintf("worker %d", i) }, win)
	return samples, wall, err
}

// runWorkers launches one worker per spec, starts them together and waits
// for every one's Sample line and exit; wall ends at the last Sample line.
func (b *bench) runWorkers(ctx context.Context, specs []WorkerSpec, name func(int) string, win *window) ([]*workerProc, []Sample, time.Duration, error) {
	procs, err := b.launch(ctx, specs, name)
	if err != nil {
		return nil, nil, 0, err
	}
	win.begin()
	start := time.Now()
	for _, w := range procs {
		_ = w.p.Send(lineGo)
	}
	samples := make([]Sample, len(procs))
	errs := make([]error, len(procs))
	ends := make([]time.Time, len(procs))
	var wg sync.WaitGroup
	for i, w := range procs {
		wg.Go(func() {
			errs[i] = w.result(&samples[i])
			ends[i] = time.Now()
		})
	}
	wg.Wait()
	win.stop() // after the workers' exit: includes their shutdown, a few ms
	if err := errors.Join(errs...); err != nil {
		return nil, nil, 0, err
	}
	return procs, samples, slices.MaxFunc(ends, time.Time.Compare).Sub(start), nil
}

// Anchor is one Go producer run as its own process, measured the way the
// Java tool and kcat are, by the same code (proc.Usage): wall time from
// the process's start to its exit, CPU from its rusage.
type Anchor struct {
	Sample
	ProcessCPUSeconds float64 `json:"process_cpu_seconds"` // includes start-up and CSV loading
	WallSeconds       float64 `json:"wall_seconds"`        // the process's lifetime, start-up and exit included
	// PayloadFile says the process read the payload file the tools read,
	// while it sent; false (results before the field): it loaded the CSV
	// rows the payloads came from before sending.
	PayloadFile bool `json:"payload_file,omitempty"`
}

// RunAnchor runs a single worker process over every line of the payload
// file the tools read, unkeyed, as ProducerPerformance sends no keys.
func (b *bench) RunAnchor(ctx context.Context, s Settings, partitions map[string]int, payload string) (Anchor, error) {
	sp := WorkerSpec{Seeds: b.seeds, Parts: 1, Settings: s, Partitions: partitions, Payload: payload}
	procs, samples, _, err := b.runWorkers(ctx, []WorkerSpec{sp}, func(int) string { return "go anchor worker" }, &window{})
	if err != nil {
		return Anchor{}, err
	}
	a := Anchor{Sample: samples[0], PayloadFile: true}
	// The parent's own clock around launch would also count the fork and
	// exec and the spec's write, which kcat's and Java's wall do not.
	u := procs[0].p.Usage()
	a.WallSeconds, a.ProcessCPUSeconds = u.Wall.Seconds(), u.CPUSeconds
	return a, nil
}
