package groupsettings

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/workload"
)

// Seed streams: every random choice is workload.Uint64(seed, stream, ...),
// keyed by what it decides.
const (
	streamRecords = iota + 100
	streamCommit
	streamDelete
	streamCrash
	streamAbort
	streamStall
)

// keys of every input topic's workload.
const keys = 64

// cellKit is what a cell needs on the broker: an admin and producers, and
// the topics and groups it created, removed at the end.
type cellKit struct {
	cl     *kgo.Client // producer of the input, admin
	manual *kgo.Client // producer to the partition a record names
	adm    *kadm.Client
	topics []string
	groups []string
}

func newKit(brokers []string, opts ...kgo.Opt) (*cellKit, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, err
	}
	manual, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &cellKit{cl: cl, manual: manual, adm: kadm.NewClient(cl)}, nil
}

// name is a topic or group name unique to this cell and run.
func name(seed int64, parts ...string) string {
	return fmt.Sprintf("kpar-gs-%s-%d-%d", strings.Join(parts, "-"), seed, time.Now().UnixNano()%1e9)
}

func (k *cellKit) topic(ctx context.Context, name string, partitions int) error {
	if _, err := kafka.Create(ctx, k.adm, []kafka.Topic{{Name: name, Partitions: partitions}}); err != nil {
		return err
	}
	k.topics = append(k.topics, name)
	return nil
}

func (k *cellKit) group(name string) string {
	k.groups = append(k.groups, name)
	return name
}

// close deletes what the cell created, best effort: a group with a static
// member left in it cannot be deleted before its session ends, and a stale
// group costs nothing.
func (k *cellKit) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(k.groups) > 0 {
		_, _ = k.adm.DeleteGroups(ctx, k.groups...)
	}
	_ = kafka.Delete(ctx, k.adm, k.topics...)
	k.manual.Close()
	k.cl.Close()
}

// input creates topic and writes n seeded records to it.
func (k *cellKit) input(ctx context.Context, topic string, partitions int, seed int64, n int) ([]workload.Record, error) {
	if err := k.topic(ctx, topic, partitions); err != nil {
		return nil, err
	}
	recs := workload.Generate(seed, n, keys)
	return recs, workload.ProduceInput(ctx, k.cl, topic, recs)
}

// committedThrough reports whether group has committed every partition of
// topic up to ends.
func (k *cellKit) committedThrough(ctx context.Context, group, topic string, ends map[int32]int64) bool {
	os, err := k.adm.FetchOffsets(ctx, group)
	if err != nil {
		return false
	}
	for p, end := range ends {
		if end == 0 {
			continue
		}
		o, ok := os.Lookup(topic, p)
		if !ok || o.Err != nil || o.At < end {
			return false
		}
	}
	return true
}

// seqOf is the record's sequence number, or -1 for a record that is not a
// workload record (markers, probes written otherwise).
func seqOf(r *kgo.Record) int64 {
	rec, err := workload.DecodeRecord(r.Value)
	if err != nil {
		return -1
	}
	return rec.Seq
}
