// Package workload defines the lab's verifiable records: every input record
// carries a global sequence number, a key and a per-key sequence number, and
// every processing of a record leaves one entry in the processed-log. The
// checker compares the two; nothing else is trusted.
package workload

import (
	"fmt"
	"strconv"
	"strings"
)

// Record is one input record's identity.
type Record struct {
	Seq    int64  // global, 0..N-1, unique
	Key    string // Kafka key; decides the partition
	KeySeq int64  // 0,1,2... per key, in produce order
}

// Outcome says how a processing ended.
type Outcome string

const (
	// OK: the handler succeeded (possibly after transient retries).
	OK Outcome = "ok"
	// DeadLettered: the handler failed permanently and the record was
	// written to the dead-letter topic before this entry.
	DeadLettered Outcome = "dlq"
)

// Entry is one processing of one record, as written to the processed-log.
type Entry struct {
	Record
	Worker      string  // which worker slot processed it
	Incarnation int     // which process incarnation of that slot
	Outcome     Outcome // ok or dlq
	Attempts    int     // handler attempts, 1 when no transient failure
	// Delivery is the share group's delivery count of the record when it
	// was processed (1 on first delivery, more after a release, a lock
	// timeout or a dead member); 0 for consumer-group strategies.
	Delivery int
}

// EncodeRecord is the input record's value. Text keeps the topics readable
// with any console consumer.
func EncodeRecord(r Record) []byte {
	return fmt.Appendf(nil, "%d %s %d", r.Seq, r.Key, r.KeySeq)
}

// DecodeRecord parses an input record's value.
func DecodeRecord(v []byte) (Record, error) {
	f := strings.Fields(string(v))
	if len(f) != 3 {
		return Record{}, fmt.Errorf("input record %q: want 3 fields", v)
	}
	seq, err1 := strconv.ParseInt(f[0], 10, 64)
	kseq, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return Record{}, fmt.Errorf("input record %q: bad sequence number", v)
	}
	return Record{Seq: seq, Key: f[1], KeySeq: kseq}, nil
}

// EncodeEntry is the processed-log entry's value. The delivery count is an
// eighth field only when there is one, so consumer-group entries keep the
// seven fields they always had.
func EncodeEntry(e Entry) []byte {
	b := fmt.Appendf(nil, "%d %s %d %s %d %s %d", e.Seq, e.Key, e.KeySeq, e.Worker, e.Incarnation, e.Outcome, e.Attempts)
	if e.Delivery > 0 {
		b = fmt.Appendf(b, " %d", e.Delivery)
	}
	return b
}

// DecodeEntry parses a processed-log entry's value.
func DecodeEntry(v []byte) (Entry, error) {
	f := strings.Fields(string(v))
	if len(f) != 7 && len(f) != 8 {
		return Entry{}, fmt.Errorf("processed-log entry %q: want 7 or 8 fields", v)
	}
	r, err := DecodeRecord([]byte(strings.Join(f[:3], " ")))
	if err != nil {
		return Entry{}, fmt.Errorf("processed-log entry: %w", err)
	}
	inc, err1 := strconv.Atoi(f[4])
	att, err2 := strconv.Atoi(f[6])
	if err1 != nil || err2 != nil {
		return Entry{}, fmt.Errorf("processed-log entry %q: bad number", v)
	}
	e := Entry{Record: r, Worker: f[3], Incarnation: inc, Outcome: Outcome(f[5]), Attempts: att}
	if len(f) == 8 {
		if e.Delivery, err = strconv.Atoi(f[7]); err != nil {
			return Entry{}, fmt.Errorf("processed-log entry %q: bad delivery count", v)
		}
	}
	return e, nil
}

// Generate returns n records over keys keys. The key of each record is drawn
// from seed, so the same seed gives the same workload.
func Generate(seed int64, n, keys int) []Record {
	if keys < 1 {
		keys = 1
	}
	next := make([]int64, keys)
	out := make([]Record, n)
	for i := range out {
		k := int(Uint64(seed, 1, uint64(i)) % uint64(keys))
		out[i] = Record{Seq: int64(i), Key: fmt.Sprintf("k%04d", k), KeySeq: next[k]}
		next[k]++
	}
	return out
}

// Uint64 is a stateless hash of seed and parts (splitmix64). Every random
// choice in the lab goes through it, keyed by what it decides (a record's
// latency, its attempt's failure, a crash point), so a choice does not depend
// on the order in which goroutines happen to ask.
func Uint64(seed int64, parts ...uint64) uint64 {
	x := uint64(seed)
	for _, p := range parts {
		x = mix(x ^ mix(p+0x9e3779b97f4a7c15))
	}
	return mix(x)
}

// Float is Uint64 mapped to [0,1).
func Float(seed int64, parts ...uint64) float64 {
	return float64(Uint64(seed, parts...)>>11) / (1 << 53)
}

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
