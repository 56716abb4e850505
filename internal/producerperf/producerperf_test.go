package producerperf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSummaryTakesTheLastSummaryLine(t *testing.T) {
	out := `SLF4J: noise
250000 records sent, 49990.0 records/sec (7.63 MB/sec), 120.1 ms avg latency, 400.0 ms max latency.
1000000 records sent, 212539.851222 records/sec (32.43 MB/sec), 38.64 ms avg latency, 512.00 ms max latency, 21 ms 50th, 130 ms 95th, 301 ms 99th, 480 ms 99.9th.
`
	r, err := ParseSummary([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 1000000 || r.RecordsPerSec != 212539.851222 || r.MBPerSec != 32.43 || r.P50Ms != 21 || r.P999Ms != 480 || r.MaxLatencyMs != 512 {
		t.Fatalf("parsed %+v", r)
	}
}

func TestParseSummaryFailsWithoutOne(t *testing.T) {
	// A German-locale JVM prints "212539,85": that must not parse as a number.
	out := "1000 records sent, 2125,5 records/sec (0,32 MB/sec), 3,6 ms avg latency, 5,00 ms max latency, 2 ms 50th, 3 ms 95th, 4 ms 99th, 5 ms 99.9th.\n"
	if _, err := ParseSummary([]byte(out)); err != ErrNoSummary {
		t.Fatalf("got %v, want ErrNoSummary", err)
	}
}

func TestArgsCarryTheSettingsAndLocale(t *testing.T) {
	args := strings.Join(Config{Java: "java", ClassPath: "/l/*", Seeds: []string{"h:1", "h:2"}, Topic: "t", Records: 5,
		PayloadFile: "/p", Props: map[string]string{"acks": "1", "linger.ms": "5"}}.Args(), " ")
	for _, want := range []string{"-Duser.language=en -Duser.country=US -Xmx512M org.apache.kafka.tools.ProducerPerformance",
		"--num-records 5", "--throughput -1", "--payload-file /p", "bootstrap.servers=h:1,h:2 acks=1 linger.ms=5"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
}

func TestPayloadFileSkipsValuesWithLineBreaks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p")
	n, err := WritePayloadFile(p, [][]byte{[]byte("a,b"), []byte("x\ny"), []byte("c,d")})
	if err != nil || n != 1 {
		t.Fatalf("skipped %d, %v", n, err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "a,b\nc,d\n" {
		t.Fatalf("payload file %q", b)
	}
}
