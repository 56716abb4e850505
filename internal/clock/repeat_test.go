package clock

import "testing"

// A target is met only when every repeat is past it, missed when none is,
// mixed with the counts otherwise.
func TestJudgeMetMissedMixed(t *testing.T) {
	cases := []struct {
		pass   []bool
		word   string
		str    string
		allMet bool
	}{
		{[]bool{true, true, true}, "met", "met (3 of 3)", true},
		{[]bool{false, false, false}, "missed", "missed (0 of 3)", false},
		{[]bool{true, false, true}, "mixed (2 of 3)", "mixed (2 of 3)", false},
		{[]bool{false, false, true}, "mixed (1 of 3)", "mixed (1 of 3)", false},
		{[]bool{true}, "met", "met (1 of 1)", true},
		{[]bool{false}, "missed", "missed (0 of 1)", false},
		{nil, "not judged (no repeats)", "not judged (no repeats)", false},
	}
	for _, tc := range cases {
		v := Judge(tc.pass)
		if v.Word != tc.word || v.String() != tc.str || v.AllMet() != tc.allMet || v.Repeats != len(tc.pass) {
			t.Errorf("%v: %+v %q all met %v, want %q %q %v", tc.pass, v, v.String(), v.AllMet(), tc.word, tc.str, tc.allMet)
		}
	}
}

func TestSpreadOfIsMedianAndRange(t *testing.T) {
	cases := []struct {
		xs   []float64
		want Spread
	}{
		{[]float64{3, 1, 2}, Spread{2, 1, 3}},
		{[]float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
		{[]float64{7}, Spread{7, 7, 7}},
		{nil, Spread{}},
	}
	for _, tc := range cases {
		in := append([]float64(nil), tc.xs...)
		if got := SpreadOf(tc.xs); got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.xs, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.xs[i] {
				t.Errorf("SpreadOf reordered its input: %v", tc.xs)
			}
		}
	}
}

// The nearest rank: the value at rank round(q*n), counting from 1; the
// ends clamp, and no values give 0.
func TestPercentileIsTheNearestRank(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{xs, 0.50, 5}, {xs, 0.95, 10}, {xs, 0.99, 10}, {xs, 0.01, 1}, {xs, 0.25, 3},
		{[]float64{7}, 0.5, 7}, {nil, 0.5, 0},
	} {
		if got := Percentile(c.xs, c.q); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.xs, c.q, got, c.want)
		}
	}
}

// A ratio over a missing (zero or negative) figure is 0, never an Inf or NaN.
func TestRatioOverNothingIsZero(t *testing.T) {
	for _, c := range []struct{ a, b, want float64 }{{3, 2, 1.5}, {3, 0, 0}, {0, 0, 0}, {3, -1, 0}} {
		if got := Ratio(c.a, c.b); got != c.want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
