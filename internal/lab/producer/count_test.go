package producer

import (
	"fmt"
	"reflect"
	"testing"
)

// stream builds producer p's records 0..n-1 over keys, all with status st.
func stream(p, n, keys int, st Status) []Sent {
	next := map[int]int{}
	var out []Sent
	for i := 0; i < n; i++ {
		k := i % keys
		out = append(out, Sent{ID: ID{p, i}, Key: k, Seq: next[k], Status: st})
		next[k]++
	}
	return out
}

// written lays sent out in the topic in send order, key k in partition k%2.
func written(sent []Sent) []Got {
	off := map[int32]int64{}
	var out []Got
	for _, s := range sent {
		p := int32(s.Key % 2)
		out = append(out, Got{ID: s.ID, Key: s.Key, Seq: s.Seq, Partition: p, Offset: off[p]})
		off[p]++
	}
	return out
}

func without(got []Got, drop ...ID) []Got {
	var out []Got
	for _, g := range got {
		keep := true
		for _, d := range drop {
			if g.ID == d {
				keep = false
			}
		}
		if keep {
			out = append(out, g)
		}
	}
	return out
}

func TestCountCleanRunIsAllZero(t *testing.T) {
	sent := append(stream(0, 20, 3, Acked), stream(1, 20, 3, Acked)...)
	c := Count(sent, written(sent))
	want := Counts{Sent: 40, Acked: 40, Records: 40, Distinct: 40}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

func TestCountAckedButMissingIsLostAndGapsAreNotReorders(t *testing.T) {
	sent := stream(0, 10, 2, Acked)
	got := without(written(sent), ID{0, 4}, ID{0, 5})
	c := Count(sent, got)
	if c.Lost != 2 || c.Reordered != 0 || c.Duplicated != 0 {
		t.Fatalf("lost %d reordered %d dup %d, want 2 0 0", c.Lost, c.Reordered, c.Duplicated)
	}
}

func TestCountFailedOrUnansweredMissingIsNotLost(t *testing.T) {
	sent := stream(0, 6, 1, Acked)
	sent[2].Status, sent[2].Err = Failed, "NOT_ENOUGH_REPLICAS"
	sent[3].Status = Unreported
	got := without(written(sent), ID{0, 2}, ID{0, 3})
	c := Count(sent, got)
	if c.Lost != 0 || c.Failed != 1 || c.Unreported != 1 || c.FailedPresent != 0 {
		t.Fatalf("%+v", c)
	}
	if c.Errors["NOT_ENOUGH_REPLICAS"] != 1 {
		t.Fatalf("errors %v", c.Errors)
	}
}

func TestCountFailedButWritten(t *testing.T) {
	sent := stream(0, 6, 1, Acked)
	sent[1].Status, sent[1].Err = Failed, "record delivery timeout"
	sent[4].Status = Unreported
	c := Count(sent, written(sent))
	if c.FailedPresent != 1 || c.UnreportedPresent != 1 || c.Lost != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestCountDuplicateCopiesAreNotReorders(t *testing.T) {
	sent := stream(0, 6, 1, Acked)
	got := written(sent)
	// A retried request that had landed: records 2 and 3 written again
	// after 5, as a non-idempotent retry does.
	dup := []Got{{ID: ID{0, 2}, Key: 0, Seq: 2, Partition: 0, Offset: 6}, {ID: ID{0, 3}, Key: 0, Seq: 3, Partition: 0, Offset: 7}}
	c := Count(sent, append(got, dup...))
	if c.Duplicated != 2 || c.Reordered != 0 || c.Records != 8 || c.Distinct != 6 {
		t.Fatalf("%+v", c)
	}
}

func TestCountReorderWithinAKeyOnly(t *testing.T) {
	// Key 0 gets seq 0, 2, 1 (a retried batch landing after a later one);
	// key 1's records interleave but stay in order.
	sent := []Sent{
		{ID: ID{0, 0}, Key: 0, Seq: 0, Status: Acked}, {ID: ID{0, 1}, Key: 1, Seq: 0, Status: Acked},
		{ID: ID{0, 2}, Key: 0, Seq: 1, Status: Acked}, {ID: ID{0, 3}, Key: 0, Seq: 2, Status: Acked},
		{ID: ID{0, 4}, Key: 1, Seq: 1, Status: Acked},
	}
	got := []Got{
		{ID: ID{0, 0}, Key: 0, Seq: 0, Partition: 0, Offset: 0},
		{ID: ID{0, 3}, Key: 0, Seq: 2, Partition: 0, Offset: 1},
		{ID: ID{0, 2}, Key: 0, Seq: 1, Partition: 0, Offset: 2},
		{ID: ID{0, 1}, Key: 1, Seq: 0, Partition: 1, Offset: 0},
		{ID: ID{0, 4}, Key: 1, Seq: 1, Partition: 1, Offset: 1},
	}
	c := Count(sent, got)
	if c.Reordered != 1 || c.Lost != 0 || c.Duplicated != 0 {
		t.Fatalf("%+v", c)
	}
	// The same key of another producer is another order: no reorder.
	sent2 := append(sent, Sent{ID: ID{1, 0}, Key: 0, Seq: 0, Status: Acked})
	got2 := append(got, Got{ID: ID{1, 0}, Key: 0, Seq: 0, Partition: 0, Offset: 3})
	if c := Count(sent2, got2); c.Reordered != 1 {
		t.Fatalf("other producer's key counted as reorder: %+v", c)
	}
}

func TestCountSortsByOffsetWithinPartition(t *testing.T) {
	sent := stream(0, 4, 1, Acked)
	got := written(sent)
	got[0], got[3] = got[3], got[0] // read order shuffled, offsets unchanged
	if c := Count(sent, got); c.Reordered != 0 {
		t.Fatalf("reordered %d from read order alone", c.Reordered)
	}
}

func TestCountUnknownRecords(t *testing.T) {
	sent := stream(0, 2, 1, Acked)
	got := append(written(sent), Got{ID: ID{-1, 9}, Partition: 0, Offset: 9})
	if c := Count(sent, got); c.Unknown != 1 || c.Distinct != 2 {
		t.Fatalf("%+v", c)
	}
}

func TestValueRoundTrips(t *testing.T) {
	v := Value(ID{3, 12345}, 17, 99, 100)
	if len(v) != 100 {
		t.Fatalf("len %d", len(v))
	}
	id, k, s, err := ParseValue(v)
	if err != nil || id != (ID{3, 12345}) || k != 17 || s != 99 {
		t.Fatalf("%v %d %d %v", id, k, s, err)
	}
	if _, _, _, err := ParseValue([]byte("hello")); err == nil {
		t.Fatal("foreign value parsed")
	}
}

// The seed fixes every record's key, the cell's seed and the rolling
// order: checked against values computed once and written down here, so a
// change of the derivation fails (a call compared with itself could not),
// and against other seeds and names, which must move them.
func TestRecordsAreAFunctionOfTheSeed(t *testing.T) {
	var keys []int
	for i := 0; i < 8; i++ {
		keys = append(keys, keyOf(7, 1, i, 32))
	}
	if want := []int{14, 20, 16, 12, 28, 10, 22, 25}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("seed 7's first keys %v, want %v", keys, want)
	}
	same := 0
	for i := 0; i < 100; i++ {
		if keyOf(7, 1, i, 32) == keyOf(8, 1, i, 32) {
			same++
		}
	}
	if same > 20 {
		t.Fatalf("seeds 7 and 8 agree on %d of 100 keys", same)
	}
	if got := CellSeed(1, "acks1-if5/leader-kill"); got != 1387414507984703325 {
		t.Fatalf("cell seed %d, want %d", got, int64(1387414507984703325))
	}
	if CellSeed(1, "acks1-if5/leader-kill") == CellSeed(1, "acks1-if5/freeze") || CellSeed(1, "acks1-if5/leader-kill") == CellSeed(2, "acks1-if5/leader-kill") {
		t.Fatal("cell seed must move with the seed and the cell name")
	}
	if got := rollingOrder(5, []int{1, 2, 3}); !reflect.DeepEqual(got, []int{2, 1, 3}) {
		t.Fatalf("rolling order %v", got)
	}
	orders := map[string]bool{}
	for seed := int64(0); seed < 20; seed++ {
		orders[fmt.Sprint(rollingOrder(seed, []int{1, 2, 3}))] = true
	}
	if len(orders) < 4 {
		t.Fatalf("20 seeds gave only %d rolling orders", len(orders))
	}
}

// The loss rule: an acknowledged record is lost only when no reader saw
// it; one seen by some readers and not others is a disagreement, counted
// apart; acks=0 records are written, never acknowledged, never lost.
func TestLossRule(t *testing.T) {
	id := ID{0, 0}
	seen := map[ID]bool{id: true}
	none := map[ID]bool{}
	for _, tc := range []struct {
		name                 string
		status               Status
		franz, kcat, cons    bool
		kcatRan              bool
		lost, unseen, disagr int
	}{
		{"acked, seen by all three", Acked, true, true, true, true, 0, 0, 0},
		{"acked, seen by none", Acked, false, false, false, true, 1, 0, 0},
		{"acked, seen by franz-go only", Acked, true, false, false, true, 0, 0, 1},
		{"acked, seen by kcat only", Acked, false, true, false, true, 0, 0, 1},
		{"acked, seen by the consumer only", Acked, false, false, true, true, 0, 0, 1},
		{"acked, seen by franz-go and the consumer, kcat did not run", Acked, true, false, true, false, 0, 0, 0},
		{"acked, seen by none, kcat did not run", Acked, false, false, false, false, 1, 0, 0},
		{"acks=0 written, seen by none", Written, false, false, false, true, 0, 1, 0},
		{"acks=0 written, seen by kcat only", Written, false, true, false, true, 0, 0, 1},
		{"failed, seen by none", Failed, false, false, false, true, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := []Sent{{ID: id, Status: tc.status, Err: "x"}}
			var got []Got
			if tc.franz {
				got = []Got{{ID: id}}
			}
			pick := func(b bool) map[ID]bool {
				if b {
					return seen
				}
				return none
			}
			c := Count(sent, got, Reader{Name: ReaderKcat, Ran: tc.kcatRan, Seen: pick(tc.kcat)}, Reader{Name: ReaderConsumer, Ran: true, Seen: pick(tc.cons)})
			if c.Lost != tc.lost || c.Unseen != tc.unseen || c.Disagreed != tc.disagr {
				t.Fatalf("lost %d unseen %d disagreed %d, want %d %d %d", c.Lost, c.Unseen, c.Disagreed, tc.lost, tc.unseen, tc.disagr)
			}
			if tc.status == Written && c.Acked != 0 {
				t.Fatalf("an acks=0 record counted as acknowledged: %+v", c)
			}
		})
	}
}

// Each pair of readers says what one saw and the other did not.
func TestDisagreementsPerReaderPair(t *testing.T) {
	sent := stream(0, 5, 1, Acked)
	sent[4].Status = Unreported
	franz := map[ID]bool{{0, 0}: true, {0, 1}: true, {0, 2}: true}
	kcat := map[ID]bool{{0, 0}: true, {0, 1}: true, {0, 2}: true, {0, 3}: true, {0, 4}: true}
	cons := map[ID]bool{{0, 0}: true, {0, 1}: true}
	ds := Disagreements(sent, Reader{ReaderFranzGo, true, franz}, Reader{ReaderKcat, true, kcat}, Reader{ReaderConsumer, true, cons})
	r := Reads{Disagreements: ds}
	if d := r.Between(ReaderKcat, ReaderFranzGo); d.Records != 2 || d.Acked != 1 || !reflect.DeepEqual(d.Examples, []string{"0/3", "0/4"}) {
		t.Errorf("kcat over franz-go: %+v", d)
	}
	if d := r.Between(ReaderFranzGo, ReaderConsumer); d.Records != 1 || d.Acked != 1 {
		t.Errorf("franz-go over consumer: %+v", d)
	}
	if d := r.Between(ReaderFranzGo, ReaderKcat); d.Records != 0 {
		t.Errorf("franz-go over kcat: %+v", d)
	}
	if len(ds) != 3 {
		t.Errorf("want 3 disagreeing pairs (kcat>franz-go, kcat>consumer, franz-go>consumer), got %+v", ds)
	}
	if ds := Disagreements(sent, Reader{ReaderFranzGo, true, franz}, Reader{ReaderKcat, false, nil}); len(ds) != 0 {
		t.Errorf("a reader that did not run disagreed: %+v", ds)
	}
}
