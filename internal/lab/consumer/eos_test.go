package consumer

import "testing"

// The eos strategy (parallel.NewTransform, the processed-log entry as the
// output) processes every record exactly once as a read_committed reader of
// the processed-log sees it: under instant kills with handlers, outputs and a
// transaction in flight, where the at-least-once library replays at least
// the killed record per kill (TestLibraryLosesNothingAcrossInstantKills...),
// and under failures with dead letters written in the transactions.
func TestEOSNeitherLosesNorDuplicatesUnderKillsAndFailures(t *testing.T) {
	for _, scen := range []string{"ooo+kill", "ooo+kill+failures", "ooo+rebalance"} {
		t.Run(scen, func(t *testing.T) {
			cell := lessonCell(t, "eos", scen, func(c *Config) { c.CrashAt = []int{400, 900, 1400} })
			if cell.Check.Lost != 0 || cell.Check.Duplicated != 0 || cell.Check.Reordered != 0 {
				t.Fatalf("eos/%s: lost %d, duplicated %d, reordered %d (first lost %v)", scen,
					cell.Check.Lost, cell.Check.Duplicated, cell.Check.Reordered, cell.Check.LostSample)
			}
			if cell.Scenario != "ooo+rebalance" && cell.Crashes != 3 {
				t.Fatalf("want 3 SIGKILLs, got %d", cell.Crashes)
			}
		})
	}
}
