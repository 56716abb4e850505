package producer

import (
	"fmt"
	"sort"
	"strings"
)

// ID is one record's identity: the producer that sent it and its index in
// that producer's stream. Key and Seq follow from them and the seed.
type ID struct {
	Producer int
	Index    int
}

// Status is what the producer was told about a record.
type Status uint8

const (
	// Unreported: no answer before the flush deadline.
	Unreported Status = iota
	// Acked: the produce promise returned nil. Under acks=0 that only means
	// the client wrote the request to the socket: no acknowledgement exists.
	Acked
	// Failed: the promise returned an error (the producer gave up).
	Failed
)

// Sent is one record as the producer sent it, with what it was told.
type Sent struct {
	ID
	Key    int
	Seq    int // per (producer, key), from 0
	Status Status
	Err    string // Failed only
}

// Got is one record read back from the topic.
type Got struct {
	ID
	Key       int
	Seq       int
	Partition int32
	Offset    int64
}

// Counts compares what the producers were told with what the topic holds.
type Counts struct {
	Sent       int `json:"sent"`
	Acked      int `json:"acked"`
	Failed     int `json:"failed"`
	Unreported int `json:"unreported"`
	// Records is every record in the topic, Distinct the identities among them.
	Records  int `json:"records"`
	Distinct int `json:"distinct"`
	// AckedLost: acknowledged, not in the topic.
	AckedLost int `json:"acked_lost"`
	// Duplicated: copies beyond the first of one identity.
	Duplicated int `json:"duplicated"`
	// Reordered: a first copy that lands after the first copy of a later
	// record of the same producer and key (a key lives in one partition,
	// so offset order is the order a consumer sees). Gaps are not reorders.
	Reordered int `json:"reordered"`
	// FailedPresent: the producer was told the record failed, yet it is
	// in the topic (a retry the client gave up on had landed).
	FailedPresent int `json:"failed_present"`
	// UnreportedPresent: never answered, in the topic anyway.
	UnreportedPresent int `json:"unreported_present"`
	// Unknown: records in the topic no producer of this cell sent.
	Unknown int `json:"unknown"`
	// Errors counts the producer's errors for failed records, by error.
	Errors map[string]int `json:"errors,omitempty"`
}

// Count compares sent with got. got must be in (partition, offset) order
// within each partition; Count sorts a copy to be sure.
func Count(sent []Sent, got []Got) Counts {
	c := Counts{Sent: len(sent), Records: len(got)}
	status := make(map[ID]Status, len(sent))
	for _, s := range sent {
		status[s.ID] = s.Status
		switch s.Status {
		case Acked:
			c.Acked++
		case Failed:
			c.Failed++
			if c.Errors == nil {
				c.Errors = map[string]int{}
			}
			c.Errors[s.Err]++
		default:
			c.Unreported++
		}
	}
	g := append([]Got(nil), got...)
	sort.SliceStable(g, func(i, j int) bool {
		if g[i].Partition != g[j].Partition {
			return g[i].Partition < g[j].Partition
		}
		return g[i].Offset < g[j].Offset
	})
	seen := make(map[ID]bool, len(g))
	type pk struct{ producer, key int }
	highest := map[pk]int{}
	for _, r := range g {
		if _, ok := status[r.ID]; !ok {
			c.Unknown++
			continue
		}
		if seen[r.ID] {
			c.Duplicated++
			continue
		}
		seen[r.ID] = true
		k := pk{r.Producer, r.Key}
		if h, ok := highest[k]; ok && r.Seq < h {
			c.Reordered++
		} else {
			highest[k] = r.Seq
		}
	}
	c.Distinct = len(seen)
	for _, s := range sent {
		switch {
		case s.Status == Acked && !seen[s.ID]:
			c.AckedLost++
		case s.Status == Failed && seen[s.ID]:
			c.FailedPresent++
		case s.Status == Unreported && seen[s.ID]:
			c.UnreportedPresent++
		}
	}
	return c
}

// Value is a record's value: text, so kcat and any console consumer can
// read it, padded to size bytes.
func Value(id ID, key, seq, size int) []byte {
	v := fmt.Sprintf("lp p=%d i=%d k=%d s=%d ", id.Producer, id.Index, key, seq)
	if pad := size - len(v); pad > 0 {
		v += strings.Repeat(".", pad)
	}
	return []byte(v)
}

// Key is a record's key.
func Key(key int) []byte { return fmt.Appendf(nil, "k%04d", key) }

// ParseValue reads a record's identity back from its value.
func ParseValue(v []byte) (id ID, key, seq int, err error) {
	s := string(v)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	if _, err = fmt.Sscanf(s, "lp p=%d i=%d k=%d s=%d", &id.Producer, &id.Index, &key, &seq); err != nil {
		return ID{}, 0, 0, fmt.Errorf("not a lab-producer value: %q", trunc(string(v), 40))
	}
	return id, key, seq, nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
