package parallel

import (
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A spent key lane stays under its key, idle, so the key's next record
// reuses it (queued once, no new lane); a partition keeps at most
// maxIdleLanes idle lanes, and none whose buffer grew large.
func TestSpentKeyLanesAreReusedByTheirKeyAndBounded(t *testing.T) {
	p := &partition{lanes: map[string]*keyLane{}}
	var ready []runnable
	spend := func(l *keyLane) {
		clear(l.recs)
		l.recs = l.recs[:0]
		p.spent(l)
	}
	first := map[string]*keyLane{}
	for i := range maxIdleLanes + 500 {
		k := "k" + strconv.Itoa(i)
		p.addOrdered([]byte(k), &kgo.Record{Key: []byte(k)}, &ready)
		first[k] = ready[len(ready)-1].(*keyLane)
	}
	if len(ready) != maxIdleLanes+500 {
		t.Fatalf("%d lanes queued for %d new keys", len(ready), maxIdleLanes+500)
	}
	for _, r := range ready {
		spend(r.(*keyLane))
	}
	if len(p.lanes) != maxIdleLanes || p.idleLanes != maxIdleLanes {
		t.Fatalf("after %d keys spent: %d lanes kept, %d counted idle; want %d", maxIdleLanes+500, len(p.lanes), p.idleLanes, maxIdleLanes)
	}

	ready = ready[:0]
	p.addOrdered([]byte("k0"), &kgo.Record{}, &ready)
	p.addOrdered([]byte("k0"), &kgo.Record{}, &ready)
	if len(ready) != 1 || ready[0].(*keyLane) != first["k0"] {
		t.Fatalf("an idle key's next records: %d lanes queued (the same lane: %v), want its own lane once", len(ready), len(ready) > 0 && ready[0].(*keyLane) == first["k0"])
	}
	if l := first["k0"]; !l.busy || len(l.recs) != 2 || p.idleLanes != maxIdleLanes-1 {
		t.Fatalf("reused lane: busy %v, %d records, %d idle; want busy, 2, %d", l.busy, len(l.recs), p.idleLanes, maxIdleLanes-1)
	}

	// A lane whose buffer grew past 64 records leaves the map when spent.
	l := first["k0"]
	for range 100 {
		p.addOrdered([]byte("k0"), &kgo.Record{}, &ready)
	}
	spend(l)
	if _, kept := p.lanes["k0"]; kept || p.idleLanes != maxIdleLanes-1 {
		t.Fatalf("a lane with a %d-record buffer was kept idle (%d idle)", cap(l.recs), p.idleLanes)
	}
}
