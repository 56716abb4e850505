// Package flagcheck is the check every experiment's Validate makes of its
// integer flags: each at least its least value, or an error naming the flag,
// the value and the bound in one wording; and an integer list flag's value
// as written.
package flagcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// Min is one integer flag: its name (without the dashes), its value and the
// least it may be.
type Min struct {
	flag   string
	v, min int64
}

// Int is the flag's value v, which must be at least min.
func Int[T ~int | ~int64](flag string, v, min T) Min { return Min{flag, int64(v), int64(min)} }

// Err is nil when the value is at least its bound, else
// "--flag v: must be at least min".
func (m Min) Err() error {
	if m.v < m.min {
		return fmt.Errorf("--%s %d: must be at least %d", m.flag, m.v, m.min)
	}
	return nil
}

// AtLeast is the error of the first of mins below its bound, nil when none
// is.
func AtLeast(mins ...Min) error {
	for _, m := range mins {
		if err := m.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Ints is an integer list flag's value as written on a command line: 1,2,4.
func Ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
