package worker

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/lab/strategy"
)

func TestParamsSurviveTheTripThroughTheSpecLine(t *testing.T) {
	p := Params{
		Config: strategy.Config{Seeds: []string{"a:1", "b:2"}, Topic: "in", DLQTopic: "dlq", Group: "g", Workers: 7, MaxPoll: 9,
			RebalanceTimeout: 1500 * time.Millisecond, Java: "/usr/bin/java", PCClasspath: "/c/libs/*:/c/harness-1"},
		LogTopic: "log", Strategy: "lib-key", Slot: "w1", Static: true, Incarnation: 3, Seed: -5,
		LatencyMin: time.Millisecond, LatencyMax: 9 * time.Millisecond, Tail: 0.02, TailLatency: 90 * time.Millisecond,
		Transient: 0.1, Permanent: 0.02, KillAfter: 123, Instant: true,
		SlowAt: 750, SlowCount: 16, SlowLatency: 6 * time.Second,
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got Params
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip changed params:\n got %+v\nwant %+v", got, p)
	}
	if err := got.Check(); err != nil {
		t.Fatalf("Check refused a usable worker: %v", err)
	}
}

func TestCheckRefusesAWorkerWithoutTopicsOrStrategy(t *testing.T) {
	good := Params{Config: strategy.Config{Seeds: []string{"a:1"}, Topic: "in", Group: "g", Workers: 16, MaxPoll: 100},
		LogTopic: "log", Strategy: "lib-key"}
	for _, edit := range []func(*Params){
		func(p *Params) { p.Topic, p.LogTopic, p.Group = "", "", "" },
		func(p *Params) { p.Strategy = "nope" },
		func(p *Params) { p.Seeds = nil },
		func(p *Params) { p.Strategy = "pc-key" },
	} {
		p := good
		edit(&p)
		if err := p.Check(); err == nil {
			t.Fatalf("Check(%+v) accepted an unusable worker", p)
		}
	}
}
