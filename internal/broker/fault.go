package broker

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Faults applies process faults (SIGKILL, SIGSTOP/SIGCONT, a graceful
// restart) to the nodes of a cluster kpar started, recorded under a home.
// Only recorded pids whose /proc start time still matches are signalled,
// as Down does: a cluster kpar did not start cannot be opened.
//
// A node is restarted from the command line Up recorded for it (Node.Argv),
// as Restart does, so a restarted node is the same JVM with the same flags
// and heap without Faults knowing how Up built them. The new pid is written
// to state.json, so 'kpar broker down' stops the restarted node too.
type Faults struct {
	home string
	st   *State
}

// ErrNotOurs is returned when a node is not a live process kpar recorded.
var ErrNotOurs = errors.New("not a live process recorded by kpar")

// OpenFaults reads the cluster recorded under home; every node must be
// alive, with its command line recorded.
func OpenFaults(home string) (*Faults, error) {
	st, err := LoadState(home)
	if err != nil {
		return nil, err
	}
	for _, n := range st.Nodes {
		if !n.Alive() {
			return nil, fmt.Errorf("node %d (pid %d) under %s: %w", n.ID, n.Pid, home, ErrNotOurs)
		}
		if err := n.startable(); err != nil {
			return nil, err
		}
	}
	return &Faults{home: home, st: st}, nil
}

// State is the cluster as recorded now (pids change with Start).
func (f *Faults) State() *State { return f.st }

func (f *Faults) node(id int) (*Node, error) {
	for i := range f.st.Nodes {
		if f.st.Nodes[i].ID == id {
			return &f.st.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("no node %d recorded under %s", id, f.home)
}

// signalNode sends sig to node id if it is still the process kpar recorded.
func (f *Faults) signalNode(id int, sig syscall.Signal) (*Node, error) {
	n, err := f.node(id)
	if err != nil {
		return nil, err
	}
	if !n.Alive() {
		return n, fmt.Errorf("node %d (pid %d): %w", id, n.Pid, ErrNotOurs)
	}
	return n, syscall.Kill(n.Pid, sig)
}

// Kill SIGKILLs node id and waits until the process is gone.
func (f *Faults) Kill(id int) error {
	n, err := f.signalNode(id, syscall.SIGKILL)
	if err != nil {
		return err
	}
	return waitGone(n, 10*time.Second)
}

// Stop freezes node id (SIGSTOP): its sockets stay open, nothing answers.
func (f *Faults) Stop(id int) error {
	_, err := f.signalNode(id, syscall.SIGSTOP)
	return err
}

// Cont resumes a node frozen by Stop.
func (f *Faults) Cont(id int) error {
	_, err := f.signalNode(id, syscall.SIGCONT)
	return err
}

// Shutdown stops node id gracefully (SIGTERM: Kafka's controlled shutdown
// moves its leaderships away first) and SIGKILLs it after grace.
func (f *Faults) Shutdown(id int, grace time.Duration) error {
	n, err := f.signalNode(id, syscall.SIGTERM)
	if err != nil {
		return err
	}
	if waitGone(n, grace) == nil {
		return nil
	}
	_ = syscall.Kill(n.Pid, syscall.SIGKILL)
	return waitGone(n, 10*time.Second)
}

// Alive reports whether node id is running as recorded.
func (f *Faults) Alive(id int) bool {
	n, err := f.node(id)
	return err == nil && n.Alive()
}

// Start starts node id again, as it was running when Faults was opened, and
// records the new pid. It does not wait for the node to answer.
func (f *Faults) Start(id int) error {
	n, err := f.node(id)
	if err != nil {
		return err
	}
	if n.Alive() {
		return fmt.Errorf("node %d (pid %d) is still running", id, n.Pid)
	}
	if err := launch(n, true); err != nil {
		return err
	}
	return saveState(f.home, f.st)
}

func waitGone(n *Node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for n.Alive() {
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d (pid %d) still running after %s", n.ID, n.Pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
