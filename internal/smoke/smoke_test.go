package smoke

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/testkit"
)

const (
	partitions = 12
	records    = 100_000
)

func TestRealBrokerProduceConsumeCommitAndKcatAgree(t *testing.T) {
	seeds := testkit.Brokers(t)
	topic := testkit.Topic(t, seeds, partitions)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Produce 100k keyed records; every promise must succeed.
	prod := testkit.Client(t, seeds, kgo.DefaultProduceTopic(topic))
	var failed int
	errs := make(chan error, 1)
	for i := 0; i < records; i++ {
		r := &kgo.Record{Key: []byte("k" + strconv.Itoa(i%1000)), Value: []byte(strconv.Itoa(i))}
		prod.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed++ // promises run serially: no lock needed
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if failed > 0 {
		t.Fatalf("%d produce failures, first: %v", failed, <-errs)
	}

	adm := testkit.Admin(t, seeds)
	ends, err := kafka.Ends(ctx, adm, topic)
	if err != nil {
		t.Fatal(err)
	}
	endSum, perPartEnd := ends.Sum(), ends[topic]
	if endSum != records || len(perPartEnd) != partitions {
		t.Fatalf("end offsets: sum %d over %d partitions, want %d over %d", endSum, len(perPartEnd), records, partitions)
	}

	// Consume everything in a group, committing as we go.
	group := topic + "-g"
	cons := testkit.Client(t, seeds, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	seen := make(map[string]bool, records)
	for len(seen) < records {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d before timeout", len(seen), records)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if seen[string(r.Value)] {
				t.Fatalf("value %s consumed twice", r.Value)
			}
			seen[string(r.Value)] = true
		})
		if err := cons.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}

	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if err := committed.Error(); err != nil {
		t.Fatal(err)
	}
	for p, end := range perPartEnd {
		c, ok := committed.Lookup(topic, p)
		if !ok || c.At != end {
			t.Errorf("partition %d: committed %v (found %v), want end offset %d", p, c.At, ok, end)
		}
	}

	// kcat, an independent client (librdkafka), must read the same counts.
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not installed (apt-get install kcat): the independent check cannot run")
	}
	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(seeds, ","), "-t", topic,
		"-o", "beginning", "-e", "-q", "-f", "%p %o\n").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	perPart := map[int32]int64{}
	var n int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var p int32
		var o int64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &p, &o); err != nil {
			t.Fatalf("kcat line %q: %v", sc.Text(), err)
		}
		perPart[p]++
		n++
	}
	if n != records {
		t.Fatalf("kcat read %d records, want %d", n, records)
	}
	for p, end := range perPartEnd {
		if perPart[p] != end {
			t.Errorf("kcat partition %d: %d records, want %d", p, perPart[p], end)
		}
	}
}
