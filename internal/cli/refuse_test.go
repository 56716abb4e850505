package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badFlag is a command line that must fail naming want (name: the subtest;
// empty, the args).
type badFlag struct {
	name string
	args []string
	want string
}

// refusedBeforeTheBroker runs cmd against the unreachable broker
// 127.0.0.1:1 with --out and each case's args, in a subtest each. Every run
// must fail naming its flag, before any broker is looked up (the error
// names neither the address nor any of absent), print nothing and create
// no --out.
func refusedBeforeTheBroker(t *testing.T, cmd []string, cases []badFlag, absent ...string) {
	t.Helper()
	for _, c := range cases {
		name := c.name
		if name == "" {
			name = strings.Join(c.args, " ")
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			args := append(append([]string{"--brokers", "127.0.0.1:1"}, cmd...), "--out", out)
			stdout, err := runKpar(t, append(args, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			for _, a := range append([]string{"127.0.0.1:1"}, absent...) {
				if strings.Contains(err.Error(), a) {
					t.Fatalf("a bad flag reached the broker: %v", err)
				}
			}
			if stdout != "" {
				t.Fatalf("a bad flag printed: stdout %q", stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("a bad flag created --out: %v", err)
			}
		})
	}
}
