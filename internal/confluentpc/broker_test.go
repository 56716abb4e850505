package confluentpc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/testkit"
)

// TestRealBrokerKeyOrderProcessesEveryRecord runs PC in KEY order over 2,000
// keyed records, once with a no-op handler (JVM default heap) and once with
// a 1 ms sleep (-Xmx256m), and checks each Result is complete.
func TestRealBrokerKeyOrderProcessesEveryRecord(t *testing.T) {
	seeds := testkit.Brokers(t)
	const n = 2000
	topic := testkit.Topic(t, seeds, 6)
	testkit.Produce(t, seeds, topic, n, 100)

	for _, tc := range []struct {
		name  string
		work  Work
		sleep time.Duration
		flags []string
	}{
		{"noop default heap", WorkNoop, 0, nil},
		{"sleep 1ms with Xmx256m", WorkSleep, time.Millisecond, []string{"-Xmx256m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cfg := Config{Seeds: seeds, Topic: topic, Records: n, Ordering: OrderKey,
				Work: tc.work, Sleep: tc.sleep, JVMFlags: tc.flags, Timeout: 3 * time.Minute,
				Progress: func(s string) { t.Log(s) }}
			r, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d records in %.2fs (steady %.0f/s), first after %.2fs, mean handler %.3fms, cpu %.2fs (rusage %.2fs), peak RSS %d KiB, heap max %d MiB",
				r.Records, r.Seconds, r.SteadyRecordsPerS, r.FirstRecordS, r.MeanHandlerMs, r.CPUSeconds,
				r.ChildCPUSeconds, r.PeakRSSKiB, r.JVM.MaxHeapBytes>>20)
			if r.Records != n {
				t.Errorf("records = %d, want %d", r.Records, n)
			}
			// A single consumer that never rebalances has nothing to replay,
			// and the topic holds exactly n records, so the drain adds none.
			if r.Duplicates != 0 || r.Completions != n || r.HandlerCalls != n {
				t.Errorf("duplicates %d, completions %d, handler calls %d; want 0, %d, %d",
					r.Duplicates, r.Completions, r.HandlerCalls, n, n)
			}
			if r.PCVersion != PCVersion || r.KafkaClientsVersion != KafkaClientsVersion {
				t.Errorf("ran PC %q with kafka-clients %q, want the pinned %s and %s",
					r.PCVersion, r.KafkaClientsVersion, PCVersion, KafkaClientsVersion)
			}
			o := r.Options
			if o.Topic != topic || o.Ordering != string(OrderKey) || o.MaxConcurrency != DefaultMaxConcurrency ||
				o.CommitMode != string(CommitAsync) || o.BatchSize != 1 || o.Work != string(tc.work) ||
				o.SleepMs != tc.sleep.Milliseconds() || !strings.HasPrefix(o.Group, "kpar-pc-") {
				t.Errorf("harness options %+v do not echo the config", o)
			}
			if tc.work == WorkSleep && r.MeanHandlerMs < 1 {
				t.Errorf("mean handler %.3f ms, but every call sleeps 1 ms", r.MeanHandlerMs)
			}
			if r.Seconds <= 0 || r.FirstRecordS <= 0 || r.FirstRecordS > r.Seconds || r.SteadyRecordsPerS <= 0 {
				t.Errorf("timings inconsistent: seconds %v, first record %v, steady %v/s", r.Seconds, r.FirstRecordS, r.SteadyRecordsPerS)
			}
			if r.CPUSeconds <= 0 || r.ChildCPUSeconds <= 0 || r.PeakRSSKiB <= 0 || r.WallSeconds < r.Seconds {
				t.Errorf("process figures missing: cpu %v, rusage cpu %v, peak RSS %d KiB, wall %v", r.CPUSeconds, r.ChildCPUSeconds, r.PeakRSSKiB, r.WallSeconds)
			}
			if !slices.Equal(r.JVMFlags, tc.flags) && !(len(r.JVMFlags) == 0 && len(tc.flags) == 0) {
				t.Errorf("JVMFlags = %q, want %q", r.JVMFlags, tc.flags)
			}
			for _, f := range tc.flags {
				if !slices.Contains(r.JVM.InputArguments, f) {
					t.Errorf("JVM input arguments %q lack %q", r.JVM.InputArguments, f)
				}
			}
			if slices.Contains(tc.flags, "-Xmx256m") && r.JVM.MaxHeapBytes > 256<<20 {
				t.Errorf("max heap %d bytes with -Xmx256m", r.JVM.MaxHeapBytes)
			}
			if len(r.Command) == 0 || !slices.Contains(r.Command, harnessClass) {
				t.Errorf("command %q does not name the harness", r.Command)
			}
		})
	}

	// The cache is complete after the runs: 17 jars and the compiled harness.
	jars, _ := filepath.Glob(filepath.Join(cacheRoot(), "libs", "*.jar"))
	if len(jars) != 17 {
		t.Errorf("%d jars in the cache, want 17: %q", len(jars), jars)
	}
	if _, err := os.Stat(filepath.Join(cacheRoot(), "harness-"+harnessHash(), harnessClass+".class")); err != nil {
		t.Errorf("compiled harness: %v", err)
	}
}

// TestRealBrokerHarnessTimeoutIsAnError asks for records an empty topic
// does not have: Run must return ErrHarnessTimeout naming the count reached,
// and no Result.
func TestRealBrokerHarnessTimeoutIsAnError(t *testing.T) {
	seeds := testkit.Brokers(t)
	topic := testkit.Topic(t, seeds, 1)
	r, err := Run(context.Background(), Config{Seeds: seeds, Topic: topic, Records: 10, Timeout: 2 * time.Second})
	if !errors.Is(err, ErrHarnessTimeout) {
		t.Fatalf("Run = %v, want ErrHarnessTimeout", err)
	}
	if !strings.Contains(err.Error(), "0 of 10 records") {
		t.Errorf("error does not say how far it got: %v", err)
	}
	if r.Records != 0 || r.PCVersion != "" || r.PeakRSSKiB != 0 {
		t.Errorf("half Result returned with the error: %+v", r)
	}
}

// TestHarnessRefusesBadFlagsNamingEach runs the compiled harness directly
// (no broker needed) with bad flags: it must exit 2 naming every problem,
// so a drift between Config and the harness is loud.
func TestHarnessRefusesBadFlagsNamingEach(t *testing.T) {
	testkit.SkipShort(t, "resolves PC with Maven and compiles the harness")
	ctx := context.Background()
	java, libs := javaAndLibs(t)
	classes, err := ClassesDir(ctx, java, libs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, java, "-cp", filepath.Join(libs, "*")+string(filepath.ListSeparator)+classes, harnessClass,
		"--bootstrap", "x:1", "--records", "0", "--ordering", "SIDEWAYS", "--commit-mode", "PERIODIC_TRANSACTIONAL_PRODUCER", "--work", "spin")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFlags {
		t.Fatalf("harness exit = %v, want status %d; output:\n%s", err, exitFlags, out)
	}
	for _, w := range []string{"--topic is required", "--group is required", "--records must be > 0",
		"--ordering SIDEWAYS", "PERIODIC_TRANSACTIONAL_PRODUCER is not supported", "--work must be noop or sleep"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("harness output does not name %q:\n%s", w, out)
		}
	}
}

// TestBrokenHarnessIsOneCompileErrorAndNoCache compiles a broken harness
// source into an empty cache: one error carrying javac's message, and no
// harness directory left behind.
func TestBrokenHarnessIsOneCompileErrorAndNoCache(t *testing.T) {
	testkit.SkipShort(t, "resolves PC with Maven and runs javac")
	ctx := context.Background()
	java, libs := javaAndLibs(t) // the shared cache: resolved once
	t.Setenv("KPAR_CACHE", t.TempDir())
	saved := javaSources["Harness.java"]
	t.Cleanup(func() { javaSources["Harness.java"] = saved })
	javaSources["Harness.java"] = []byte("public final class Harness { int broken = }\n")

	_, err := ClassesDir(ctx, java, libs)
	if err == nil || !strings.Contains(err.Error(), "javac could not compile") || !strings.Contains(err.Error(), "illegal start of expression") {
		t.Fatalf("ClassesDir = %v, want one javac error with its message", err)
	}
	left, _ := filepath.Glob(filepath.Join(cacheRoot(), "*"))
	left2, _ := filepath.Glob(filepath.Join(cacheRoot(), ".*"))
	if len(left)+len(left2) != 0 {
		t.Errorf("a failed compile left %q %q in the cache", left, left2)
	}
}

// javaAndLibs is the java binary and PC's jars, or the test skipped (failed
// under KPAR_REQUIRE_BROKER) when there is no Java or Maven.
func javaAndLibs(t *testing.T) (java, libs string) {
	java, err := broker.JavaBin()
	if err != nil {
		testkit.Unavailable(t, "%v", err)
	}
	libs, err = LibDir(context.Background(), func(s string) { t.Log(s) })
	if errors.Is(err, broker.ErrNoMaven) {
		testkit.Unavailable(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return java, libs
}
