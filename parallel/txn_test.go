package parallel_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/parallel"
	"github.com/kpar/kpar/parallel/internal/testkit"
)

// The test binary doubles as a transform consumer process, so a kill is a
// real SIGKILL: no drain, no final commit, no revoke, a transaction open.
const envTransformChild = "KPAR_PARALLEL_TRANSFORM_CHILD"

func TestMain(m *testing.M) {
	if args := os.Getenv(envTransformChild); args != "" {
		os.Exit(transformChild(strings.Split(args, "|")))
	}
	os.Exit(m.Run())
}

// transformChild runs NewTransform until SIGTERM: each input record's value
// is written to the output topic with an "out-" prefix. It prints "ran <v>"
// for every handler call that returns its outputs, so the parent can count
// the records processed more than once.
func transformChild(a []string) int {
	seeds, group, in, out, txnID := strings.Split(a[0], ","), a[1], a[2], a[3], a[4]
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		n, _ := strconv.Atoi(string(r.Value))
		time.Sleep(time.Duration(n%5) * time.Millisecond)
		mu.Lock()
		fmt.Fprintf(w, "ran %s\n", r.Value)
		w.Flush()
		mu.Unlock()
		return []*kgo.Record{{Topic: out, Key: r.Key, Value: []byte("out-" + string(r.Value))}}, nil
	}
	c, err := parallel.NewTransform(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
			kgo.TransactionalID(txnID), kgo.FetchMaxWait(100*time.Millisecond),
			// The killed member's partitions move once its session expires.
			kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond)),
		parallel.MaxConcurrency(16),
		parallel.Logf(func(f string, a ...any) { fmt.Fprintf(os.Stderr, "child %s: %s\n", txnID, fmt.Sprintf(f, a...)) }))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	return 0
}

// A read_committed reader of the output topic sees every input's output
// exactly once although the consumer is SIGKILLed mid-stream, with
// handlers running and a transaction open, and a new process (same
// transactional ID) finishes the input. The handler calls prove the kill
// replayed work: records the first process ran are run again by the second,
// yet their outputs are not duplicated.
func TestTransformOutputsEachInputExactlyOnceAcrossASIGKILL(t *testing.T) {
	bothClusters(t, testTransformAcrossKill)
}

func testTransformAcrossKill(t *testing.T, cl cluster) {
	const n = 3000
	tp := newTransformProcs(t, cl, n)
	first := tp.start("a")
	testkit.WaitFor(t, 2*time.Minute, "the first process to run a third of the input", func() bool { return tp.runs() >= n/3 })
	first.kill()
	second := tp.start("a") // same transactional ID: fences the dead one's open transaction
	tp.waitCommitted()
	second.stop(t)
	tp.check()
}

// The same across rebalances: a second process joins while the first
// runs, then the first leaves (SIGTERM: its revoke commits in a
// transaction), and the second finishes.
func TestTransformOutputsEachInputExactlyOnceAcrossRebalances(t *testing.T) {
	const n = 3000
	tp := newTransformProcs(t, fake(t), n)
	first := tp.start("a")
	testkit.WaitFor(t, 2*time.Minute, "the first process to run a sixth of the input", func() bool { return tp.runs() >= n/6 })
	second := tp.start("b")
	testkit.WaitFor(t, 2*time.Minute, "half the input run", func() bool { return tp.runs() >= n/2 })
	first.stop(t)
	tp.waitCommitted()
	second.stop(t)
	tp.check()
}

// transformProcs runs transformChild processes on one input and checks
// their outputs.
type transformProcs struct {
	t       *testing.T
	cl      cluster
	n       int
	in, out string
	group   string
	mu      sync.Mutex
	ran     map[string]int // handler calls per input value, all processes
}

type transformProc struct {
	cmd  *exec.Cmd
	done chan struct{} // stdout read to its end
}

func newTransformProcs(t *testing.T, cl cluster, n int) *transformProcs {
	tp := &transformProcs{t: t, cl: cl, n: n, ran: map[string]int{}}
	tp.in, tp.out = testkit.Topic(t, cl.seeds, 6), testkit.Topic(t, cl.seeds, 3)
	tp.group = tp.in + "-g"
	testkit.Produce(t, cl.seeds, tp.in, n, 50)
	return tp
}

// start runs a process whose transactional ID ends in id.
func (tp *transformProcs) start(id string) *transformProc {
	t := tp.t
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envTransformChild+"="+strings.Join(
		[]string{strings.Join(tp.cl.seeds, ","), tp.group, tp.in, tp.out, tp.in + "-tx-" + id}, "|"))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &transformProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ran "); ok {
				tp.mu.Lock()
				tp.ran[v]++
				tp.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done; _ = cmd.Wait() })
	return p
}

func (p *transformProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	_ = p.cmd.Wait()
}

func (p *transformProc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("transform process: %v", err)
	}
}

// runs is how many distinct inputs a handler ran.
func (tp *transformProcs) runs() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.ran)
}

func (tp *transformProcs) waitCommitted() {
	testkit.WaitFor(tp.t, 3*time.Minute, "the group to commit the whole input", func() bool {
		return sumCommitted(tp.t, tp.cl.seeds, tp.group) == int64(tp.n)
	})
}

// check reads the outputs read_committed: each input's exactly once. Some
// input must have been run twice, or the faults proved nothing.
func (tp *transformProcs) check() {
	t, n := tp.t, tp.n
	got := readCommitted(t, tp.cl.seeds, tp.out, n)
	count := map[string]int{}
	for _, r := range got {
		count[string(r.Value)]++
	}
	var missing, dup []string
	for i := range n {
		switch k := count["out-"+strconv.Itoa(i)]; {
		case k == 0:
			missing = append(missing, strconv.Itoa(i))
		case k > 1:
			dup = append(dup, strconv.Itoa(i))
		}
	}
	tp.mu.Lock()
	replayed := 0
	for _, k := range tp.ran {
		if k > 1 {
			replayed++
		}
	}
	tp.mu.Unlock()
	t.Logf("%d outputs read_committed, %d inputs run twice by the handler", len(got), replayed)
	if len(missing) > 0 || len(dup) > 0 || len(got) != n {
		t.Fatalf("read_committed outputs: %d records for %d inputs; missing %d (first %v), duplicated %d (first %v)",
			len(got), n, len(missing), first10(missing), len(dup), first10(dup))
	}
	if replayed == 0 {
		t.Logf("no input was run twice: the faults landed with nothing in flight")
	}
}

func first10(s []string) []string { return s[:min(len(s), 10)] }

// readCommitted reads topic to its end as a read_committed reader and
// returns its records; want is the least it waits for.
func readCommitted(t *testing.T, seeds []string, topic string, want int) []*kgo.Record {
	t.Helper()
	cl := testkit.Client(t, seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		out = append(out, fs.Records()...)
	}
	// Anything beyond want (duplicates) arrives in the next polls.
	tctx, tcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer tcancel()
	for {
		fs := cl.PollFetches(tctx)
		if tctx.Err() != nil {
			return out
		}
		out = append(out, fs.Records()...)
	}
}

// NewTransform refuses a client without a transactional ID, and New a
// client with one: a transactional client cannot write the retry and
// dead-letter records outside a transaction.
func TestTransformNeedsATransactionalIDAndNewRefusesOne(t *testing.T) {
	_, seeds := testkit.KfakeCluster(t, "t", 1)
	th := func(context.Context, *kgo.Record) ([]*kgo.Record, error) { return nil, nil }
	base := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t")}
	if c, err := parallel.NewTransform(th, parallel.ClientOpts(base...)); !errors.Is(err, parallel.ErrNoTransactionalID) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("NewTransform without kgo.TransactionalID: err %v, want ErrNoTransactionalID", err)
	}
	if c, err := parallel.New(noop, parallel.ClientOpts(append(base, kgo.TransactionalID("x"))...)); !errors.Is(err, parallel.ErrInvalidOption) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("New with kgo.TransactionalID: err %v, want ErrInvalidOption", err)
	}
	c, err := parallel.NewTransform(th, parallel.ClientOpts(append(base, kgo.TransactionalID("x"))...))
	if err != nil {
		t.Fatalf("NewTransform with a transactional ID: %v", err)
	}
	c.Close()
}

// An output the producer refuses for its size (here over a 64 KiB batch
// limit) makes its input a failed record: with a dead-letter topic the input
// is dead-lettered in the transaction, in place of its output, and every
// other input's output is written once.
func TestTransformDeadLettersAnInputWhoseOutputIsTooLarge(t *testing.T) {
	const n = 40
	_, seeds := testkit.KfakeCluster(t, "in", 2)
	adm := testkit.Admin(t, seeds)
	if _, err := adm.CreateTopics(context.Background(), 2, 1, nil, "out", "dlq"); err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, seeds, "in", n, 5, testkit.RoundRobin)
	var ran sync.Map
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		ran.Store(string(r.Value), true)
		v := []byte("out-" + string(r.Value))
		if string(r.Value) == "7" {
			v = make([]byte, 100<<10)
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: v}}, nil
	}
	c, err := parallel.NewTransform(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
			kgo.TransactionalID("tx"), kgo.ProducerBatchMaxBytes(64<<10)),
		parallel.DeadLetterTopic("dlq"), parallel.CommitInterval(0), parallel.Logf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	testkit.RunUntil(t, c, time.Minute, "the group to commit every input", func() bool { return sumCommitted(t, seeds, "g") == n })
	outs := readCommitted(t, seeds, "out", n-1)
	dead := readCommitted(t, seeds, "dlq", 1)
	seen := map[string]int{}
	for _, r := range outs {
		seen[string(r.Value)]++
	}
	for i := range n {
		want := 1
		if i == 7 {
			want = 0
		}
		if k := seen["out-"+strconv.Itoa(i)]; k != want {
			t.Errorf("output of input %d written %d times, want %d", i, k, want)
		}
	}
	if len(dead) != 1 || string(dead[0].Value) != "7" || parallel.Header(dead[0], parallel.HeaderError) == "" {
		t.Fatalf("dead letters %d (want input 7 once, with its error header): %v", len(dead), dead)
	}
	t.Logf("dead letter error: %s", parallel.Header(dead[0], parallel.HeaderError))
}

// inAndOut starts kfake with the topic "in" (one partition, n records
// produced) and an empty "out".
func inAndOut(t *testing.T, n int) (*kfake.Cluster, []string) {
	t.Helper()
	kc, seeds := testkit.KfakeCluster(t, "in", 1)
	if _, err := testkit.Admin(t, seeds).CreateTopics(context.Background(), 1, 1, nil, "out"); err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, seeds, "in", n, 1)
	return kc, seeds
}

// runTransformAsSame runs h from "in" in group "g" under the transactional
// ID "same", in partition order; Run's error arrives on the channel.
func runTransformAsSame(t *testing.T, seeds []string, h parallel.TransformHandler, opts ...parallel.Opt) <-chan error {
	t.Helper()
	c, err := parallel.NewTransform(h, append([]parallel.Opt{
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
			kgo.TransactionalID("same")),
		parallel.Ordering(parallel.OrderPartition)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background()) }()
	return errc
}

// A second producer registering the same transactional ID fences the
// consumer: its open transaction is aborted and Run stops with ErrFenced
// instead of writing anything more.
func TestTransformStopsWithErrFencedWhenItsTransactionalIDIsTakenOver(t *testing.T) {
	const n = 200
	_, seeds := inAndOut(t, n)
	var done atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		time.Sleep(5 * time.Millisecond)
		done.Add(1)
		return []*kgo.Record{{Topic: "out", Value: r.Value}}, nil
	}
	errc := runTransformAsSame(t, seeds, h)
	testkit.WaitFor(t, time.Minute, "some records done", func() bool { return done.Load() >= 20 })

	usurper := testkit.Client(t, seeds, kgo.TransactionalID("same"))
	if _, _, err := usurper.ProducerID(context.Background()); err != nil {
		t.Fatalf("the second producer could not take the ID: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, parallel.ErrFenced) {
			t.Fatalf("Run returned %v, want an error wrapping ErrFenced", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("Run went on for a minute after its transactional ID was taken over (%d records done)", done.Load())
	}
	outs := readCommitted(t, seeds, "out", 0)
	seen := map[string]int{}
	for _, r := range outs {
		if seen[string(r.Value)]++; seen[string(r.Value)] > 1 {
			t.Fatalf("output of input %s written twice", r.Value)
		}
	}
	t.Logf("%d outputs committed before the fence, %d records done", len(outs), done.Load())
}

// A takeover that lands between the consumer's last produce of a
// transaction and its EndTxn (the race the test above hits now and then):
// the new producer's InitProducerID aborts the open transaction and bumps
// the epoch, and the commit, one epoch behind, is answered INVALID_TXN_STATE
// (KIP-890's retry detection). The transaction was aborted by the takeover:
// Run reports ErrFenced, not an unconfirmed outcome. The cluster holds the
// first commit's EndTxn until the second producer has the ID, so the race
// is taken every run.
func TestTransformReportsATakeoverDuringItsCommitAsFenced(t *testing.T) {
	const n = 50
	kc, seeds := inAndOut(t, n)
	usurper := testkit.Client(t, seeds, kgo.TransactionalID("same"))
	var held atomic.Bool
	took := make(chan error, 1)
	kc.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !req.(*kmsg.EndTxnRequest).Commit || held.Swap(true) {
			kc.KeepControl()
			return nil, nil, false
		}
		kc.SleepControl(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _, err := usurper.ProducerID(ctx)
			took <- err
		})
		return nil, nil, false // the cluster answers the commit now
	})
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: "out", Value: r.Value}}, nil
	}
	errc := runTransformAsSame(t, seeds, h)
	err := receive(t, errc, time.Minute, "Run went on for a minute after its transactional ID was taken over during a commit")
	if !errors.Is(err, parallel.ErrFenced) || errors.Is(err, parallel.ErrTxnUnconfirmed) {
		t.Fatalf("Run returned %v, want an error wrapping ErrFenced (and not ErrTxnUnconfirmed)", err)
	}
	t.Logf("Run: %v", err)
	if err := <-took; err != nil {
		t.Fatalf("the second producer could not take the ID: %v", err)
	}
	if outs := readCommitted(t, seeds, "out", 0); len(outs) != 0 {
		t.Fatalf("%d outputs of the aborted transaction are visible, want none", len(outs))
	}
}

// A cluster that cannot register the transactional ID yet (here its
// answers to InitProducerID are cut off, beyond the client's own retries,
// as while a broker restarts) is waited for: NewTransform's Run retries
// and goes on to process every record, instead of stopping.
func TestTransformWaitsForAClusterThatCannotRegisterItsTransactionalIDYet(t *testing.T) {
	const n = 30
	kc, seeds := inAndOut(t, n)
	var refused atomic.Int64
	kc.ControlKey(int16(kmsg.InitProducerID), func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if refused.Add(1) <= 6 {
			return nil, errors.New("not yet"), true // the connection is cut
		}
		return nil, nil, false
	})
	var done atomic.Int64
	h := func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		done.Add(1)
		return []*kgo.Record{{Topic: "out", Value: r.Value}}, nil
	}
	c, err := parallel.NewTransform(h,
		parallel.ClientOpts(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
			kgo.TransactionalID("tx"), kgo.RequestRetries(1)))
	if err != nil {
		t.Fatal(err)
	}
	stop := testkit.Run(t, c)
	testkit.WaitFor(t, time.Minute, "every record processed", func() bool { return done.Load() >= n })
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after the cluster came back", err)
	}
	if refused.Load() <= 6 {
		t.Fatalf("InitProducerID asked %d times: the refusals were not exercised", refused.Load())
	}
}
