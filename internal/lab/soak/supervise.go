package soak

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/lab/worker"
)

// MemberExit is a member process that ended without the soak asking (the
// library stops Run on errors no retry cures, such as a fenced
// transactional producer); the soak restarts it, as an application would.
type MemberExit struct {
	Sec      float64 `json:"sec"` // seen gone, since the start
	Strategy string  `json:"strategy"`
	Slot     string  `json:"slot"`
	Code     int     `json:"exit_code"` // -1: a signal
	Reason   string  `json:"reason"`    // the last of its stderr
	// Restarted: a static member is started again at once; a dynamic one
	// is not (the schedule's joins and leaves own those).
	Restarted bool   `json:"restarted"`
	Error     string `json:"error,omitempty"` // the restart failed
}

// supervise looks at the members every half second until ctx ends; a
// listed member that exited (the faults unlist theirs first) is recorded
// and, when static, started again.
func (r *run) supervise(ctx context.Context, params map[string]worker.Params) []MemberExit {
	var out []MemberExit
	for ctx.Err() == nil {
		for _, e := range r.exited() {
			e.Sec = time.Since(r.start).Seconds()
			if e.Restarted {
				if err := r.startMember(params[e.Strategy], e.Slot, true); err != nil {
					e.Restarted, e.Error = false, err.Error()
				}
			}
			r.cfg.progress(fmt.Sprintf("soak: %5.1fs member-exit    %s %s exited on its own (code %d: %s), %s",
				e.Sec, e.Strategy, e.Slot, e.Code, e.Reason, e.restart()))
			out = append(out, e)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return out
}

// restart says what became of the member after its exit.
func (e MemberExit) restart() string {
	if e.Error != "" {
		return "restart failed: " + e.Error
	}
	if e.Restarted {
		return "restarted"
	}
	return "not restarted (dynamic)"
}

// exited takes the members that exited off the list.
func (r *run) exited() []MemberExit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []MemberExit
	for st, ms := range r.members {
		kept := ms[:0]
		for _, m := range ms {
			if !m.Exited() {
				kept = append(kept, m)
				continue
			}
			out = append(out, MemberExit{Strategy: st, Slot: m.slot, Code: m.ExitCode(),
				Reason: strings.ReplaceAll(m.Tail(3), "\n", " | "), Restarted: m.slot[0] == 'w'})
		}
		r.members[st] = kept
	}
	return out
}
