package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The command harness every test of this package shares: the tree run
// in-process (runKpar), or the kpar binary (kparBinary, runBinary), and the
// check that a failed run wrote nothing.

// runKpar runs the command tree in-process and returns stdout and the error.
func runKpar(t *testing.T, args ...string) (string, error) {
	t.Helper()
	stdout, _, err := runKparOutputs(t, args...)
	return stdout, err
}

// runKparOutputs is runKpar with stderr too.
func runKparOutputs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// kparBinary builds kpar into the test's temporary directory: the
// measurements that start child processes (`kpar child ...`) need the real
// binary, not the test.
func kparBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kpar")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/kpar/kpar/cmd/kpar").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs bin with args (binaryLimit at most) and fails the test,
// with both outputs, when it does not exit 0.
func runBinary(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := execBinary(bin, args...)
	if err != nil {
		t.Fatalf("kpar %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout, stderr)
	}
	return stdout, stderr
}

// binaryLimit bounds one kpar run of a test: a hung binary fails, a slow
// machine does not (the comparison's smoke run, a JVM per PC run, took
// 175 s of the former 3 minutes on a loaded 2-core machine).
const binaryLimit = 5 * time.Minute

// execBinary runs bin with args (binaryLimit at most): its outputs and its
// exit error.
func execBinary(bin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), binaryLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// assertNothingWritten fails when a failed run left anything in its --out.
func assertNothingWritten(t *testing.T, out string) {
	t.Helper()
	ents, err := os.ReadDir(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("a failed run wrote into --out: %v", names)
	}
}
