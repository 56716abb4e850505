package pcmap

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/proc"
	"github.com/kpar/kpar/internal/testkit"
)

// Maps that PC's own encoder wrote, in every encoding it makes (bitset and
// run-length, v1 and v2), decode to the incomplete offsets and the highest
// offset it was given, and Done reads them as PC would resume: below the
// committed offset done, incomplete offsets not, the rest of the map done,
// beyond it not.
func TestMapsPCEncodedDecodeToTheirIncompleteOffsetsInEveryEncoding(t *testing.T) {
	testkit.SkipShort(t, "runs PC's encoder and decoder on a JVM")
	cases := []struct {
		base, highest int64
		incomplete    []int64
	}{
		{100, 110, []int64{100, 103, 104, 109}},
		{0, 5000, []int64{0, 17, 18, 19, 4000, 4999}},
		{7, 9, []int64{7}},
	}
	java, err := broker.JavaBin()
	if err != nil {
		testkit.Unavailable(t, "java: %v", err)
	}
	libs, err := confluentpc.LibDir(context.Background(), nil)
	if err != nil {
		testkit.Unavailable(t, "Parallel Consumer's jars: %v", err)
	}
	args := []string{java, "-cp", filepath.Join(libs, "*"), filepath.Join("testdata", "PCMapEncode.java")}
	for _, c := range cases {
		var inc []string
		for _, o := range c.incomplete {
			inc = append(inc, strconv.FormatInt(o, 10))
		}
		args = append(args, strconv.FormatInt(c.base, 10)+":"+strconv.FormatInt(c.highest, 10)+":"+strings.Join(inc, ","))
	}
	var out bytes.Buffer
	p, err := proc.Start(context.Background(), "encode", args, proc.Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	var (
		ps    []Partition
		which []int
		names []string
	)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("encoder line %q", line)
		}
		c, _ := strconv.Atoi(f[0])
		committed, _ := strconv.ParseInt(f[2], 10, 64)
		ps = append(ps, Partition{Committed: committed, Metadata: f[3], Highest: -1})
		which, names = append(which, c), append(names, f[1])
	}
	encodings := map[string]bool{}
	for _, n := range names {
		encodings[strings.TrimSuffix(n, "Compressed")] = true
	}
	for _, want := range []string{"BitSet", "BitSetV2", "RunLength", "RunLengthV2"} {
		if !encodings[want] {
			t.Errorf("PC's encoder made no %s map (made %v): the test covers less than it says", want, names)
		}
	}
	if err := Decode(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		c := cases[which[i]]
		if p.Error != "" || p.Highest != c.highest || !slices.Equal(p.Incomplete, c.incomplete) {
			t.Errorf("%s map of case %d: highest %d, incomplete %v, error %q; want %d, %v", names[i], which[i], p.Highest, p.Incomplete, p.Error, c.highest, c.incomplete)
			continue
		}
		for o := c.base - 2; o <= c.highest+2; o++ {
			want := o < c.base || (o <= c.highest && !slices.Contains(c.incomplete, o))
			if done(p, o) != want {
				t.Errorf("%s map of case %d: By(%d) = %q, want done %v", names[i], which[i], o, p.By(o), want)
			}
		}
	}
}

// Metadata that is not PC's is the decoder's error for that partition, not
// a failure of the others; an empty map means everything below the
// committed offset is done and nothing above it.
func TestMetadataPCCannotDecodeIsThatPartitionsErrorAlone(t *testing.T) {
	testkit.SkipShort(t, "runs PC's decoder on a JVM")
	if _, err := broker.JavaBin(); err != nil {
		testkit.Unavailable(t, "java: %v", err)
	}
	ps := []Partition{
		{Partition: 0, Committed: 10, Metadata: "not base64 at all!", Highest: -1},
		{Partition: 1, Committed: 42, Metadata: "", Highest: -1},
		{Partition: 2, Committed: -1, Highest: -1},
	}
	if err := Decode(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	if ps[0].Error == "" || done(ps[0], 10) {
		t.Errorf("undecodable metadata: error %q, Done(10) %v; want an error and not done", ps[0].Error, done(ps[0], 10))
	}
	if ps[1].Error != "" || ps[1].Highest != 41 || !done(ps[1], 41) || done(ps[1], 42) {
		t.Errorf("empty metadata at 42: %+v; want highest 41, 41 done, 42 not", ps[1])
	}
	if done(ps[2], 0) {
		t.Errorf("a partition without a commit counts offset 0 done")
	}
}

// The commit that first counts a never-processed offset done is the one
// that lost it, and it is named with how: the committed offset passed it,
// or the map left it out of the incomplete offsets.
func TestFirstClaimNamesTheCommitThatCountsAnOffsetDoneAndHow(t *testing.T) {
	snaps := []Snapshot{
		{Label: "kill 1", Partitions: []Partition{{Topic: "in", Partition: 0, Committed: 10, Highest: 20, Incomplete: []int64{10, 12}}}},
		{Label: "kill 2", Partitions: []Partition{{Topic: "in", Partition: 0, Committed: 30, Highest: -1}}},
	}
	for _, c := range []struct {
		part int32
		off  int64
		idx  int
		by   string
	}{
		{0, 5, 0, ByOffset},
		{0, 11, 0, ByMap},
		{0, 12, 1, ByOffset}, // incomplete in the first map, passed by the second offset
		{0, 25, 1, ByOffset},
		{0, 30, -1, ""},
		{1, 5, -1, ""}, // another partition
	} {
		if i, by := FirstClaim(snaps, "in", c.part, c.off); i != c.idx || by != c.by {
			t.Errorf("FirstClaim(in[%d]@%d) = %d %q, want %d %q", c.part, c.off, i, by, c.idx, c.by)
		}
	}
}

// done says PC's commit counts offset o of p as processed.
func done(p Partition, o int64) bool { return p.By(o) != "" }
