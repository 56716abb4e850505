package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"
)

// StateVersion is the schema version of state.json.
const StateVersion = 1

// State records a cluster kpar started.
type State struct {
	Version      int       `json:"version"`
	KafkaVersion string    `json:"kafka_version"`
	ClusterID    string    `json:"cluster_id"`
	BasePort     int       `json:"base_port"`
	Started      time.Time `json:"started"`
	Nodes        []Node    `json:"nodes"`
	// Secure is set when the cluster was started with --secure.
	Secure *Secure `json:"secure,omitempty"`
	// Proxied is set when the cluster was started with Options.Proxied
	// (proxied.go).
	Proxied bool `json:"proxied,omitempty"`
	// Resumed is set by Up when it restarted a stopped cluster on its data
	// instead of formatting a new one (not stored).
	Resumed bool `json:"-"`
}

// Node is one KRaft node (combined broker and controller) kpar started.
type Node struct {
	ID             int    `json:"id"`
	Pid            int    `json:"pid"`
	PidStartTime   uint64 `json:"pid_start_time"` // /proc starttime: guards against pid reuse
	Port           int    `json:"port"`
	ControllerPort int    `json:"controller_port"`
	Dir            string `json:"dir"`
	Log            string `json:"log"` // the broker's server.log
	Out            string `json:"out"` // the JVM's stdout/stderr
	// Argv is the JVM's command line, so a stopped node can be started again
	// on its data (Up after a crash, Restart) without the options Up had.
	Argv []string `json:"argv,omitempty"`
}

// Bootstrap returns the client addresses of every node.
func (s *State) Bootstrap() []string {
	ports := make([]int, len(s.Nodes))
	for i, n := range s.Nodes {
		ports[i] = n.Port
	}
	return loopback(ports)
}

// adminBootstrap is where kpar's own probes connect: the client ports, or
// on a secured cluster the loopback listeners that need no credentials.
func (s *State) adminBootstrap() []string {
	if s.Secure == nil {
		return s.Bootstrap()
	}
	return loopback(s.Secure.InternalPorts)
}

// loopback is 127.0.0.1:port for each port.
func loopback(ports []int) []string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return out
}

// Alive reports whether this node's JVM is still the process kpar started.
func (n Node) Alive() bool { return ProcessAlive(n.Pid, n.PidStartTime) }

// startable says why n cannot be started again on its data (nil: it can).
func (n Node) startable() error {
	if len(n.Argv) == 0 {
		return fmt.Errorf("node %d was recorded by an older kpar without its command line: restart the cluster with 'kpar broker down' and 'up'", n.ID)
	}
	return nil
}

// ErrNotUp is returned when no cluster state is recorded under the home.
var ErrNotUp = errors.New("no local broker is recorded as running (start one with 'kpar broker up')")

// LoadState reads what `Up` recorded under home; ErrNotUp when nothing is.
func LoadState(home string) (*State, error) {
	return ReadStateFile[State](statePath(home), StateVersion, ErrNotUp)
}

func saveState(home string, s *State) error { return WriteStateFile(statePath(home), s) }

// NodeStatus is one node's health as `status` reports it.
type NodeStatus struct {
	Node
	Running   bool    `json:"running"`
	Answering bool    `json:"answering"`
	CPUSecs   float64 `json:"cpu_seconds"`
	Error     string  `json:"error,omitempty"`
}

// Status reports each recorded node: is its JVM alive, does it answer.
func Status(ctx context.Context, home string) (*State, []NodeStatus, error) {
	home = cmp.Or(home, Home())
	st, err := LoadState(home)
	if err != nil {
		return nil, nil, err
	}
	out := make([]NodeStatus, len(st.Nodes))
	for i, n := range st.Nodes {
		ns := NodeStatus{Node: n, Running: n.Alive()}
		if ns.Running {
			ns.CPUSecs, _ = CPUSeconds(n.Pid)
			if err := Probe(ctx, []string{st.adminBootstrap()[i]}, 3*time.Second); err != nil {
				ns.Error = err.Error()
			} else {
				ns.Answering = true
			}
		}
		out[i] = ns
	}
	return st, out, nil
}
