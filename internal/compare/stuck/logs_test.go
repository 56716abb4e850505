package stuck

import (
	"slices"
	"testing"
)

func logOf(start, end []int64, text string) *Log {
	l := NewLog(start, end)
	l.Feed([]byte(text))
	return l
}

func TestLogFeedJoinsSplitLinesAndCountsBadOnes(t *testing.T) {
	l := NewLog([]int64{0, 0}, []int64{10, 10})
	for _, chunk := range []string{"0 1\n1 ", "2\n0 1", "0\n", "x\n5 1\n0 10\n1 3"} {
		l.Feed([]byte(chunk))
	}
	// Lines: "0 1", "1 2", "0 10" (out of range), "x", "5 1" (no such
	// partition), "0 10" again; "1 3" is not finished yet.
	if l.Lines != 6 || l.Bad != 4 || l.Distinct() != 2 || !l.Done(0, 1) || !l.Done(1, 2) || l.Done(1, 3) {
		t.Fatalf("lines %d bad %d distinct %d", l.Lines, l.Bad, l.Distinct())
	}
	l.Feed([]byte("\n"))
	if !l.Done(1, 3) {
		t.Fatal("the partial last line was lost")
	}
}

func TestHeldPastCountsCompletionsAtOrAboveTheCommittedOffset(t *testing.T) {
	start, end := []int64{0, 0, 5}, []int64{10, 10, 10}
	cases := []struct {
		name      string
		log       string
		committed []int64
		want      []int
	}{
		{"nothing processed", "", []int64{3, 3, 5}, []int{0, 0, 0}},
		{"below the committed offset is not held", "0 0\n0 1\n0 2\n", []int64{3, -1, -1}, []int{0, 0, 0}},
		{"above a stuck offset is held", "0 0\n0 1\n0 2\n0 4\n0 5\n0 9\n", []int64{3, -1, -1}, []int{3, 0, 0}},
		{"nothing committed counts from the start", "1 0\n1 7\n2 5\n2 6\n", []int64{-1, -1, -1}, []int{0, 2, 2}},
		{"a repeat counts once", "0 5\n0 5\n0 5\n", []int64{3, 0, 5}, []int{1, 0, 0}},
		{"committed at the end holds nothing", "1 9\n", []int64{0, 10, 5}, []int{0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := logOf(start, end, tc.log).HeldPast(tc.committed); !slices.Equal(got, tc.want) {
				t.Errorf("HeldPast = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReplaysAndMissingFromTwoLogs(t *testing.T) {
	start, end := []int64{0, 0}, []int64{6, 6}
	cases := []struct {
		name              string
		first, second     string
		committed         []int64
		replays, below    []int
		missing, dupFirst []int
	}{
		{
			name:  "map used: the second does only what the first did not",
			first: "0 0\n0 1\n0 3\n0 4\n1 0\n1 1\n1 2\n1 3\n1 4\n1 5\n", second: "0 2\n0 5\n",
			committed: []int64{2, 6}, replays: []int{0, 0}, below: []int{0, 0}, missing: []int{0, 0}, dupFirst: []int{0, 0},
		},
		{
			name:  "map dropped: everything above the committed offset again",
			first: "0 0\n0 1\n0 3\n0 4\n", second: "0 2\n0 3\n0 4\n0 5\n1 0\n1 1\n1 2\n1 3\n1 4\n1 5\n",
			committed: []int64{2, 0}, replays: []int{2, 0}, below: []int{0, 0}, missing: []int{0, 0}, dupFirst: []int{0, 0},
		},
		{
			name:  "a committed record redone and one lost",
			first: "0 0\n0 1\n0 1\n1 0\n", second: "0 1\n0 2\n0 3\n0 4\n1 1\n1 2\n1 3\n1 4\n1 5\n",
			committed: []int64{2, 1}, replays: []int{1, 0}, below: []int{1, 0}, missing: []int{1, 0}, dupFirst: []int{1, 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, s := logOf(start, end, tc.first), logOf(start, end, tc.second)
			if got := Replays(f, s); !slices.Equal(got, tc.replays) {
				t.Errorf("Replays = %v, want %v", got, tc.replays)
			}
			if got := ReplaysBelow(f, s, tc.committed); !slices.Equal(got, tc.below) {
				t.Errorf("ReplaysBelow = %v, want %v", got, tc.below)
			}
			if got := Missing(f, s); !slices.Equal(got, tc.missing) {
				t.Errorf("Missing = %v, want %v", got, tc.missing)
			}
			for p, os := range MissingOffsets(f, s) {
				if len(os) != tc.missing[p] {
					t.Errorf("MissingOffsets[%d] = %v, want %d offsets", p, os, tc.missing[p])
				}
				for _, o := range os {
					if f.Done(p, o) || s.Done(p, o) {
						t.Errorf("MissingOffsets[%d] lists %d, which a log processed", p, o)
					}
				}
			}
			if got := f.Duplicates(); !slices.Equal(got, tc.dupFirst) {
				t.Errorf("Duplicates = %v, want %v", got, tc.dupFirst)
			}
		})
	}
}
