package produce

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/csvload"
	"github.com/kpar/kpar/internal/testkit"
)

func fp(v float64) *float64 { return &v }

// sweepAt is a synthetic sweep whose best step runs at best records/s.
func sweepAt(acks string, parts, size int, rates ...float64) Sweep {
	s := defaults("t")
	s.Acks, s.Idempotence = acks, acks == "all"
	sw := Sweep{Mode: "in-process", Settings: s, Partitions: parts, RecordSize: size}
	for i, r := range rates {
		sw.Steps = append(sw.Steps, Step{Producers: 1 << i, RecordsPerSec: r, ElapsedSeconds: 1, Acked: int64(r), LatencyP99Ms: float64(i + 1)})
	}
	sw.Label = SweepLabel(s, parts, size)
	return sw
}

func TestCeilingStopsWhereMorePartitionsAddUnderTenPercent(t *testing.T) {
	sweeps := []Sweep{
		sweepAt("all", 1, 0, 100, 110), sweepAt("all", 3, 0, 150, 250), sweepAt("all", 12, 0, 300, 420),
		sweepAt("all", 48, 0, 400, 440),
	}
	cs := FindCeilings(sweeps)
	if len(cs) != 1 || len(cs[0].Points) != 4 {
		t.Fatalf("ceilings %+v", cs)
	}
	c := cs[0]
	if c.StopsAt != 12 || c.NextPartitions != 48 || c.Points[2].Producers != 2 {
		t.Fatalf("stops at %d next %d (%+v), want 12 then 48", c.StopsAt, c.NextPartitions, c.Points)
	}
	for _, want := range []string{"from 110 records/s at 1 partition to 440 at 48 partitions (4.00x)", "It stops moving at 12 partitions: no larger count beat it by 10% or more (against 12: 48: +5%)."} {
		if !strings.Contains(c.Sentence, want) {
			t.Errorf("sentence %q lacks %q", c.Sentence, want)
		}
	}
	if strings.Contains(c.Sentence, "cost throughput") {
		t.Errorf("no drop, yet: %s", c.Sentence)
	}
	// A noisy dip (3 below 1) does not end the climb; a fall after the
	// top is named.
	dip := FindCeilings([]Sweep{sweepAt("all", 1, 0, 200), sweepAt("all", 3, 0, 190), sweepAt("all", 6, 0, 400), sweepAt("all", 12, 0, 410), sweepAt("all", 48, 0, 250)})[0]
	if dip.StopsAt != 6 || !strings.Contains(dip.Sentence, "(against 6: 12: +2%, 48: -38%). More partitions than that cost throughput here: 48 ran at 0.61x the highest.") {
		t.Fatalf("dip: %+v", dip)
	}
	// Changed data changes the sentence: a ceiling still rising at 48.
	sweeps[3] = sweepAt("all", 48, 0, 600, 700)
	c = FindCeilings(sweeps)[0]
	if c.StopsAt != 0 || !strings.Contains(c.Sentence, "still moving at the largest count: 48 added +66.7% over 12") {
		t.Fatalf("still rising: %+v", c)
	}
	// One partition count per group: no ceiling to follow; sizes group apart.
	if got := FindCeilings([]Sweep{sweepAt("all", 12, 0, 1), sweepAt("all", 12, 1000, 1)}); len(got) != 0 {
		t.Fatalf("single counts gave ceilings %+v", got)
	}
	if got := FindCeilings([]Sweep{sweepAt("all", 1, 0, 1), sweepAt("all", 3, 1000, 1), sweepAt("all", 3, 0, 2)}); len(got) != 1 || got[0].RecordSize != 0 {
		t.Fatalf("sizes mixed into one ceiling: %+v", got)
	}
}

func TestAcksCostPairsSweepsThatDifferOnlyInAcks(t *testing.T) {
	sweeps := []Sweep{sweepAt("1", 12, 0, 200, 300), sweepAt("all", 12, 0, 100, 240), sweepAt("all", 3, 0, 50, 60)}
	cs := FindAcksCosts(sweeps, 3)
	if len(cs) != 1 {
		t.Fatalf("acks costs %+v, want the 12-partition pair only", cs)
	}
	c := cs[0]
	if c.MinRatio != 0.5 || c.MaxRatio != 0.8 || len(c.Points) != 2 || c.ReplicationFactor != 3 {
		t.Fatalf("cost %+v", c)
	}
	for _, want := range []string{"At RF 3, acks=all (which waits for every in-sync replica) ran at 0.50x to 0.80x", "0.50x at 1 producer (100 vs 200 records/s", "0.80x at 2 (240 vs 300"} {
		if !strings.Contains(c.Sentence, want) {
			t.Errorf("sentence %q lacks %q", c.Sentence, want)
		}
	}
	if strings.Contains(c.Label, "acks=") || strings.Contains(c.Label, "idem") {
		t.Errorf("label %q names what differs", c.Label)
	}
	if one := FindAcksCosts(sweeps, 1)[0]; !strings.Contains(one.Sentence, "no follower to wait for at RF 1") {
		t.Errorf("RF 1 sentence: %s", one.Sentence)
	}
}

func TestCoresSayWhichPinnedSideFilledFirst(t *testing.T) {
	pin := Pin{Broker: []int{0}, Bench: []int{1}}
	step := func(n int, broker, bench float64, cores ...float64) Step {
		return Step{Producers: n, ElapsedSeconds: 2, BrokerCPUSeconds: fp(2 * broker), BenchCPUSeconds: 2 * bench, CoreBusySeconds: cores}
	}
	v := FindCores([]Step{step(4, 0.95, 0.5, 2, 1.2), step(1, 0.4, 0.3, 1, 1), step(2, 0.9, 0.88, 1.9, 1.9)}, pin)
	if v.First != "both" || v.Producers != 2 {
		t.Fatalf("got %s at %d, want both at 2 (%s)", v.First, v.Producers, v.Reason)
	}
	v = FindCores([]Step{step(1, 0.5, 0.3, 1, 1), step(2, 0.9, 0.6, 1.8, 1.2)}, pin)
	if v.First != "broker" || !strings.Contains(v.Reason, "the broker's CPU 0 filled first: 0.90 of it at 2 producers, while the client used 0.60 of CPU 1") {
		t.Fatalf("broker first: %+v", v)
	}
	v = FindCores([]Step{step(1, 0.3, 0.95, 0.6, 1.9)}, pin)
	if v.First != "client" || !strings.Contains(v.Reason, "the client's CPU 1 filled first: 0.95 of it at 1 producer") {
		t.Fatalf("client first: %+v", v)
	}
	// Neither side full on its own, but another process fills CPU 0.
	v = FindCores([]Step{step(4, 0.4, 0.5, 1.0, 1.0), step(8, 0.4, 0.5, 1.96, 1.0)}, pin)
	if v.First != "others" || v.Producers != 8 || !strings.Contains(v.Reason, "at 8 producers CPU 0 was 0.98 busy, the broker's own share 0.40; CPU 1 0.50 busy, the client's 0.50; other processes took the rest") {
		t.Fatalf("others: %+v", v)
	}
	v = FindCores([]Step{step(8, 0.4, 0.5, 1.2, 1.0)}, pin)
	if v.First != "neither" || !strings.Contains(v.Reason, "broker used 0.40 of CPU 0 (CPU 0 was 0.60 busy counting other processes) and the client 0.50 of CPU 1") {
		t.Fatalf("neither: %+v", v)
	}
}

func TestKcatVerdictFollowsTheFigures(t *testing.T) {
	k := KcatComparison{Versus: Versus{Go: Anchor{Sample: Sample{Acked: 1_000_000}, ProcessCPUSeconds: 2, WallSeconds: 4}},
		Kcat: KcatResult{Records: 1_000_000, CPUSeconds: 3, WallSeconds: 5}}
	k.Compute()
	if k.GoRecordsPerSec != 250_000 || k.KcatRecordsPerSec != 200_000 || k.RecordsPerSecRatio != 1.25 || k.GoCPUPerMillion != 2 || k.KcatCPUPerMillion != 3 {
		t.Fatalf("figures %+v", k)
	}
	if !k.TargetMet || !strings.Contains(k.Verdict, "1.25x kcat's records/s with 0.67x its CPU-s per million records") || !strings.Contains(k.Verdict, "the target is met (1 of 1)") {
		t.Fatalf("verdict %q met=%v", k.Verdict, k.TargetMet)
	}
	cases := []struct {
		goWall, goCPU float64
		want          string
	}{
		{6, 2, "the rate was past 1.0x in 0 of 1 repeats and the CPU within 1.0x in 1 of 1: the target is missed (0 of 1)"},
		{4, 4, "the rate was past 1.0x in 1 of 1 repeats and the CPU within 1.0x in 0 of 1: the target is missed (0 of 1)"},
		{6, 4, "the rate was past 1.0x in 0 of 1 repeats and the CPU within 1.0x in 0 of 1: the target is missed (0 of 1)"},
	}
	for _, tc := range cases {
		k.Go.WallSeconds, k.Go.ProcessCPUSeconds = tc.goWall, tc.goCPU
		k.Compute()
		if k.TargetMet || !strings.Contains(k.Verdict, tc.want) {
			t.Errorf("wall %v cpu %v: %q met=%v, want %q", tc.goWall, tc.goCPU, k.Verdict, k.TargetMet, tc.want)
		}
	}
}

// Over repeats the kcat target is met only when every repeat met it, missed
// when none did, mixed with the counts otherwise; the median repeat's
// verdict alone (the old rule) called the mixed case met.
func TestKcatTargetOverRepeatsIsMetOnlyWhenEveryRepeatIs(t *testing.T) {
	met := KcatRepeat{GoRecordsPerSec: 2, KcatRecordsPerSec: 1, GoCPUPerMillion: 1, KcatCPUPerMillion: 2}
	slow := KcatRepeat{GoRecordsPerSec: 1, KcatRecordsPerSec: 2, GoCPUPerMillion: 1, KcatCPUPerMillion: 2}
	costly := KcatRepeat{GoRecordsPerSec: 2, KcatRecordsPerSec: 1, GoCPUPerMillion: 3, KcatCPUPerMillion: 2}
	cases := []struct {
		reps []KcatRepeat
		word string
		all  bool
		tail string
	}{
		{[]KcatRepeat{met, met, met}, "met", true, "past 1.0x in 3 of 3 repeats and the CPU within 1.0x in 3 of 3: the target is met (3 of 3)"},
		{[]KcatRepeat{met, slow, met}, "mixed (2 of 3)", false, "past 1.0x in 2 of 3 repeats and the CPU within 1.0x in 3 of 3: the target is mixed (2 of 3)"},
		{[]KcatRepeat{met, costly, slow}, "mixed (1 of 3)", false, "past 1.0x in 2 of 3 repeats and the CPU within 1.0x in 2 of 3: the target is mixed (1 of 3)"},
		{[]KcatRepeat{slow, costly, slow}, "missed", false, "past 1.0x in 1 of 3 repeats and the CPU within 1.0x in 2 of 3: the target is missed (0 of 3)"},
	}
	for _, tc := range cases {
		// k is the median repeat and met the target on its own.
		k := KcatComparison{Versus: Versus{RecordsPerSecRatio: 2, CPUPerMillionRatio: 0.5}}
		k.judge(append([]KcatRepeat(nil), tc.reps...))
		if k.Target.Word != tc.word || k.TargetMet != tc.all || !strings.Contains(k.Verdict, tc.tail) ||
			!strings.HasPrefix(k.Verdict, "in the median of 3 repeats one kpar producer ran at 2.00x") || len(k.Repeats) != 3 || k.RepeatsMet != k.Target.Met {
			t.Errorf("%+v:\n %+v\n %q", tc.reps, k.Target, k.Verdict)
		}
	}
}

// fakeKcat writes a script standing in for kcat: it records its arguments,
// prints what it is told on stderr and exits with code.
func fakeKcat(t *testing.T, stderr string, code int) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	bin = filepath.Join(dir, "kcat")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\nprintf '" + stderr + "' >&2\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile
}

func TestKcatRunsWithTheSettingsAndCountsErrorLines(t *testing.T) {
	bin, argsFile := fakeKcat(t, "%%4|x|GETPID| retrying\\n%% ERROR: Local: Message timed out\\n%% Delivery failed for message: timed out\\n", 0)
	s := defaults("t")
	s.Acks, s.Idempotence, s.Compression, s.MaxInFlight = "1", false, "lz4", 9
	r, err := runKcat(context.Background(), KcatConfig{Bin: bin, Seeds: []string{"a:1", "b:2"}, Topic: "tp", PayloadFile: "/p.txt", Props: s.KcatProps()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 2 || r.FirstError != "% ERROR: Local: Message timed out" || r.WallSeconds <= 0 || r.CPUSeconds < 0 {
		t.Fatalf("result %+v", r)
	}
	got, _ := os.ReadFile(argsFile)
	want := strings.Join([]string{"-P", "-b", "a:1,b:2", "-t", "tp", "-l",
		"-X", "acks=1", "-X", "batch.num.messages=1000000", "-X", "batch.size=1048576", "-X", "compression.codec=lz4",
		"-X", "enable.idempotence=false", "-X", "linger.ms=5", "-X", "max.in.flight.requests.per.connection=9", "-X", "queue.buffering.max.messages=50000", "/p.txt"}, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("kcat got args\n%s\nwant\n%s", got, want)
	}
	if r.Args[0] != bin || r.Args[len(r.Args)-1] != "/p.txt" {
		t.Fatalf("recorded args %v", r.Args)
	}
	// Idempotence caps in-flight at 5, as Java's does.
	idem := defaults("t")
	idem.MaxInFlight = 9
	if v := idem.KcatProps()["max.in.flight.requests.per.connection"]; v != "5" {
		t.Fatalf("idempotent in-flight %s, want 5", v)
	}

	bin, _ = fakeKcat(t, "%% ERROR: Local: All broker connections are down\\n", 1)
	if _, err := runKcat(context.Background(), KcatConfig{Bin: bin, Topic: "tp"}); err == nil || !strings.Contains(err.Error(), "All broker connections are down") {
		t.Fatalf("failing kcat: %v", err)
	}
}

func TestKcatCPUComesFromTheProcessRusage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kcat")
	// Burn a little CPU so rusage has something to count.
	script := "#!/bin/sh\ni=0\nwhile [ $i -lt 200000 ]; do i=$((i+1)); done\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := runKcat(context.Background(), KcatConfig{Bin: bin})
	if err != nil {
		t.Fatal(err)
	}
	if r.CPUSeconds <= 0 || r.CPUSeconds > r.WallSeconds*float64(runtime.NumCPU())+0.05 {
		t.Fatalf("cpu %v wall %v", r.CPUSeconds, r.WallSeconds)
	}
}

func TestParseNetDevReadsTheLoopbackLine(t *testing.T) {
	text := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
  eth0: 999 9 0 0 0 0 0 0 888 8 0 0 0 0 0 0
    lo: 8135632416 3150889    0    0    0     0          0         0 8135632417 3150889    0    0    0     0       0          0
`
	rx, tx, ok := parseNetDev(text, "lo")
	if !ok || rx != 8135632416 || tx != 8135632417 {
		t.Fatalf("lo: %d %d %v", rx, tx, ok)
	}
	if rx, tx, ok := parseNetDev(text, "eth0"); !ok || rx != 999 || tx != 888 {
		t.Fatalf("eth0: %d %d %v", rx, tx, ok)
	}
	for _, bad := range []string{"", "lo: 1 2 3", "lo: x 0 0 0 0 0 0 0 5 0", "wlan0: 1 2 3 4 5 6 7 8 9 10"} {
		if _, _, ok := parseNetDev(bad, "lo"); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if r := read(nil); r.rx == nil || r.broker != nil || r.machine == nil || len(r.cores) == 0 {
		t.Errorf("this machine's /proc/net/dev has no lo line, or /proc/stat no cpu lines: %+v", r)
	}
}

func TestSizedValuesAreExactlyTheSizeAndMadeFromTheRows(t *testing.T) {
	d := &csvload.Dataset{Values: [][]byte{[]byte("aaaa"), []byte("bb"), []byte("cccccc")}, Keys: [][]byte{[]byte("k1"), []byte("k2"), []byte("k3")}}
	s := sized(d, 5)
	want := []string{"aaaa ", "bb cc", "ccccc"}
	for i, v := range s.Values {
		if string(v) != want[i] {
			t.Errorf("value %d = %q, want %q", i, v, want[i])
		}
	}
	if s.Bytes != 3*5+6 || &s.Keys[0][0] != &d.Keys[0][0] {
		t.Fatalf("bytes %d, keys copied?", s.Bytes)
	}
	// Larger than the whole input: wraps around to the first row.
	big := sized(d, 30)
	if string(big.Values[2]) != "cccccc aaaa bb cccccc aaaa bb " || len(big.Values[0]) != 30 {
		t.Fatalf("wrapped %q", big.Values[2])
	}
	// Appending to a value never writes into the next one.
	_ = append(s.Values[0], 'X')
	if string(s.Values[1]) != "bb cc" {
		t.Fatal("append wrote into the next value")
	}
	if recordsAt(1000, 100_000, 0, 8) != 1000 || recordsAt(1000, 100_000, 1000, 8) != 100 || recordsAt(1000, 100_000, 90_000, 8) != 8 || recordsAt(5, 100, 90_000, 8) != 5 {
		t.Fatal("recordsAt")
	}
}

func TestPinParsesAndValidates(t *testing.T) {
	p, err := ParsePin("broker=0-1+3, bench=2")
	if err != nil || cpuList(p.Broker) != "0,1,3" || cpuList(p.Bench) != "2" {
		t.Fatalf("%+v %v", p, err)
	}
	if err := p.Validate(4); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(3); err == nil || !strings.Contains(err.Error(), "CPU 3 does not exist") {
		t.Fatalf("3 cores: %v", err)
	}
	for in, want := range map[string]string{
		"broker=0,broker=1": "broker given twice", "bench=1": "name both sides", "broker=2-1,bench=0": `"2-1" is not a CPU range`,
		"broker:0,bench=1": "want broker=CPUS,bench=CPUS",
	} {
		if _, err := ParsePin(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// applyPin on a process of ours (not the broker: the test broker is shared)
// and on this test process; restore puts both back.
func TestPinMovesEveryThreadAndRestoresIt(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset")
	}
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	pid := sleeper.Process.Pid
	beforeSelf, _ := allowedCPUs(os.Getpid())
	beforeSleeper, _ := allowedCPUs(pid)
	info, restore, err := applyPin(Pin{Broker: []int{0}, Bench: []int{1}}, []int{pid})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := allowedCPUs(pid); got != "0" {
		t.Errorf("pinned sleeper on %q, want 0", got)
	}
	// Every thread of the bench, not just the main one.
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if !bytes.Contains(b, []byte("Cpus_allowed_list:\t1\n")) {
			t.Errorf("thread %s not on CPU 1", task.Name())
		}
	}
	if info.Before[pid] != beforeSleeper || info.Before[os.Getpid()] != beforeSelf || info.BenchPID != os.Getpid() {
		t.Errorf("info %+v", info)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if a, _ := allowedCPUs(pid); a != beforeSleeper {
		t.Errorf("sleeper restored to %q, want %q", a, beforeSleeper)
	}
	if a, _ := allowedCPUs(os.Getpid()); a != beforeSelf {
		t.Errorf("bench restored to %q, want %q", a, beforeSelf)
	}
	if err := restore(); err != nil {
		t.Errorf("second restore: %v", err)
	}
}

func TestTopicsForNamesOneSetPerPartitionCount(t *testing.T) {
	c := DefaultConfig()
	c.Topics = []string{"a", "b"}
	if got := c.topicsFor(12); strings.Join(got, ",") != "a,b" {
		t.Fatalf("one count: %v", got)
	}
	c.Partitions = []int{1, 12}
	if got := c.topicsFor(12); strings.Join(got, ",") != "a-p12,b-p12" {
		t.Fatalf("two counts: %v", got)
	}
}

func TestRunRefusesToPinABrokerItDidNotStart(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset")
	}
	c := runConfig(t, testkit.Kfake(t), 10, "pin")
	c.Warmup, c.Pin = 0, &Pin{Broker: []int{0}, Bench: []int{1}}
	before, _ := allowedCPUs(os.Getpid())
	_, err := Run(ctx(t), c)
	if err == nil || !strings.Contains(err.Error(), "--pin: the broker is not one 'kpar broker up' started here") {
		t.Fatalf("got %v", err)
	}
	if after, _ := allowedCPUs(os.Getpid()); after != before {
		t.Fatalf("bench CPUs %q after a refused pin, were %q", after, before)
	}
}
