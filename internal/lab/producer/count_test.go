package producer

import (
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
	if c.AckedLost != 2 || c.Reordered != 0 || c.Duplicated != 0 {
		t.Fatalf("lost %d reordered %d dup %d, want 2 0 0", c.AckedLost, c.Reordered, c.Duplicated)
	}
}

func TestCountFailedOrUnansweredMissingIsNotLost(t *testing.T) {
	sent := stream(0, 6, 1, Acked)
	sent[2].Status, sent[2].Err = Failed, "NOT_ENOUGH_REPLICAS"
	sent[3].Status = Unreported
	got := without(written(sent), ID{0, 2}, ID{0, 3})
	c := Count(sent, got)
	if c.AckedLost != 0 || c.Failed != 1 || c.Unreported != 1 || c.FailedPresent != 0 {
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
	if c.FailedPresent != 1 || c.UnreportedPresent != 1 || c.AckedLost != 0 {
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
	if c.Reordered != 1 || c.AckedLost != 0 || c.Duplicated != 0 {
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

func TestRecordsAreAFunctionOfTheSeed(t *testing.T) {
	for i := 0; i < 100; i++ {
		if keyOf(7, 1, i, 32) != keyOf(7, 1, i, 32) {
			t.Fatal("key not stable")
		}
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
	if CellSeed(1, "acks1-if5/leader-kill") != CellSeed(1, "acks1-if5/leader-kill") ||
		CellSeed(1, "acks1-if5/leader-kill") == CellSeed(1, "acks1-if5/freeze") {
		t.Fatal("cell seed must depend on the seed and the cell name only")
	}
	if !reflect.DeepEqual(rollingOrder(5, []int{1, 2, 3}), rollingOrder(5, []int{1, 2, 3})) {
		t.Fatal("rolling order not stable")
	}
}
