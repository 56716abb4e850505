package window

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/parallel"
)

// childSpec is the kpar consumer process's command line.
type childSpec struct {
	Brokers      []string
	Topic, Group string
	Order        parallel.Order
	Concurrency  int
	StuckOffset  int64
	Stuck        time.Duration // 0: no stuck record
	ProcessedLog string
	Progress     time.Duration
	Session      time.Duration // kgo.SessionTimeout; 0: kgo's default
	clientOpts   []kgo.Opt     // from the security flags KparChild added (not rendered by args)
}

func (s childSpec) args() []string {
	return []string{
		"--brokers", strings.Join(s.Brokers, ","), "--topic", s.Topic, "--group", s.Group,
		"--order", s.Order.String(), "--concurrency", strconv.Itoa(s.Concurrency),
		"--stuck-offset", strconv.FormatInt(s.StuckOffset, 10), "--stuck-ms", strconv.FormatInt(s.Stuck.Milliseconds(), 10),
		"--processed-log", s.ProcessedLog, "--progress-ms", strconv.FormatInt(s.Progress.Milliseconds(), 10),
		"--session-timeout-ms", strconv.FormatInt(s.Session.Milliseconds(), 10),
	}
}

// progressLine is one progress line of either consumer process on stdout.
// PC's harness prints kind, t_ms, completed and distinct; kpar's child
// adds its partitions (from Consumer.Stats).
type progressLine struct {
	Kind       string          `json:"kind"` // "progress"
	TMs        int64           `json:"t_ms"`
	Completed  int64           `json:"completed"`
	Partitions []partitionLine `json:"partitions,omitempty"`
}

type partitionLine struct {
	Partition   int32 `json:"partition"`
	Committable int64 `json:"committable"`
	Held        int   `json:"held"`    // admitted, not done
	Backlog     int   `json:"backlog"` // polled, not admitted
	Paused      bool  `json:"paused"`
}

// ChildMain is `kpar child window-kpar <args>`: kpar's parallel consumer
// over the topic with a fresh or given group, one stuck record per
// partition (with --stuck-ms > 0), every processed record appended to
// --processed-log before its handler returns, and a progress line on
// stdout every --progress-ms. It runs until ctx is cancelled (SIGTERM),
// then closes the consumer (drain and final commit).
func ChildMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var s childSpec
	fs := flag.NewFlagSet("window-kpar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "seed brokers, comma-separated")
	fs.StringVar(&s.Topic, "topic", "", "topic")
	fs.StringVar(&s.Group, "group", "", "consumer group")
	order := fs.String("order", "key", "key, partition or none")
	fs.IntVar(&s.Concurrency, "concurrency", 500, "MaxConcurrency")
	fs.Int64Var(&s.StuckOffset, "stuck-offset", 0, "per partition, the record at this offset is stuck (once)")
	stuckMs := fs.Int64("stuck-ms", 0, "how long the stuck record's handler sleeps (0: no stuck record)")
	fs.StringVar(&s.ProcessedLog, "processed-log", "", "file to append \"partition offset\" to per processed record")
	progressMs := fs.Int64("progress-ms", 200, "progress line period")
	sessionMs := fs.Int64("session-timeout-ms", 0, "the group session timeout (0: kgo's default)")
	var sec clientsec.Settings
	sec.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	client, err := sec.Resolve(os.Getenv)
	if err != nil {
		return err
	}
	s.clientOpts = client.Opts
	for _, b := range strings.Split(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			s.Brokers = append(s.Brokers, b)
		}
	}
	s.Stuck, s.Progress = time.Duration(*stuckMs)*time.Millisecond, time.Duration(*progressMs)*time.Millisecond
	s.Session = time.Duration(*sessionMs) * time.Millisecond
	var errs []error
	if len(s.Brokers) == 0 {
		errs = append(errs, errors.New("--brokers: none given"))
	}
	if s.Topic == "" || s.Group == "" || s.ProcessedLog == "" {
		errs = append(errs, errors.New("--topic, --group and --processed-log are required"))
	}
	if err := s.Order.UnmarshalText([]byte(*order)); err != nil {
		errs = append(errs, fmt.Errorf("--order: %w", err))
	}
	if s.Concurrency < 1 || s.StuckOffset < 0 || s.Stuck < 0 || s.Progress <= 0 || s.Session < 0 {
		errs = append(errs, errors.New("--concurrency and --progress-ms must be > 0, --stuck-offset, --stuck-ms and --session-timeout-ms >= 0"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return runChild(ctx, s, stdout)
}

func runChild(ctx context.Context, s childSpec, stdout io.Writer) error {
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
		if s.Stuck > 0 && r.Offset == s.StuckOffset {
			if _, taken := stuckSeen.LoadOrStore(r.Partition, struct{}{}); !taken {
				t := time.NewTimer(s.Stuck)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
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
	opts := []parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(s.Brokers...), kgo.ConsumeTopics(s.Topic), kgo.ConsumerGroup(s.Group)),
		parallel.Ordering(s.Order), parallel.MaxConcurrency(s.Concurrency),
		parallel.ClientOpts(s.clientOpts...),
	}
	if s.Session > 0 {
		opts = append(opts, parallel.ClientOpts(kgo.SessionTimeout(s.Session)))
	}
	c, err := parallel.New(h, opts...)
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
		case err := <-errc:
			c.Close()
			if ctx.Err() != nil {
				return nil // asked to stop: Run drained and committed
			}
			return err
		case <-tick.C:
			st := c.Stats()
			pl := progressLine{Kind: "progress", TMs: time.Since(start).Milliseconds(), Completed: completed.Load()}
			for _, p := range st.Partitions {
				pl.Partitions = append(pl.Partitions, partitionLine{Partition: p.Partition, Committable: p.Committable,
					Held: p.Held, Backlog: p.Backlog, Paused: p.Paused})
			}
			if err := enc.Encode(pl); err != nil {
				return err
			}
		}
	}
}
