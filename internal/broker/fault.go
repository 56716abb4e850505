package broker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Faults applies process faults (SIGKILL, SIGSTOP/SIGCONT, a graceful
// restart) to the nodes of a cluster kpar started, recorded under a home.
// Only recorded pids whose /proc start time still matches are signalled,
// as Down does: a cluster kpar did not start cannot be opened.
//
// A node is restarted from the command line, environment and working
// directory its running JVM had when Faults was opened (read from /proc),
// so a restarted node is the same JVM with the same flags and heap without
// Faults knowing how Up built them. The new pid is written to state.json,
// so 'kpar broker down' stops the restarted node too.
type Faults struct {
	home  string
	st    *State
	procs map[int]proc // by node id
}

type proc struct {
	argv, env []string
	dir       string
}

// ErrNotOurs is returned when a node is not a live process kpar recorded.
var ErrNotOurs = errors.New("not a live process recorded by kpar")

// OpenFaults reads the cluster recorded under home; every node must be alive.
func OpenFaults(home string) (*Faults, error) {
	st, err := LoadState(home)
	if err != nil {
		return nil, err
	}
	f := &Faults{home: home, st: st, procs: map[int]proc{}}
	for _, n := range st.Nodes {
		if !n.Alive() {
			return nil, fmt.Errorf("node %d (pid %d) under %s: %w", n.ID, n.Pid, home, ErrNotOurs)
		}
		p, err := readProc(n.Pid)
		if err != nil {
			return nil, fmt.Errorf("node %d (pid %d): %w", n.ID, n.Pid, err)
		}
		f.procs[n.ID] = p
	}
	return f, nil
}

func readProc(pid int) (proc, error) {
	split := func(b []byte) []string {
		var out []string
		for _, s := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
			out = append(out, string(s))
		}
		return out
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return proc{}, err
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return proc{}, err
	}
	dir, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return proc{}, err
	}
	p := proc{argv: split(cmd), env: split(env), dir: dir}
	if len(p.argv) == 0 || p.argv[0] == "" {
		return proc{}, fmt.Errorf("empty /proc/%d/cmdline", pid)
	}
	return p, nil
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
	p := f.procs[id]
	pid, start, err := Spawn(p.argv, p.env, p.dir, n.Out, true)
	if err != nil {
		return fmt.Errorf("restarting node %d: %w", id, err)
	}
	n.Pid, n.PidStartTime = pid, start
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
