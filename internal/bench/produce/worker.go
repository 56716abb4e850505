package produce

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kpar/kpar/internal/csvsrc"
	"github.com/twmb/franz-go/pkg/kgo"
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
func (s Source) Load() (*csvsrc.Dataset, error) {
	vm, err := csvsrc.ParseValueMode(s.Value)
	if err != nil {
		return nil, err
	}
	d, err := csvsrc.Load(s.Path, csvsrc.KeyColumn(s.KeyColumn), csvsrc.Value(vm), csvsrc.SkipBad(s.SkipBad), csvsrc.Limit(s.Limit))
	if err != nil || s.Size <= 0 {
		return d, err
	}
	return sized(d, s.Size), nil
}

// workerSpec is the one JSON line a worker reads on stdin.
type workerSpec struct {
	Seeds      []string       `json:"seeds"`
	Source     Source         `json:"source"`
	Records    int            `json:"records"` // the first N records of the dataset are split
	Part       int            `json:"part"`
	Parts      int            `json:"parts"`
	Settings   Settings       `json:"settings"`
	Partitions map[string]int `json:"partitions"`
}

// The protocol: spec line in; "ready" line out once loaded and connected;
// "go" line in; one Sample JSON line out. Loading is thereby kept out of
// the measured window, and all workers start together.
const (
	lineReady = "ready"
	lineGo    = "go"
)

// RunWorker is the body of the hidden worker subcommand; clientOpts are its
// TLS and SASL settings (the parent passes them as flags, see WorkerArgv).
func RunWorker(ctx context.Context, stdin io.Reader, stdout io.Writer, clientOpts ...kgo.Opt) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("worker: read spec: %w", err)
	}
	var sp workerSpec
	if err := json.Unmarshal(line, &sp); err != nil {
		return fmt.Errorf("worker: bad spec: %w", err)
	}
	data, err := sp.Source.Load()
	if err != nil {
		return err
	}
	n := sp.Records
	if n <= 0 || n > data.Len() {
		n = data.Len()
	}
	lo, hi := n*sp.Part/sp.Parts, n*(sp.Part+1)/sp.Parts
	sl := slice{values: data.Values[lo:hi]}
	if data.Keys != nil {
		sl.keys = data.Keys[lo:hi]
	}
	p, err := newProducer(sp.Seeds, sp.Settings, clientOpts...)
	if err != nil {
		return err
	}
	defer p.close()
	if _, err := fmt.Fprintln(stdout, lineReady); err != nil {
		return err
	}
	if line, err = in.ReadBytes('\n'); err != nil || strings.TrimSpace(string(line)) != lineGo {
		return fmt.Errorf("worker: expected %q, got %q (%v)", lineGo, line, err)
	}
	cpu := selfCPU()
	smp := p.run(ctx, sp.Part, sl, sp.Settings, sp.Partitions, nil)
	if sp.Settings.NoFlush {
		p.close()
	}
	smp.CPUSeconds = selfCPU() - cpu
	return json.NewEncoder(stdout).Encode(smp)
}

type workerLauncher struct {
	seeds []string
	argv  []string
	src   Source
}

type workerProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

func (w *workerProc) fail(err error) error {
	if msg := strings.TrimSpace(w.stderr.String()); msg != "" {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// start launches one worker and sends its spec.
func (l *workerLauncher) start(ctx context.Context, sp workerSpec) (*workerProc, error) {
	cmd := exec.CommandContext(ctx, l.argv[0], l.argv[1:]...)
	w := &workerProc{cmd: cmd}
	cmd.Stderr = &w.stderr
	var err error
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", l.argv[0], err)
	}
	b, _ := json.Marshal(sp)
	if _, err := w.stdin.Write(append(b, '\n')); err != nil {
		w.kill()
		return nil, w.fail(fmt.Errorf("worker %d: send spec: %w", sp.Part, err))
	}
	return w, nil
}

func (w *workerProc) kill() {
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
}

func (w *workerProc) readLine() (string, error) {
	s, err := w.out.ReadString('\n')
	return strings.TrimSpace(s), err
}

// step runs r.Producers workers over the first n records.
func (l *workerLauncher) step(ctx context.Context, r point, n int, win *window) ([]Sample, time.Duration, error) {
	procs := make([]*workerProc, 0, r.Producers)
	cleanup := func() {
		for _, w := range procs {
			w.kill()
		}
	}
	src := l.src
	src.Size = r.RecordSize
	for i := 0; i < r.Producers; i++ {
		w, err := l.start(ctx, workerSpec{
			Seeds: l.seeds, Source: src, Records: n, Part: i, Parts: r.Producers,
			Settings: r.Settings, Partitions: r.Partitions,
		})
		if err != nil {
			cleanup()
			return nil, 0, err
		}
		procs = append(procs, w)
	}
	for i, w := range procs {
		if s, err := w.readLine(); s != lineReady {
			cleanup()
			_ = err
			return nil, 0, w.fail(fmt.Errorf("worker %d did not get ready", i))
		}
	}
	win.begin()
	start := time.Now()
	for _, w := range procs {
		_, _ = io.WriteString(w.stdin, lineGo+"\n")
	}
	samples := make([]Sample, len(procs))
	errs := make([]error, len(procs))
	ends := make([]time.Time, len(procs))
	var wg sync.WaitGroup
	for i, w := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := w.readLine()
			if err == nil || s != "" {
				err = json.Unmarshal([]byte(s), &samples[i])
			}
			ends[i] = time.Now()
			if werr := w.cmd.Wait(); err == nil && werr != nil {
				err = werr
			}
			if err != nil {
				errs[i] = w.fail(fmt.Errorf("worker %d: %w", i, err))
			}
		}()
	}
	wg.Wait()
	win.end() // after the workers' exit: includes their shutdown, a few ms
	// Wall ends at the last result line, not at process exit.
	wall := time.Duration(0)
	for _, e := range ends {
		if d := e.Sub(start); d > wall {
			wall = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return samples, wall, nil
}

// Anchor is one Go producer run as its own process, measured the way the
// Java tool is: whole-process CPU from the child's rusage.
type Anchor struct {
	Sample
	ProcessCPUSeconds float64 `json:"process_cpu_seconds"` // includes start-up and CSV loading
	WallSeconds       float64 `json:"wall_seconds"`
}

// RunAnchor runs a single worker process over the first n records at
// record size size; keyless drops the key column, as ProducerPerformance
// sends no keys.
func (b *bench) RunAnchor(ctx context.Context, s Settings, partitions map[string]int, n, size int, keyless bool) (Anchor, error) {
	if b.worker == nil {
		return Anchor{}, errors.New("the Go anchor needs a worker command")
	}
	l := b.worker
	src := l.src
	src.Size = size
	if keyless {
		src.KeyColumn = ""
	}
	start := time.Now()
	w, err := l.start(ctx, workerSpec{Seeds: b.seeds, Source: src, Records: n, Part: 0, Parts: 1, Settings: s, Partitions: partitions})
	if err != nil {
		return Anchor{}, err
	}
	if line, _ := w.readLine(); line != lineReady {
		w.kill()
		return Anchor{}, w.fail(errors.New("go anchor worker did not get ready"))
	}
	_, _ = io.WriteString(w.stdin, lineGo+"\n")
	line, _ := w.readLine()
	var a Anchor
	err = json.Unmarshal([]byte(line), &a.Sample)
	if werr := w.cmd.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return Anchor{}, w.fail(fmt.Errorf("go anchor worker: %w", err))
	}
	a.WallSeconds = time.Since(start).Seconds()
	if ru, ok := w.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		a.ProcessCPUSeconds = rusageSeconds(ru)
	}
	return a, nil
}
