// Package demo is what the example programs share and what is not their
// lesson: the --brokers and --keep flags, the load flags most of them take
// (Load), a main that stops on Ctrl-C, fresh topics deleted at exit, sample
// records, running consumers until a condition holds, and reading a topic
// (the dead letters) meanwhile.
package demo

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/sharegroup"
)

var (
	brokers = flag.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
	keep    = flag.Bool("keep", false, "keep the example's topics at exit")

	cleanups []func() // run by Main at exit, last first
)

// Brokers returns the seed brokers of --brokers.
func Brokers() []string { return strings.Split(*brokers, ",") }

// Load is how much an example produces and how hard it consumes: the flags
// the examples share. Main registers a flag for each field the example gives
// a default (a zero field has no flag) and hands run the values given.
type Load struct {
	Records     int           // --records: records to produce
	Keys        int           // --keys: distinct keys among them
	Partitions  int           // --partitions: of the topic (Topic's default without it)
	Concurrency int           // --concurrency: handlers running at once, at most
	Work        time.Duration // --work: simulated I/O per record
}

// count is one of Load's integer flags: its name, its help, its field.
type count struct {
	name, help string
	v          *int
}

// counts are Load's integer flags.
func (l *Load) counts() []count {
	return []count{
		{"records", "records to produce", &l.Records},
		{"keys", "distinct keys", &l.Keys},
		{"partitions", "partitions of the topic", &l.Partitions},
		{"concurrency", "maximum handlers running at once", &l.Concurrency},
	}
}

// flags registers a flag for each field with a default.
func (l *Load) flags() {
	for _, c := range l.counts() {
		if *c.v != 0 {
			flag.IntVar(c.v, c.name, *c.v, c.help)
		}
	}
	if l.Work != 0 {
		flag.DurationVar(&l.Work, "work", l.Work, "simulated I/O per record")
	}
}

// check refuses a count below 1 and a negative work, naming the flag.
func (l *Load) check(given Load) error {
	defaults := given.counts()
	for i, c := range l.counts() {
		if *defaults[i].v != 0 && *c.v < 1 {
			return fmt.Errorf("--%s must be at least 1, not %d", c.name, *c.v)
		}
	}
	if l.Work < 0 {
		return fmt.Errorf("--work must not be negative, not %s", l.Work)
	}
	return nil
}

// Main registers load's flags, parses the command line and runs run with
// the load given and a context that ends on Ctrl-C or SIGTERM, then deletes
// the topics it created (unless --keep). An error is printed after the
// program's name, and the program exits 1 (2 for a bad flag value).
func Main(name string, load Load, run func(ctx context.Context, load Load) error) {
	given := load
	load.flags()
	flag.Parse()
	if err := load.check(given); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, load)
	stop()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Name returns a fresh topic name, kpar-example-<what>-<time>.
func Name(what string) string {
	return fmt.Sprintf("kpar-example-%s-%d", what, time.Now().UnixNano())
}

// client connects to --brokers with opts, for the caller to close.
func client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(Brokers()...)}, opts...)...)
}

// CreateTopics creates the topics with partitions partitions each; Main
// deletes them at exit unless --keep.
func CreateTopics(ctx context.Context, partitions int32, topics ...string) error {
	cl, err := client()
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, nil, topics...)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", strings.Join(topics, ", "), err)
	}
	if !*keep {
		cleanups = append(cleanups, func() {
			if cl, err := client(); err == nil {
				kadm.NewClient(cl).DeleteTopics(context.Background(), topics...)
				cl.Close()
			}
		})
	}
	return nil
}

// Produce writes n records to topic, record i with the key and value that
// record returns for i, and waits until all are acknowledged.
func Produce(ctx context.Context, topic string, n int, record func(i int) (key, value string)) error {
	cl, err := client()
	if err != nil {
		return err
	}
	defer cl.Close()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		k, v := record(i)
		rs[i] = &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("produce to %s: %w", topic, err)
	}
	return nil
}

// Topic creates a fresh topic kpar-example-<what>-<time> with
// load.Partitions partitions (6 when zero) and produces load.Records sample
// records to it, keyed prefix + i%load.Keys (Keyed), saying so.
func Topic(ctx context.Context, what, prefix string, load Load) (string, error) {
	topic, partitions := Name(what), cmp.Or(int32(load.Partitions), 6)
	if err := CreateTopics(ctx, partitions, topic); err != nil {
		return "", err
	}
	fmt.Printf("producing %d records over %d keys into %s (%d partitions)\n", load.Records, load.Keys, topic, partitions)
	return topic, Produce(ctx, topic, load.Records, Keyed(prefix, load.Keys))
}

// Keyed is the sample records: record i has the key prefix + i%keys and
// the value i, so that each key's values rise with the offset.
func Keyed(prefix string, keys int) func(i int) (key, value string) {
	return func(i int) (string, string) { return prefix + strconv.Itoa(i%keys), strconv.Itoa(i) }
}

// ShareGroupFromEarliest sets the share group's share.auto.offset.reset to
// earliest, so that it reads the records produced before it joined: a group
// config on the broker, which the library's sharegroup.FromEarliest sets.
// `kafka-configs.sh --entity-type groups --entity-name <group> --alter
// --add-config share.auto.offset.reset=earliest` does the same.
func ShareGroupFromEarliest(ctx context.Context, group string) error {
	cl, err := client()
	if err != nil {
		return err
	}
	defer cl.Close()
	return sharegroup.FromEarliest(ctx, cl, group)
}

// RunUntil runs the consumers until done returns true (asked every 50ms),
// then stops them and waits for each to return. It fails when a consumer
// stops early or fails, and when ctx ends first.
func RunUntil(ctx context.Context, done func() bool, consumers ...*parallel.Consumer) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(consumers))
	for _, c := range consumers {
		go func() { errs <- c.Run(runCtx) }()
	}
	running := len(consumers)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
	for err == nil && !done() {
		select {
		case <-ctx.Done():
			err = errors.New("interrupted")
		case e := <-errs:
			running--
			err = fmt.Errorf("a consumer stopped early: %v", e)
		case <-tick.C:
		}
	}
	cancel()
	for ; running > 0; running-- {
		if e := <-errs; e != nil && !errors.Is(e, context.Canceled) && err == nil {
			err = e
		}
	}
	return err
}

// RunUntilDeadLettered runs the consumers (RunUntil) while reading the
// dead-letter topic dlt from its start, until done returns true and dlt
// holds want records, and returns those ordered by their values.
func RunUntilDeadLettered(ctx context.Context, dlt string, want int, done func() bool, consumers ...*parallel.Consumer) ([]*kgo.Record, error) {
	dead, err := read(dlt)
	if err != nil {
		return nil, err
	}
	defer dead.Close()
	if err := RunUntil(ctx, func() bool { return done() && dead.Len() == want }, consumers...); err != nil {
		return nil, err
	}
	return dead.Records(), nil
}

// Every calls f every period until the returned stop is called.
func Every(period time.Duration, f func()) (stop func()) {
	quit := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return sync.OnceFunc(func() { close(quit) })
}

// reader reads a topic from its start in the background.
type reader struct {
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}

	mu sync.Mutex
	rs []*kgo.Record
}

// read starts reading topic from its start; Close stops it.
func read(topic string) (*reader, error) {
	cl, err := client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &reader{cl: cl, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			got := cl.PollFetches(ctx).Records()
			r.mu.Lock()
			r.rs = append(r.rs, got...)
			r.mu.Unlock()
		}
	}()
	return r, nil
}

// Len returns how many records it has read.
func (r *reader) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rs)
}

// Records returns the records it has read, ordered by their values read
// as numbers.
func (r *reader) Records() []*kgo.Record {
	r.mu.Lock()
	rs := append([]*kgo.Record(nil), r.rs...)
	r.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool {
		a, _ := strconv.Atoi(string(rs[i].Value))
		b, _ := strconv.Atoi(string(rs[j].Value))
		return a < b
	})
	return rs
}

// Close stops reading.
func (r *reader) Close() {
	r.stop()
	<-r.done
	r.cl.Close()
}
