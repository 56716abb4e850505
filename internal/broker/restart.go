package broker

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"time"
)

// resume starts a recorded cluster whose every JVM is gone on its data.
func resume(ctx context.Context, o Options, st *State) (*State, error) {
	where := brokerDir(o.Home)
	if st.BasePort != o.BasePort || len(st.Nodes) != o.Nodes || (st.Secure != nil) != o.Secure || st.Proxied != o.Proxied {
		return nil, fmt.Errorf("a stopped cluster is recorded in %s (%d node(s), port %d, secure %v), not the one asked for (%d node(s), port %d, secure %v): start it with those settings, or discard it with --fresh",
			where, len(st.Nodes), st.BasePort, st.Secure != nil, o.Nodes, o.BasePort, o.Secure)
	}
	for _, n := range st.Nodes {
		if len(n.Argv) == 0 {
			return nil, fmt.Errorf("the stopped cluster in %s was recorded by an older kpar without its command lines: discard it with --fresh", where)
		}
		if err := waitPortsFree([]int{n.Port, n.ControllerPort}, true); err != nil {
			return nil, err
		}
	}
	o.Progress(fmt.Sprintf("found a stopped cluster in %s (%d node(s), Kafka %s, started %s): restarting it on its data (--fresh starts over)",
		where, len(st.Nodes), st.KafkaVersion, st.Started.Format(time.RFC3339)))
	if err := launchAll(o.Home, st, true); err != nil {
		return nil, err
	}
	if err := awaitReady(ctx, o, st); err != nil {
		return nil, err
	}
	st.Resumed = true
	return st, nil
}

// Restart stops the given nodes (all when ids is empty) of the cluster
// recorded under home, if running (SIGTERM, SIGKILL after 30 s), starts them
// again on their data and waits until the cluster answers.
func Restart(ctx context.Context, home string, ids []int, timeout time.Duration) (*State, error) {
	home = cmp.Or(home, Home())
	st, err := LoadState(home)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		for _, n := range st.Nodes {
			ids = append(ids, n.ID)
		}
	}
	var picked []*Node
	sub := &State{}
	for _, id := range ids {
		i := slices.IndexFunc(st.Nodes, func(n Node) bool { return n.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("--node %d: the cluster in %s has nodes 1 to %d", id, brokerDir(home), len(st.Nodes))
		}
		if err := st.Nodes[i].startable(); err != nil {
			return nil, err
		}
		picked, sub.Nodes = append(picked, &st.Nodes[i]), append(sub.Nodes, st.Nodes[i])
	}
	stopNodes(sub, stopGrace)
	if err := stillAlive(sub); err != nil {
		return nil, err
	}
	for _, n := range picked {
		if err := launch(n, true); err != nil {
			return nil, err
		}
		if err := saveState(home, st); err != nil {
			return nil, err
		}
	}
	if timeout <= 0 {
		timeout = 90 * time.Second
	}
	if err := waitReady(ctx, st, timeout); err != nil {
		return nil, err
	}
	return st, nil
}

// stopGrace is how long a node gets for a clean shutdown.
const stopGrace = 30 * time.Second

// stopNodes sends SIGTERM to every live node kpar started, waits for a clean
// shutdown, and SIGKILLs what remains after grace (0: at once).
func stopNodes(st *State, grace time.Duration) []int {
	ps := make([]Proc, len(st.Nodes))
	for i, n := range st.Nodes {
		ps[i] = Proc{n.Pid, n.PidStartTime}
	}
	return Terminate(ps, grace)
}

// stillAlive names the first node of st whose JVM did not stop.
func stillAlive(st *State) error {
	for _, n := range st.Nodes {
		if n.Alive() {
			return fmt.Errorf("node %d (pid %d) did not stop", n.ID, n.Pid)
		}
	}
	return nil
}

// Down stops exactly the JVMs recorded under home and removes their data.
// It returns the pids it signalled; ErrNotUp when nothing is recorded.
func Down(home string) ([]int, error) {
	home = cmp.Or(home, Home())
	st, err := LoadState(home)
	if err != nil {
		return nil, err
	}
	stopped := stopNodes(st, stopGrace)
	if err := stillAlive(st); err != nil {
		return stopped, err
	}
	// Data is per run: the next `up` formats fresh storage. Keep nothing stale.
	return stopped, os.RemoveAll(brokerDir(home))
}
