package stuck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
)

// ChildSpec is the kpar consumer process's spec.
type ChildSpec struct {
	Brokers      []string
	Topic, Group string
	Order        parallel.Order
	Concurrency  int
	StuckOffset  int64
	Stuck        bool // hold the record at StuckOffset of each partition until the release command
	ProcessedLog string
	Progress     time.Duration
	Session      time.Duration // kgo.SessionTimeout; 0: kgo's default
	ClientOpts   []kgo.Opt     `json:"-"` // from the security in the spec line
}

// ReleaseLine is what the driver writes on a consumer process's stdin to
// let its stuck records finish; both consumer processes (kpar's child and
// PC's harness) read it.
const ReleaseLine = "release"

// errDriverGone is a stuck process's stdin ending before the release line:
// the process that started it is gone, so it stops rather than hold the
// records (or run) forever.
var errDriverGone = errors.New("stdin closed before the stuck records were released (the driver is gone)")

// gate holds the stuck records until the driver releases them: nothing
// but the release line on stdin opens it, no timer.
type gate struct {
	open chan struct{} // closed by the release line
	gone chan struct{} // closed when stdin ends (before or after the release)
}

// newGate reads the commands in the background: ReleaseLine opens the
// gate, other lines are ignored; their end (stdin's) closes gone: the
// driver keeps stdin open as long as it wants the process, so its end,
// released or not, means the driver is gone.
func newGate(cmds <-chan string) *gate {
	g := &gate{open: make(chan struct{}), gone: make(chan struct{})}
	go func() {
		defer close(g.gone)
		released := false
		for l := range cmds {
			if !released && strings.TrimSpace(l) == ReleaseLine {
				released = true
				close(g.open)
			}
		}
	}()
	return g
}

// wait blocks until the gate opens (nil), stdin ends before it
// (errDriverGone) or ctx ends.
func (g *gate) wait(ctx context.Context) error {
	select {
	case <-g.open: // released: a context ended meanwhile does not matter
		return nil
	default:
	}
	select {
	case <-g.open:
		return nil
	case <-g.gone:
		select {
		case <-g.open: // released, then stdin ended (open closes before gone)
			return nil
		default:
			return errDriverGone
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// progressLine is one progress line of either consumer process on stdout.
// PC's harness prints kind, t_ms, completed and distinct; kpar's child
// adds its partitions (Consumer.Stats).
type progressLine struct {
	Kind       string                    `json:"kind"` // "progress"
	TMs        int64                     `json:"t_ms"`
	Completed  int64                     `json:"completed"`
	Partitions []parallel.PartitionStats `json:"partitions,omitempty"`
}

// opts are the consumer's options.
func (s ChildSpec) opts() []parallel.Opt {
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(s.Brokers...), kgo.ConsumeTopics(s.Topic), kgo.ConsumerGroup(s.Group)),
		parallel.Ordering(s.Order), parallel.MaxConcurrency(s.Concurrency), parallel.ClientOpts(s.ClientOpts...),
	}
	if s.Session > 0 {
		opts = append(opts, parallel.ClientOpts(kgo.SessionTimeout(s.Session)))
	}
	return opts
}

// RunChild is `kpar child window-kpar`: kpar's parallel consumer over the
// topic with a fresh or given group, every processed record appended to
// ProcessedLog before its handler returns, and a progress line on stdout
// every Progress. With Stuck, the record at StuckOffset of each partition
// is held (once) until the command "release" arrives on stdin; stdin
// ending before it stops the process with an error. It runs until ctx is
// cancelled (SIGTERM, or stdin's end), then closes the consumer (drain and
// final commit).
func RunChild(ctx context.Context, s ChildSpec, cmds <-chan string, stdout io.Writer) error {
	var g *gate
	var gone <-chan struct{} // nil without stuck records: never ready
	if s.Stuck {
		g = newGate(cmds)
		gone = g.gone
	}
	log, err := os.OpenFile(s.ProcessedLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	var logMu sync.Mutex
	var completed atomic.Int64
	var stuckSeen sync.Map // partition -> struct{}: its stuck record was taken
	h := func(ctx context.Context, r *kgo.Record) error {
		// Exactly this offset: under key or no order a later record may run
		// first and must not take its place.
		if g != nil && r.Offset == s.StuckOffset {
			if _, taken := stuckSeen.LoadOrStore(r.Partition, struct{}{}); !taken {
				if err := g.wait(ctx); err != nil {
					return err
				}
			}
		}
		// One unbuffered write per record: the line is in the file before
		// the library counts the record done, and survives a SIGKILL.
		line := strconv.AppendInt(make([]byte, 0, 24), int64(r.Partition), 10)
		line = append(strconv.AppendInt(append(line, ' '), r.Offset, 10), '\n')
		logMu.Lock()
		_, err := log.Write(line)
		logMu.Unlock()
		if err != nil {
			return fmt.Errorf("processed log: %w", err)
		}
		completed.Add(1)
		return nil
	}
	c, err := parallel.New(h, s.opts()...)
	if err != nil {
		return err
	}
	start := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(runCtx) }()
	enc := json.NewEncoder(stdout)
	tick := time.NewTicker(s.Progress)
	defer tick.Stop()
	for {
		select {
		case <-gone:
			cancel()
			<-errc
			c.Close()
			return errDriverGone
		case err := <-errc:
			c.Close()
			if ctx.Err() != nil {
				return nil // asked to stop: Run drained and committed
			}
			return err
		case <-tick.C:
			pl := progressLine{Kind: "progress", TMs: time.Since(start).Milliseconds(), Completed: completed.Load(), Partitions: c.Stats().Partitions}
			if err := enc.Encode(pl); err != nil {
				return err
			}
		}
	}
}
