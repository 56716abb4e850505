package strategy

import (
	"strings"
	"time"

	"github.com/kpar/kpar/parallel"
)

// libraryVariant resolves lib-key@250ms, lib-unordered@1s, lib-key@0 and
// the like: a lib-* strategy with the library's commit interval set to what
// follows the @ (0: back to back, parallel.CommitInterval(0)). They are
// named with --strategies and never in the default run: the replay window
// against the commit interval is a measurement of its own.
func libraryVariant(name string) (Func, bool) {
	base, iv, ok := strings.Cut(name, "@")
	if !ok {
		return nil, false
	}
	orders := map[string]parallel.Order{"lib-key": parallel.OrderKey, "lib-partition": parallel.OrderPartition,
		"lib-unordered": parallel.OrderNone}
	order, known := orders[base]
	if !known {
		return nil, false
	}
	d, err := time.ParseDuration(iv)
	if err != nil || d < 0 {
		return nil, false
	}
	return library(order, d), true
}
