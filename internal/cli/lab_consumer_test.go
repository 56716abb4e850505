package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/testkit"
)

func TestLabConsumerBadInputFailsWithAClearMessageAndNoResults(t *testing.T) {
	seeds := testkit.Kfake(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown strategy", []string{"--strategies", "yolo"}, `unknown strategy "yolo"`},
		{"unknown fault", []string{"--scenarios", "ooo+meteor"}, `unknown fault "meteor"`},
		{"cell without slash", []string{"--cell", "lib-key"}, `--cell "lib-key": want strategy/scenario`},
		{"no records", []string{"--records", "0"}, "--records must be at least 1"},
		{"no workers", []string{"--workers", "0"}, "--workers must be at least 1"},
		{"crash-at not increasing", []string{"--crash-at", "500,100"}, `--crash-at "500,100": want increasing positive`},
		{"chance above one", []string{"--transient", "1.5"}, "--transient and --permanent are chances between 0 and 1"},
		{"unreachable broker", []string{"--brokers", "127.0.0.1:1", "--cell", "lib-key/ooo"}, "broker 127.0.0.1:1 unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"--brokers", strings.Join(seeds, ","), "lab", "consumer", "--out", out}, c.args...)
			_, err := runKpar(t, args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if files, _ := os.ReadDir(out); len(files) != 0 {
				t.Fatalf("bad input left results behind: %v", files)
			}
			if _, err := os.Stat(filepath.Join(out, "lab-consumer.json")); err == nil {
				t.Fatal("results written for a failed run")
			}
		})
	}
}

func TestLabConsumerRerunCarriesTheKillSchedule(t *testing.T) {
	f := &labConsumerFlags{seed: 7, records: 3000, partitions: 6, keys: 64, workers: 16, maxPoll: 100, crashes: 2}
	for sc, want := range map[string]string{"ooo+kill": " --crashes 2", "ooo+crash": " --crashes 2", "ooo": ""} {
		got := f.rerun("lib-key", sc)
		if !strings.Contains(got, "--cell lib-key/"+sc+" ") || strings.Contains(got, "--crashes") != (want != "") ||
			(want != "" && !strings.HasSuffix(got, want)) {
			t.Fatalf("rerun for %s: %q, want it to end in %q", sc, got, want)
		}
	}
	f.crashAt = "600,1400"
	if got := f.rerun("lib-key", "kill"); !strings.HasSuffix(got, " --crash-at 600,1400") {
		t.Fatalf("rerun with an explicit kill schedule: %q", got)
	}
}
