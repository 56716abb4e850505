package stuck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/kpar/kpar/internal/proc"
)

// consumerProc is one consumer process: its progress lines are read as they come.
type consumerProc struct {
	*proc.Process

	mu   sync.Mutex
	last progressLine
	seen bool
}

// startProc starts a consumer process through start, named name, keeping
// its last progress line.
func startProc(ctx context.Context, name string, start func(proc.Options) (*proc.Process, error)) (*consumerProc, error) {
	p := &consumerProc{}
	var err error
	p.Process, err = start(proc.Options{OnLine: func(b []byte) {
		var pl progressLine
		if json.Unmarshal(b, &pl) == nil && pl.Kind == "progress" {
			p.mu.Lock()
			p.last, p.seen = pl, true
			p.mu.Unlock()
		}
	}})
	if err != nil {
		return nil, err
	}
	p.Name = name
	return p, nil
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

// exitedStuck is the error for a process that exited while its records
// were stuck.
func (p *consumerProc) exitedStuck() error {
	if err := p.unexpected(); err != nil {
		return err
	}
	return fmt.Errorf("%s exited while its records were stuck", p.Name)
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
