package doc

import (
	"fmt"
	"strings"
)

// The number formats every document uses, so a figure reads the same in
// every result.

// Num is a whole figure with thousands separators: 1234567 -> 1,234,567.
func Num(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Int and I64 are Num of integers.
func Int(v int) string   { return Num(float64(v)) }
func I64(v int64) string { return Num(float64(v)) }

// F1 and F2 are fixed one and two decimals.
func F1(v float64) string { return fmt.Sprintf("%.1f", v) }
func F2(v float64) string { return fmt.Sprintf("%.2f", v) }

// Pct is a fraction as a whole percentage: 0.912 -> 91%.
func Pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

// MiB is KiB shown as whole MiB.
func MiB(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// Plural is "1 record" / "2,000 records".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Int(n) + " " + many
}

// Listing joins "a", "a and b", "a, b and c".
func Listing(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// Sentence starts s with a capital and ends it with a period.
func Sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}
