package confluentpc

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBridgeRequestsSurviveTheTripThroughALine(t *testing.T) {
	for _, r := range []BridgeRecord{
		{ID: 1, Topic: "kpar-lab-in", Partition: 2, Offset: 41, Key: []byte("k7"), Value: []byte("binary \x00\n\xff value")},
		{ID: 1<<64 - 1, Topic: "t", Partition: 0, Offset: 0, Key: nil, Value: []byte{}},
		{ID: 9, Topic: "t.x_y-z", Partition: 2147483647, Offset: 1 << 62, Key: []byte{}, Value: nil},
	} {
		line := encodeRequest(r)
		if strings.ContainsAny(line, "\n\r") {
			t.Fatalf("request %q spans lines", line)
		}
		got, err := DecodeRequest(line)
		if err != nil {
			t.Fatalf("DecodeRequest(%q): %v", line, err)
		}
		// nil (null) and empty must stay apart: a null key is not "".
		if got.ID != r.ID || got.Topic != r.Topic || got.Partition != r.Partition || got.Offset != r.Offset ||
			!slices.Equal(got.Key, r.Key) || (got.Key == nil) != (r.Key == nil) ||
			!slices.Equal(got.Value, r.Value) || (got.Value == nil) != (r.Value == nil) {
			t.Fatalf("round trip of %+v gave %+v (line %q)", r, got, line)
		}
	}
}

func TestBridgeRefusesMalformedRequests(t *testing.T) {
	for _, line := range []string{
		"", "R", "R 1 t 0 0 -", "X 1 t 0 0 - -", "R x t 0 0 - -", "R 1 t p 0 - -", "R 1 t 0 o - -",
		"R 1 t 0 0 a2V5 -", "R 1 t 0 0 - +!!", "R 1 t 0 0 - - extra",
	} {
		if _, err := DecodeRequest(line); !errors.Is(err, ErrBridgeLine) {
			t.Errorf("DecodeRequest(%q) = %v, want ErrBridgeLine", line, err)
		}
	}
}

func TestBridgeRepliesSayOkOrFailOnOneLine(t *testing.T) {
	if got := EncodeReply(7, nil); got != "7 ok" {
		t.Fatalf("ok reply %q", got)
	}
	line := EncodeReply(8, errors.New("record 3: permanent\nfailure\t here"))
	if line != "8 fail record 3: permanent failure here" {
		t.Fatalf("fail reply %q", line)
	}
	id, msg, err := decodeReply(line)
	if err != nil || id != 8 || msg != "record 3: permanent failure here" {
		t.Fatalf("decodeReply(%q) = %d %q %v", line, id, msg, err)
	}
	if id, msg, err := decodeReply("7 ok"); err != nil || id != 7 || msg != "" {
		t.Fatalf(`decodeReply("7 ok") = %d %q %v`, id, msg, err)
	}
}

// A fake JVM sends n requests at once; the handler finishes them in reverse
// order (the first one sleeps longest) and fails every third. serve must run
// them concurrently, answer each id exactly once with its own outcome, and
// keep reply lines whole under concurrent writes.
func TestBridgeServesConcurrentRequestsAndRepliesOutOfOrder(t *testing.T) {
	const n = 24
	reqR, reqW := io.Pipe() // the JVM's stdout: requests
	repR, repW := io.Pipe() // the JVM's stdin: replies
	var running atomic.Int64
	release := make(chan struct{})
	handle := func(r BridgeRecord) error {
		running.Add(1)
		<-release // all n are in flight at once before any finishes
		time.Sleep(time.Duration(n-int(r.ID)) * 2 * time.Millisecond)
		if r.ID%3 == 0 {
			return fmt.Errorf("record at %s/%d@%d: failed", r.Topic, r.Partition, r.Offset)
		}
		if string(r.Key) != fmt.Sprintf("k%d", r.ID) {
			return fmt.Errorf("key %q", r.Key)
		}
		return nil
	}
	var others []string
	served := make(chan error, 1)
	go func() {
		served <- serve(reqR, &replier{w: repW}, handle, func(l string) { others = append(others, l) })
		repW.Close()
	}()

	var order []uint64
	replies := map[uint64]string{}
	read := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(repR)
		for sc.Scan() {
			id, msg, err := decodeReply(sc.Text())
			if err != nil {
				read <- err
				return
			}
			if _, dup := replies[id]; dup {
				read <- fmt.Errorf("id %d answered twice", id)
				return
			}
			replies[id] = msg
			order = append(order, id)
		}
		read <- sc.Err()
	}()
	go func() {
		fmt.Fprintln(reqW, "a stray line from a library")
		for i := uint64(1); i <= n; i++ {
			fmt.Fprintln(reqW, encodeRequest(BridgeRecord{ID: i, Topic: "in", Partition: int32(i % 3), Offset: int64(i), Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")}))
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for running.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := running.Load(); got != n {
		t.Fatalf("%d handlers ran at once, want all %d (serve must not serialize them)", got, n)
	}
	close(release)
	// Every request is in: close the JVM's stdout, and serve waits for its
	// handlers and returns.
	reqW.Close()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := <-read; err != nil {
		t.Fatalf("reading replies: %v", err)
	}
	if len(replies) != n {
		t.Fatalf("%d replies for %d requests", len(replies), n)
	}
	for id := uint64(1); id <= n; id++ {
		msg, ok := replies[id]
		switch {
		case !ok:
			t.Errorf("id %d got no reply", id)
		case id%3 == 0 && msg != fmt.Sprintf("record at in/%d@%d: failed", id%3, id):
			t.Errorf("id %d: reply %q, want its own failure", id, msg)
		case id%3 != 0 && msg != "":
			t.Errorf("id %d: reply %q, want ok", id, msg)
		}
	}
	if order[0] == 1 {
		t.Errorf("replies in request order %v: the slowest request was answered first", order)
	}
	if !slices.Equal(others, []string{"a stray line from a library"}) {
		t.Errorf("non-request lines %q", others)
	}
}

func TestBridgeProtocolErrorStopsServing(t *testing.T) {
	err := serve(strings.NewReader("R 1 t 0 0 - -\nR 2 t zero 0 - -\n"), &replier{w: io.Discard},
		func(BridgeRecord) error { return nil }, func(string) {})
	if !errors.Is(err, ErrBridgeLine) {
		t.Fatalf("serve = %v, want ErrBridgeLine", err)
	}
}

func TestBridgeArgsCarryTheGroupTimeoutsAndStaticMembership(t *testing.T) {
	c := BridgeConfig{Java: "java", Classpath: "libs/*:classes", Seeds: []string{"a:1", "b:2"}, Topic: "in", Group: "g",
		InstanceID: "g-w0", Ordering: OrderPartition, MaxConcurrency: 8, SessionTimeout: 45 * time.Second,
		MaxPollInterval: 1500 * time.Millisecond, HeartbeatInterval: 150 * time.Millisecond, CommitInterval: 250 * time.Millisecond}
	got := strings.Join(c.args(), " ")
	for _, want := range []string{"-cp libs/*:classes LabBridge", "--bootstrap a:1,b:2", "--instance-id g-w0",
		"--ordering PARTITION", "--max-concurrency 8", "--session-timeout-ms 45000", "--max-poll-interval-ms 1500",
		"--heartbeat-ms 150", "--commit-interval-ms 250", "--close-timeout-s 10"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "--retry-delay-ms") {
		t.Errorf("args %q set a retry delay: zero must keep PC's default", got)
	}
}

// encodeRequest renders r as the JVM writes it (without the newline).
func encodeRequest(r BridgeRecord) string {
	enc := func(b []byte) string {
		if b == nil {
			return "-"
		}
		return "+" + base64.StdEncoding.EncodeToString(b)
	}
	return fmt.Sprintf("R %d %s %d %d %s %s", r.ID, r.Topic, r.Partition, r.Offset, enc(r.Key), enc(r.Value))
}

// decodeReply parses a reply line as the JVM does: its id, and "" for ok or
// the failure message.
func decodeReply(line string) (uint64, string, error) {
	ids, rest, _ := strings.Cut(line, " ")
	id, err := strconv.ParseUint(ids, 10, 64)
	if msg, ok := strings.CutPrefix(rest, "fail "); ok && err == nil {
		return id, msg, nil
	} else if rest != "ok" && err == nil {
		err = fmt.Errorf("want ok or fail, got %q", line)
	}
	return id, "", err
}
