package clock

import (
	"fmt"
	"sort"
)

// Repeats of a measurement are judged by one rule, so that a target is
// never called met on the strength of a lucky run:
//
//   - the figure shown is the median of the repeats, with the spread
//     (min-max) beside it;
//   - a target is "met" only when every repeat is past it, "missed" when no
//     repeat is, and otherwise "mixed (k of N)".

// Spread is the median and range of one figure over the repeats.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// SpreadOf is the spread of xs (the zero Spread for none). The median of
// an even count is the mean of the middle two.
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	med := s[m]
	if len(s)%2 == 0 {
		med = (s[m-1] + s[m]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[len(s)-1]}
}

// Percentile is the nearest-rank q-quantile (0 < q <= 1) of sorted: the
// value at rank round(q*n), counting from 1; 0 for none.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Ratio is a/b, 0 when b is not positive (a figure missing or zero).
func Ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// PerMillion is cpu seconds per million of n records (0 for none).
func PerMillion(cpu float64, n int64) float64 { return Ratio(cpu, float64(n)) * 1e6 }

// Verdict is a target judged over every repeat.
type Verdict struct {
	Met     int    `json:"met"`     // repeats past the target
	Repeats int    `json:"repeats"` // repeats judged
	Word    string `json:"verdict"` // "met", "missed" or "mixed (k of N)"
}

// Judge counts the repeats past the target (pass[i] for repeat i).
func Judge(pass []bool) Verdict {
	v := Verdict{Repeats: len(pass)}
	for _, p := range pass {
		if p {
			v.Met++
		}
	}
	switch {
	case v.Repeats == 0:
		v.Word = "not judged (no repeats)"
	case v.Met == v.Repeats:
		v.Word = "met"
	case v.Met == 0:
		v.Word = "missed"
	default:
		v.Word = fmt.Sprintf("mixed (%d of %d)", v.Met, v.Repeats)
	}
	return v
}

// AllMet is true only when every repeat was past the target.
func (v Verdict) AllMet() bool { return v.Repeats > 0 && v.Met == v.Repeats }

// String is the verdict with its count: "met (3 of 3)", "missed (0 of 3)",
// "mixed (2 of 3)".
func (v Verdict) String() string {
	if v.Repeats == 0 || (v.Met > 0 && v.Met < v.Repeats) {
		return v.Word
	}
	return fmt.Sprintf("%s (%d of %d)", v.Word, v.Met, v.Repeats)
}
