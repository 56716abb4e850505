package workload

import (
	"reflect"
	"testing"
)

func TestGenerateNumbersEachKeyFromZeroAndRepeatsForASeed(t *testing.T) {
	recs := Generate(3, 1000, 7)
	if !reflect.DeepEqual(recs, Generate(3, 1000, 7)) {
		t.Fatal("same seed, different workload")
	}
	next := map[string]int64{}
	for i, r := range recs {
		if r.Seq != int64(i) || r.KeySeq != next[r.Key] {
			t.Fatalf("record %d: %+v, want key sequence %d", i, r, next[r.Key])
		}
		next[r.Key]++
	}
	if len(next) != 7 {
		t.Fatalf("want 7 keys used, got %d", len(next))
	}
}

func TestRecordsAndEntriesDecodeWhatWasEncoded(t *testing.T) {
	r := Record{Seq: 42, Key: "k0007", KeySeq: 3}
	if got, err := DecodeRecord(EncodeRecord(r)); err != nil || got != r {
		t.Fatalf("record: %+v, %v", got, err)
	}
	e := Entry{Record: r, Worker: "w2", Incarnation: 4, Outcome: DeadLettered, Attempts: 5}
	if got, err := DecodeEntry(EncodeEntry(e)); err != nil || got != e {
		t.Fatalf("entry: %+v, %v", got, err)
	}
	// A share group's delivery count travels as an eighth field.
	e.Delivery = 3
	if got, err := DecodeEntry(EncodeEntry(e)); err != nil || got != e {
		t.Fatalf("entry with a delivery count: %+v, %v", got, err)
	}
	if _, err := DecodeRecord([]byte("42 k1")); err == nil {
		t.Fatal("a truncated record must not decode")
	}
}
