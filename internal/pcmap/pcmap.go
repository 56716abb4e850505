// Package pcmap reads what Confluent's Parallel Consumer (PC) committed: the
// group's offset per partition and, in the commit's metadata, PC's map of
// the offsets above it that were still incomplete (its own run-length and
// bitset encodings behind a magic byte, base64). It decodes the metadata
// with PC's own decoder, OffsetMapCodecManager
// .deserialiseIncompleteOffsetMapFromBase64, run from PC's jars, so what it
// reports is what a restarted PC would resume from, not a reading of ours.
package pcmap

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/proc"
)

//go:embed PCMap.java
var decoderSource []byte

// Partition is one partition's commit as PC would resume from it.
type Partition struct {
	Topic      string  `json:"topic"`
	Partition  int32   `json:"partition"`
	Committed  int64   `json:"committed"` // the committed offset: every offset below it is done; -1 none
	Metadata   string  `json:"metadata,omitempty"`
	Highest    int64   `json:"highest"`              // the highest offset the map covers; -1 none
	Incomplete []int64 `json:"incomplete,omitempty"` // offsets in [Committed, Highest] PC will process again
	Error      string  `json:"error,omitempty"`      // PC's decoder refused the metadata
}

// Claims by which a commit counts an offset done.
const (
	ByOffset = "offset" // below the committed offset
	ByMap    = "map"    // in the map's range and not listed incomplete
)

// By says how PC's commit counts offset o as processed: ByOffset, ByMap,
// or "" when a PC restarted on it would process o (again).
func (p Partition) By(o int64) string {
	switch {
	case p.Committed < 0:
		return ""
	case o < p.Committed:
		return ByOffset
	case o > p.Highest || p.Error != "":
		return ""
	}
	if _, incomplete := slices.BinarySearch(p.Incomplete, o); incomplete {
		return ""
	}
	return ByMap
}

// Snapshot is what PC had committed at one moment, e.g. just after a kill.
type Snapshot struct {
	Label      string      `json:"label"`
	Partitions []Partition `json:"partitions"`
}

// FirstClaim returns the index of the first snapshot whose commit counts
// offset o of topic's partition part as processed, and how (By); -1 and ""
// when none does. For a record never processed, that is the commit that
// lost it.
func FirstClaim(snaps []Snapshot, topic string, part int32, o int64) (int, string) {
	for i, s := range snaps {
		for _, p := range s.Partitions {
			if p.Topic == topic && p.Partition == part {
				if by := p.By(o); by != "" {
					return i, by
				}
			}
		}
	}
	return -1, ""
}

// Fetch reads group's committed offsets and metadata for topic from the
// broker and decodes each partition's map with PC's decoder.
func Fetch(ctx context.Context, adm *kadm.Client, group, topic string) ([]Partition, error) {
	offs, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	var ps []Partition
	for _, o := range offs.Sorted() {
		if o.Topic == topic {
			ps = append(ps, Partition{Topic: o.Topic, Partition: o.Partition, Committed: o.At, Metadata: o.Metadata, Highest: -1})
		}
	}
	return ps, Decode(ctx, ps)
}

// Decode fills in Highest, Incomplete or Error of each partition that has a
// commit, running PC's decoder once for all of them.
func Decode(ctx context.Context, ps []Partition) error {
	var in strings.Builder
	var idx []int
	for i, p := range ps {
		if p.Committed < 0 {
			continue
		}
		if strings.ContainsAny(p.Metadata, "\t\n") {
			ps[i].Error = "metadata holds a tab or a newline: not PC's base64"
			continue
		}
		fmt.Fprintf(&in, "%d\t%s\n", p.Committed, p.Metadata)
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return nil
	}
	out, err := runDecoder(ctx, in.String())
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(idx) {
		return fmt.Errorf("PC's offset decoder answered %d lines for %d commits: %s", len(lines), len(idx), out)
	}
	for k, line := range lines {
		var r struct {
			Highest    int64   `json:"highest"`
			Incomplete []int64 `json:"incomplete"`
			Error      string  `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("PC's offset decoder: line %q: %w", line, err)
		}
		p := &ps[idx[k]]
		p.Highest, p.Incomplete, p.Error = r.Highest, r.Incomplete, r.Error
		slices.Sort(p.Incomplete)
	}
	return nil
}

// runDecoder runs PCMap.java in Java's source-file mode against PC's jars.
func runDecoder(ctx context.Context, input string) (string, error) {
	java, err := broker.JavaBin()
	if err != nil {
		return "", err
	}
	libs, err := confluentpc.LibDir(ctx, nil)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kpar-pcmap-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	src, lines := filepath.Join(dir, "PCMap.java"), filepath.Join(dir, "commits.tsv")
	if err := os.WriteFile(src, decoderSource, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(lines, []byte(input), 0o644); err != nil {
		return "", err
	}
	var out bytes.Buffer
	p, err := proc.Start(ctx, "pcmap", []string{java, "-cp", filepath.Join(libs, "*"), src, lines}, proc.Options{Stdout: &out})
	if err != nil {
		return "", err
	}
	if err := p.Err(); err != nil {
		return "", fmt.Errorf("PC's offset decoder (java PCMap.java): %w", err)
	}
	return out.String(), nil
}
