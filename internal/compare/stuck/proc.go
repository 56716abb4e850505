package stuck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kpar/kpar/internal/proc"

	"sync"
)

// consumerProc is one consumer process: its progress lines are read as they come.
type consumerProc struct {
	*proc.Process

	mu   sync.Mutex
	last progressLine
	seen bool
}

// onLine keeps the last progress line.
func (p *consumerProc) onLine(b []byte) {
	var pl progressLine
	if json.Unmarshal(b, &pl) == nil && pl.Kind == "progress" {
		p.mu.Lock()
		p.last, p.seen = pl, true
		p.mu.Unlock()
	}
}

// startKpar starts kpar's consumer process; startPC PC's harness.
func startKpar(ctx context.Context, start proc.Starter, name string, spec ChildSpec) (*consumerProc, error) {
	p := &consumerProc{}
	var err error
	p.Process, err = start(ctx, "window-kpar", spec, proc.Options{OnLine: p.onLine})
	if p.Process != nil {
		p.Name = name
	}
	return p, err
}

func startPC(ctx context.Context, name string, argv []string) (*consumerProc, error) {
	p := &consumerProc{}
	var err error
	p.Process, err = proc.Start(ctx, name, argv, proc.Options{Stdin: true, OnLine: p.onLine})
	return p, err
}

// progress returns the last progress line, if any came.
func (p *consumerProc) progress() (progressLine, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.seen
}

// unexpected is the error for a process that exited before we stopped it
// (nil when it exited cleanly by itself).
func (p *consumerProc) unexpected() error {
	if p.Signaled() || !p.Exited() || p.Wait() == nil {
		return nil
	}
	return fmt.Errorf("%s exited unexpectedly: %v; stderr tail:\n%s", p.Name, p.Wait(), p.Tail(20))
}

// release lets the process's stuck records finish: the release line on its
// stdin (the only thing that does).
func (p *consumerProc) release() error {
	if err := p.Send(ReleaseLine); err != nil {
		if err := p.unexpected(); err != nil {
			return err
		}
		return fmt.Errorf("release the stuck records of %s: %w", p.Name, err)
	}
	return nil
}

// errEarly is a stuck record in the processed log before the release: the
// library handed it to the handler a second time while the first call was
// still held (the gate holds only the first call per partition).
var errEarly = errors.New("a stuck record was processed before the release")
