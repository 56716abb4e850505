package stuck

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// Log is one consumer process's processed log, as counts per partition and
// offset: each line "partition offset" is one completed handler call.
// Offsets of partition p are counted in [Start[p], End[p]), the topic's
// range when the run began; a line outside it is Bad.
type Log struct {
	Start, End []int64
	counts     [][]uint8 // saturating at 255
	Lines      int64
	Bad        int64
	partial    []byte // an incomplete last line, completed by the next Feed
}

// NewLog returns an empty log over the partitions' [start, end) ranges.
func NewLog(start, end []int64) *Log {
	l := &Log{Start: start, End: end, counts: make([][]uint8, len(end))}
	for p := range end {
		l.counts[p] = make([]uint8, max(end[p]-start[p], 0))
	}
	return l
}

// Feed adds the complete lines of b (plus any partial line left from the
// previous Feed); a trailing partial line waits for the next one.
func (l *Log) Feed(b []byte) {
	if len(l.partial) > 0 {
		b = append(l.partial, b...)
		l.partial = nil
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		l.line(b[:i])
		b = b[i+1:]
	}
	if len(b) > 0 {
		l.partial = append([]byte(nil), b...)
	}
}

func (l *Log) line(s []byte) {
	l.Lines++
	sp := bytes.IndexByte(s, ' ')
	if sp < 0 {
		l.Bad++
		return
	}
	p, err1 := strconv.Atoi(string(s[:sp]))
	o, err2 := strconv.ParseInt(string(s[sp+1:]), 10, 64)
	if err1 != nil || err2 != nil || p < 0 || p >= len(l.counts) || o < l.Start[p] || o >= l.End[p] {
		l.Bad++
		return
	}
	if c := &l.counts[p][o-l.Start[p]]; *c < 255 {
		*c++
	}
}

// Done reports whether offset o of partition p was processed at least once.
func (l *Log) Done(p int, o int64) bool {
	return o >= l.Start[p] && o < l.End[p] && l.counts[p][o-l.Start[p]] > 0
}

// done reports whether the i-th offset of partition p (from Start[p]) was
// processed.
func (l *Log) done(p int, i int64) bool { return i < int64(len(l.counts[p])) && l.counts[p][i] > 0 }

// each counts, per partition, f over every offset of the range (as its
// index i from Start[p]).
func (l *Log) each(f func(p int, i int64) bool) []int {
	out := make([]int, len(l.counts))
	for p := range l.counts {
		for i := range int64(len(l.counts[p])) {
			if f(p, i) {
				out[p]++
			}
		}
	}
	return out
}

// Distinct counts the distinct records processed.
func (l *Log) Distinct() int64 { return int64(sum(l.each(l.done))) }

// HeldPast counts, per partition, the distinct records processed at or
// above committed[p]: completions the consumer holds past its committed
// offset, which only the commit metadata can remember. A committed offset
// below 0 (nothing committed yet) counts from the partition's start.
func (l *Log) HeldPast(committed []int64) []int {
	return l.each(func(p int, i int64) bool { return l.Start[p]+i >= committed[p] && l.done(p, i) })
}

// Duplicates counts, per partition, handler calls beyond the first for the
// same record within this log.
func (l *Log) Duplicates() []int {
	out := make([]int, len(l.counts))
	for p := range l.counts {
		for _, c := range l.counts[p] {
			out[p] += max(int(c)-1, 0)
		}
	}
	return out
}

// Replays counts, per partition, the records both logs processed: what a
// second process did again that a first had done.
func Replays(first, second *Log) []int {
	return first.each(func(p int, i int64) bool { return first.done(p, i) && second.done(p, i) })
}

// ReplaysBelow counts, per partition, replayed records below committed[p]:
// records the group had committed, which no consumer may process again.
func ReplaysBelow(first, second *Log, committed []int64) []int {
	return first.each(func(p int, i int64) bool {
		return first.Start[p]+i < committed[p] && first.done(p, i) && second.done(p, i)
	})
}

// Missing counts, per partition, records that none of logs processed.
func Missing(logs ...*Log) []int {
	missing := MissingOffsets(logs...)
	out := make([]int, len(missing))
	for p, os := range missing {
		out[p] = len(os)
	}
	return out
}

// MissingOffsets lists, per partition, the offsets none of logs processed.
func MissingOffsets(logs ...*Log) [][]int64 {
	out := make([][]int64, len(logs[0].counts))
	logs[0].each(func(p int, i int64) bool {
		if !slices.ContainsFunc(logs, func(l *Log) bool { return l.done(p, i) }) {
			out[p] = append(out[p], logs[0].Start[p]+i)
		}
		return false
	})
	return out
}

// tail follows a file that another process appends to.
type tail struct {
	path string
	off  int64
}

// read feeds what was appended since the last read into l. A file not yet
// created reads as empty.
func (t *tail) read(l *Log) error {
	f, err := os.Open(t.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("processed log %s: %w", t.path, err)
	}
	t.off += int64(len(b))
	l.Feed(b)
	return nil
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func maxOf(xs []int) int { return slices.Max(append([]int{0}, xs...)) }
