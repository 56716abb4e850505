package producer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/proc"
)

// The readers a cell compares, by the names its counts use.
const (
	ReaderFranzGo  = "franz-go"
	ReaderKcat     = "kcat"
	ReaderConsumer = "consumer"
)

// readStall bounds a settled read that makes no progress: one that has not
// reached a partition's end by then stopped early, and says where.
const readStall = 30 * time.Second

// Reads is how the settled topic was read: by franz-go and by kcat, both to
// the same high watermarks, compared with each other and with the parallel
// consumer that read during the fault.
type Reads struct {
	// Ends are the high watermarks per partition (index = partition) both
	// reads went to, unchanged for a second before they started.
	Ends []int64 `json:"ends"`
	// FranzGo and Kcat are where each read got to per partition: the
	// offset after the last record it returned below Ends. Short of Ends
	// means the read stopped early.
	FranzGo []int64 `json:"franz_go_reached"`
	Kcat    []int64 `json:"kcat_reached,omitempty"`
	// Repeated: the first round's readers disagreed, so the high watermarks
	// were settled again and both reads done once more; FirstEnds and First
	// are that first round's ends and disagreements. The counts are the
	// second round's.
	Repeated  bool           `json:"repeated"`
	FirstEnds []int64        `json:"first_round_ends,omitempty"`
	First     []Disagreement `json:"first_round,omitempty"`
	// Note: the settled ends were read while the replicas still held
	// different numbers of bytes (after 30 s of waiting), and where.
	Note string `json:"note,omitempty"`
	// Disagreements: for every pair of readers that ran, what one saw and
	// the other did not (pairs that agree are left out).
	Disagreements []Disagreement `json:"disagreements"`
}

// Between is the disagreement of seen over notSeen, zero when they agree.
func (r Reads) Between(seen, notSeen string) Disagreement {
	for _, d := range r.Disagreements {
		if d.Seen == seen && d.NotSeen == notSeen {
			return d
		}
	}
	return Disagreement{Seen: seen, NotSeen: notSeen}
}

// endsSlice lays a partition -> offset map out by partition.
func endsSlice(m map[int32]int64, partitions int) []int64 {
	out := make([]int64, partitions)
	for p, o := range m {
		if int(p) < partitions {
			out[p] = o
		}
	}
	return out
}

// readFranzGo reads every partition from the start to ends with franz-go.
// It returns what it read and where it got per partition; a read that made
// no progress for readStall stops there rather than waiting forever.
func readFranzGo(ctx context.Context, seeds []string, topic string, ends map[int32]int64, clientOpts ...kgo.Opt) ([]Got, map[int32]int64, error) {
	var out []Got
	r := kafka.Reader{Seeds: seeds, ClientOpts: clientOpts, Stall: readStall}
	reached, err := r.Read(ctx, topic, kafka.ToEnd, ends, func(r *kgo.Record) { out = append(out, gotOf(r.Partition, r.Offset, r.Value)) })
	if err != nil && !errors.As(err, new(*kafka.StalledError)) {
		return nil, nil, fmt.Errorf("franz-go %w", err)
	}
	return out, reached, nil // a stalled read stopped early: reached says where
}

// kcatRead is kcat's read of the settled topic.
type kcatRead struct {
	ran     bool
	note    string // why it did not run or what it reported
	got     []Got
	reached map[int32]int64
}

// readKcat reads the topic again with kcat (librdkafka, an independent
// client) to the end of every partition and keeps the records below ends.
// security (librdkafka properties, the password among them) goes in a 0600
// file given with -F, never on the command line.
func readKcat(ctx context.Context, seeds []string, security map[string]string, topic string, ends map[int32]int64) kcatRead {
	bin, err := exec.LookPath("kcat")
	if err != nil {
		return kcatRead{note: "kcat not found on PATH: not cross-checked"}
	}
	kctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args := []string{bin, "-C", "-b", strings.Join(seeds, ","), "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n"}
	if security != nil {
		f, err := clientsec.WriteProperties(security, false)
		if err != nil {
			return kcatRead{note: "kcat: " + err.Error()}
		}
		defer os.Remove(f)
		args = append(args, "-F", f)
	}
	var out bytes.Buffer
	p, err := proc.Start(kctx, "kcat", args, proc.Options{Stdout: &out})
	if err == nil {
		err = p.Wait()
	}
	if err != nil {
		note := fmt.Sprintf("kcat failed: %v ", err)
		if p != nil {
			note += trunc(p.Tail(0), 200)
		}
		if strings.HasPrefix(security["sasl.mechanisms"], "SCRAM") {
			// librdkafka#4895: Kafka 4 checks the SCRAM nonce strictly.
			note += " (librdkafka before 2.6.1 cannot log in with SCRAM to Kafka 4.x; PLAIN works)"
		}
		return kcatRead{note: note}
	}
	k := kcatRead{ran: true, reached: map[int32]int64{}}
	for p := range ends {
		k.reached[p] = 0
	}
	beyond := 0
	for line := range strings.Lines(out.String()) {
		f := strings.SplitN(strings.TrimRight(line, "\r\n"), " ", 3)
		if len(f) != 3 {
			continue
		}
		p64, _ := strconv.ParseInt(f[0], 10, 32)
		p := int32(p64)
		o, _ := strconv.ParseInt(f[1], 10, 64)
		if o >= ends[p] {
			beyond++
			continue
		}
		k.got = append(k.got, gotOf(p, o, []byte(f[2])))
		k.reached[p] = max(k.reached[p], o+1)
	}
	if beyond > 0 {
		k.note = fmt.Sprintf("kcat returned %d records at or past the settled high watermarks, left out", beyond)
	}
	return k
}

// readNotes says, for one cell, what a reader of its counts should know
// about the reads: a read that stopped short of the settled ends, replicas
// still unequal, and the first round's disagreement when the reads were
// repeated. Empty when there is nothing to say.
func readNotes(c Cell) []string {
	r := c.Reads
	var out []string
	for _, rd := range []struct {
		name    string
		ran     bool
		reached []int64
	}{{ReaderFranzGo, true, r.FranzGo}, {ReaderKcat, c.Kcat.Ran, r.Kcat}} {
		var short []string
		for p := range r.Ends {
			if rd.ran && p < len(rd.reached) && rd.reached[p] < r.Ends[p] {
				short = append(short, fmt.Sprintf("partition %d at %d of %d", p, rd.reached[p], r.Ends[p]))
			}
		}
		if len(short) > 0 {
			slices.Sort(short)
			out = append(out, "the "+rd.name+" read stopped early: "+strings.Join(short, ", "))
		}
	}
	if r.Note != "" {
		out = append(out, r.Note)
	}
	if r.Repeated {
		var parts []string
		for _, d := range r.First {
			parts = append(parts, fmt.Sprintf("seen by %s but not %s: %d", d.Seen, d.NotSeen, d.Records))
		}
		var moved int64
		for p := range min(len(r.Ends), len(r.FirstEnds)) {
			moved += r.Ends[p] - r.FirstEnds[p]
		}
		out = append(out, fmt.Sprintf("the first reads disagreed (%s); settled and read again, the high watermarks had moved by %d records in all", strings.Join(parts, ", "), moved))
	}
	return out
}
