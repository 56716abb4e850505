package worker

import (
	"reflect"
	"testing"
	"time"
)

func TestParamsSurviveTheTripThroughArgs(t *testing.T) {
	p := Params{
		Seeds: []string{"a:1", "b:2"}, Topic: "in", LogTopic: "log", DLQTopic: "dlq", Group: "g",
		Strategy: "lib-key", Slot: "w1", Static: true, Incarnation: 3, Workers: 7, MaxPoll: 9, Seed: -5,
		LatencyMin: time.Millisecond, LatencyMax: 9 * time.Millisecond, Tail: 0.02, TailLatency: 90 * time.Millisecond,
		Transient: 0.1, Permanent: 0.02, KillAfter: 123, Instant: true,
		SlowAt: 750, SlowCount: 16, SlowLatency: 6 * time.Second, RebalanceTimeout: 1500 * time.Millisecond,
		Java: "/usr/bin/java", PCClasspath: "/c/libs/*:/c/harness-1",
	}
	got, err := Parse(p.Args())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip changed params:\n got %+v\nwant %+v", got, p)
	}
}

func TestParseRefusesAWorkerWithoutTopicsOrStrategy(t *testing.T) {
	for _, args := range [][]string{
		{"--brokers=a:1", "--strategy=lib-key"},
		{"--brokers=a:1", "--topic=in", "--log-topic=log", "--group=g", "--strategy=nope"},
		{"--topic=in", "--log-topic=log", "--group=g", "--strategy=lib-key"},
		{"--brokers=a:1", "--topic=in", "--log-topic=log", "--group=g", "--strategy=pc-key"},
	} {
		if _, err := Parse(args); err == nil {
			t.Fatalf("Parse(%v) accepted an unusable worker", args)
		}
	}
}
