package parallel

import "testing"

// fetchSize: the decoded-bytes budget over the brokers, scaled by the
// measured wire/decoded ratio, within 1 MiB and 50 MiB.
func TestFetchSizeScalesTheBudgetByMeasuredBytes(t *testing.T) {
	const budget = 25 << 20
	for _, tc := range []struct {
		name          string
		brokers       int
		wire, decoded int64
		want          int32
	}{
		{"nothing measured", 1, 0, 0, fetchStartBytes},
		{"compressed 10/290: the floor", 1, 10, 290, minFetchBytes},
		{"incompressible 1/2: half the budget", 1, 1, 2, budget / 2},
		{"two brokers share it", 2, 1, 2, budget / 4},
		{"huge records: the cap", 1, 100, 1, maxFetchBytes},
	} {
		if got := fetchSize(budget, tc.brokers, tc.wire, tc.decoded); got != tc.want {
			t.Errorf("%s: fetchSize = %d, want %d", tc.name, got, tc.want)
		}
	}
}
