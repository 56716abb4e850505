package producer

import (
	"cmp"
	"fmt"
	"slices"
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
	// Acked: the broker acknowledged the record (acks=1 or all).
	Acked
	// Failed: the promise returned an error (the producer gave up).
	Failed
	// Written: acks=0 only. The promise returned nil, which there means the
	// client wrote the request to the socket: no acknowledgement exists, so
	// such a record is "sent", never "acknowledged", and never "lost".
	Written
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
	Key, Seq  int
	Partition int32
	Offset    int64
}

// Counts compares what the producers were told with what the readers saw.
type Counts struct {
	Sent  int `json:"sent"`
	Acked int `json:"acked"`
	// Written: acks=0 records the client wrote to the socket.
	Written    int `json:"written"`
	Failed     int `json:"failed"`
	Unreported int `json:"unreported"`
	// Records is every record the franz-go read returned, Distinct the
	// identities among them.
	Records  int `json:"records"`
	Distinct int `json:"distinct"`
	// Lost: acknowledged, and seen by no reader (not the franz-go read,
	// not kcat's, not the parallel consumer that ran during the fault).
	Lost int `json:"lost"`
	// Unseen: acks=0 records written to the socket that no reader saw
	// (never acknowledged, so not Lost).
	Unseen int `json:"unseen"`
	// Disagreed: acknowledged (acks=0: written) identities that some reader
	// saw and another did not; Reads on the cell says which.
	Disagreed int `json:"disagreed"`
	// Duplicated: copies beyond the first of one identity, in the franz-go read.
	Duplicated int `json:"duplicated"`
	// Reordered: a first copy that lands after the first copy of a later
	// record of the same producer and key (a key lives in one partition,
	// so offset order is the order a consumer sees). Gaps are not reorders.
	Reordered int `json:"reordered"`
	// FailedPresent: reported failed, yet a reader saw it (a retry the
	// client gave up on had landed); UnreportedPresent: never answered,
	// seen anyway.
	FailedPresent     int `json:"failed_present"`
	UnreportedPresent int `json:"unreported_present"`
	// Unknown: records in the franz-go read no producer of this cell sent.
	Unknown int `json:"unknown"`
	// Errors counts the producer's errors for failed records, by error.
	Errors map[string]int `json:"errors,omitempty"`
}

// Reader is one reader's view of the topic: the identities it saw.
// A reader that did not run (Ran false) takes no part in the counts.
type Reader struct {
	Name string
	Ran  bool
	Seen map[ID]bool
}

// SeenIn is the set of identities in got.
func SeenIn(got []Got) map[ID]bool {
	m := make(map[ID]bool, len(got))
	for _, g := range got {
		if g.Producer >= 0 {
			m[g.ID] = true
		}
	}
	return m
}

func statusOf(sent []Sent) map[ID]Status {
	m := make(map[ID]Status, len(sent))
	for _, s := range sent {
		m[s.ID] = s.Status
	}
	return m
}

// Count compares sent with what the readers saw. got (the franz-go read)
// gives the topic's structure: records, duplicates, reorders. Presence is
// the union of every reader that ran: a record is Lost only when it was
// acknowledged and no reader saw it; one some reader saw and another did
// not is Disagreed, counted apart. Count sorts a copy of got by partition
// and offset.
func Count(sent []Sent, got []Got, readers ...Reader) Counts {
	c := Counts{Sent: len(sent), Records: len(got)}
	for _, s := range sent {
		switch s.Status {
		case Acked:
			c.Acked++
		case Written:
			c.Written++
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
	ran := []map[ID]bool{c.structure(got, statusOf(sent))}
	for _, rd := range readers {
		if rd.Ran {
			ran = append(ran, rd.Seen)
		}
	}
	for _, s := range sent {
		n := 0
		for _, m := range ran {
			if m[s.ID] {
				n++
			}
		}
		some, told := n > 0, s.Status == Acked || s.Status == Written
		switch {
		case s.Status == Acked && !some:
			c.Lost++
		case s.Status == Written && !some:
			c.Unseen++
		case s.Status == Failed && some:
			c.FailedPresent++
		case s.Status == Unreported && some:
			c.UnreportedPresent++
		}
		if told && some && n < len(ran) {
			c.Disagreed++
		}
	}
	return c
}

// structure counts the franz-go read: unknown records, duplicates and
// reorders, in (partition, offset) order. It returns the identities seen.
func (c *Counts) structure(got []Got, status map[ID]Status) map[ID]bool {
	g := slices.Clone(got)
	slices.SortStableFunc(g, func(a, b Got) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	seen := make(map[ID]bool, len(g))
	highest := map[[2]int]int{} // (producer, key) -> highest first-copy sequence
	for _, r := range g {
		_, known := status[r.ID]
		switch k := [2]int{r.Producer, r.Key}; {
		case !known:
			c.Unknown++
		case seen[r.ID]:
			c.Duplicated++
		case r.Seq < highest[k]:
			seen[r.ID] = true
			c.Reordered++
		default:
			seen[r.ID] = true
			highest[k] = r.Seq
		}
	}
	c.Distinct = len(seen)
	return seen
}

// Disagreement is what one reader saw and another did not: distinct
// identities of the cell's records.
type Disagreement struct {
	Seen    string `json:"seen_by"`
	NotSeen string `json:"not_seen_by"`
	Records int    `json:"records"`
	// Acked of them acknowledged (acks=0: written).
	Acked int `json:"acked"`
	// Examples: a few of them, as "producer/index".
	Examples []string `json:"examples,omitempty"`
}

// Disagreements compares every reader that ran with every other, in the
// order given; a pair that agrees is left out.
func Disagreements(sent []Sent, readers ...Reader) []Disagreement {
	status := statusOf(sent)
	var out []Disagreement
	for _, x := range readers {
		for _, y := range readers {
			if x.Name == y.Name || !x.Ran || !y.Ran {
				continue
			}
			d := Disagreement{Seen: x.Name, NotSeen: y.Name}
			var ids []ID
			for id := range x.Seen {
				if st, ok := status[id]; ok && !y.Seen[id] {
					d.Records++
					if st == Acked || st == Written {
						d.Acked++
					}
					ids = append(ids, id)
				}
			}
			if d.Records == 0 {
				continue
			}
			slices.SortFunc(ids, func(a, b ID) int { return cmp.Or(a.Producer-b.Producer, a.Index-b.Index) })
			for _, id := range ids[:min(5, len(ids))] {
				d.Examples = append(d.Examples, fmt.Sprintf("%d/%d", id.Producer, id.Index))
			}
			out = append(out, d)
		}
	}
	return out
}

// Value is a record's value: text, so kcat and any console consumer can
// read it, padded to size bytes.
func Value(id ID, key, seq, size int) []byte {
	v := fmt.Sprintf("lp p=%d i=%d k=%d s=%d ", id.Producer, id.Index, key, seq)
	return []byte(v + strings.Repeat(".", max(0, size-len(v))))
}

// Key is a record's key.
func Key(key int) []byte { return fmt.Appendf(nil, "k%04d", key) }

// ParseValue reads a record's identity back from its value.
func ParseValue(v []byte) (id ID, key, seq int, err error) {
	s, _, _ := strings.Cut(string(v), ".")
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
