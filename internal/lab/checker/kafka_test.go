package checker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/lab/workload"
)

// A dead letter the broker wrote (KIP-1191) counts as the input record its
// origin headers name, even with no value (copy off) or a value that names
// another record; one naming another topic or no input record is an error;
// a dead letter without them is decoded from its value.
func TestDeadRecordResolvesBrokerDLQOriginHeaders(t *testing.T) {
	in := workload.Generate(3, 10, 4)
	at := map[[2]int64]int{{1, 5}: 7}
	broker := func(topic, part, off string, value []byte) *kgo.Record {
		return &kgo.Record{Value: value, Headers: []kgo.RecordHeader{
			{Key: "__dlq.errors.topic", Value: []byte(topic)}, {Key: "__dlq.errors.partition", Value: []byte(part)},
			{Key: "__dlq.errors.offset", Value: []byte(off)}}}
	}
	for _, v := range [][]byte{nil, workload.EncodeRecord(in[2])} {
		got, err := deadRecord(broker("in", "1", "5", v), "in", in, at)
		if err != nil || got != in[7] {
			t.Errorf("value %q: got %+v, %v, want input record %+v", v, got, err, in[7])
		}
	}
	for _, r := range []*kgo.Record{broker("other", "1", "5", nil), broker("in", "1", "6", nil), broker("in", "x", "5", nil)} {
		if got, err := deadRecord(r, "in", in, at); err == nil {
			t.Errorf("headers %v: got %+v, want an error", r.Headers, got)
		}
	}
	got, err := deadRecord(&kgo.Record{Value: workload.EncodeRecord(in[4])}, "in", in, at)
	if err != nil || got != in[4] {
		t.Errorf("library dead letter: got %+v, %v, want %+v", got, err, in[4])
	}
}
