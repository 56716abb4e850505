package trogdor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/broker"
)

// Main classes of Trogdor's two daemons.
const (
	agentClass       = "org.apache.kafka.trogdor.agent.Agent"
	coordinatorClass = "org.apache.kafka.trogdor.coordinator.Coordinator"
	// CoordinatorName is the coordinator's node name in the platform file.
	CoordinatorName = "coordinator"
)

// StateVersion is the schema version of trogdor/state.json.
const StateVersion = 1

// State records a Trogdor platform kpar set up: on this host (Up, with pids)
// or for real hosts (Plan, Remote, no pids: kpar started nothing).
type State struct {
	Version        int       `json:"version"`
	TrogdorVersion string    `json:"trogdor_version"`
	Platform       string    `json:"platform"` // the platform file's path
	Remote         bool      `json:"remote"`
	Started        time.Time `json:"started"`
	Coordinator    Process   `json:"coordinator"`
	Agents         []Process `json:"agents"`
}

// Process is one Trogdor daemon: the coordinator or an agent.
type Process struct {
	Name         string   `json:"name"` // node name in the platform file
	Host         string   `json:"host"`
	Port         int      `json:"port"`
	Pid          int      `json:"pid,omitempty"`
	PidStartTime uint64   `json:"pid_start_time,omitempty"` // /proc starttime: guards against pid reuse
	Log          string   `json:"log,omitempty"`
	Out          string   `json:"out,omitempty"`
	Argv         []string `json:"argv,omitempty"`
}

// Alive reports whether the process kpar started still runs (same pid and
// start time). A remote process (no pid) is never ours.
func (p Process) Alive() bool { return p.Pid > 0 && broker.ProcessAlive(p.Pid, p.PidStartTime) }

// URL is the daemon's REST address.
func (p Process) URL() string {
	return "http://" + net.JoinHostPort(p.Host, fmt.Sprint(p.Port))
}

// all is the coordinator, then the agents.
func (s *State) all() []Process { return append([]Process{s.Coordinator}, s.Agents...) }

// statusURL is the daemon's status endpoint: it answers once the daemon is up.
func (p Process) statusURL() string {
	if p.Name == CoordinatorName {
		return p.URL() + "/coordinator/status"
	}
	return p.URL() + "/agent/status"
}

func dir(home string) string       { return filepath.Join(home, "trogdor") }
func statePath(home string) string { return filepath.Join(dir(home), "state.json") }

// ErrNotUp: nothing is recorded under the home.
var ErrNotUp = errors.New("no Trogdor platform is recorded (start one with 'kpar trogdor up')")

// LoadState reads what Up or Plan recorded under home.
func LoadState(home string) (*State, error) {
	return broker.ReadStateFile[State](statePath(home), StateVersion, ErrNotUp)
}

func saveState(home string, s *State) error { return broker.WriteStateFile(statePath(home), s) }

// Options configure Up.
type Options struct {
	Home         string        // kpar home; broker.Home() when empty
	Agents       int           // agents to start, each its own JVM
	Port         int           // the coordinator's port; agents take Port+1 ... Port+Agents
	Heap         string        // each agent JVM's -Xmx
	ReadyTimeout time.Duration // how long to wait for every REST API to answer
	Progress     func(string)
}

// Validate names the flag of a bad option.
func (o Options) Validate() error {
	switch {
	case o.Agents < 1 || o.Agents > 64:
		return fmt.Errorf("--agents %d: want 1..64", o.Agents)
	case o.Port < 1 || o.Port+o.Agents > 65535:
		return fmt.Errorf("--port %d: want a port with room for %d agent ports above it", o.Port, o.Agents)
	case o.Heap == "" || strings.ContainsAny(o.Heap, " \t"):
		return fmt.Errorf("--heap %q: want a JVM size such as 512M", o.Heap)
	}
	return nil
}

// newState records a platform of coord and agents in directory d, and
// writes its platform file there: Trogdor's BasicPlatform, one node per
// daemon. The coordinator's node has agent port 0, so the coordinator
// manages no agent on it.
func newState(d string, coord Process, agents []Process, remote bool) (*State, error) {
	st := &State{Version: StateVersion, TrogdorVersion: Version, Platform: filepath.Join(d, "platform.json"), Remote: remote,
		Started: time.Now().UTC(), Coordinator: coord, Agents: agents}
	nodes := map[string]map[string]any{
		coord.Name: {"hostname": coord.Host, "trogdor.coordinator.port": coord.Port, "trogdor.agent.port": 0},
	}
	for _, a := range agents {
		nodes[a.Name] = map[string]any{"hostname": a.Host, "trogdor.agent.port": a.Port}
	}
	pf, err := json.MarshalIndent(map[string]any{
		"_comment": "written by kpar: one coordinator and its agents (Apache Kafka Trogdor " + Version + ")",
		"platform": "org.apache.kafka.trogdor.basic.BasicPlatform",
		"nodes":    nodes,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	return st, os.WriteFile(st.Platform, pf, 0o644)
}

// Up starts a coordinator and o.Agents agents on this host, each its own
// JVM, node name and port, records them, and waits for every REST API to
// answer. On failure it stops whatever it started.
func Up(ctx context.Context, o Options) (*State, error) {
	o.Home, o.ReadyTimeout = cmp.Or(o.Home, broker.Home()), cmp.Or(o.ReadyTimeout, 60*time.Second)
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := o.free(); err != nil {
		return nil, err
	}
	st, err := create(ctx, o)
	if err != nil {
		return nil, err
	}
	o.Progress(fmt.Sprintf("starting the Trogdor %s coordinator on port %d and %d agent(s) on ports %d-%d", Version, o.Port, o.Agents, o.Port+1, o.Port+o.Agents))
	// Agents first: the coordinator's first heartbeats then find them.
	var ps []*Process
	for i := range st.Agents {
		ps = append(ps, &st.Agents[i])
	}
	for _, p := range append(ps, &st.Coordinator) {
		err := launch(p)
		if err == nil {
			err = saveState(o.Home, st) // each pid at once, so down stops a partial start
		}
		if err != nil {
			stopAll(st)
			return nil, err
		}
	}
	if err := waitReady(ctx, st, o.ReadyTimeout); err != nil {
		stopAll(st)
		_ = os.Remove(statePath(o.Home))
		return nil, err
	}
	return st, nil
}

// free refuses a platform recorded under the home that still runs or is
// for other hosts, and a port in use.
func (o Options) free() error {
	st, err := recorded(o.Home)
	if err != nil {
		return err
	}
	if st != nil && st.Remote {
		return fmt.Errorf("%s records a platform for other hosts (%s): 'kpar trogdor down' first", o.Home, st.Platform)
	}
	for p := o.Port; p <= o.Port+o.Agents; p++ {
		if portInUse(p) {
			return fmt.Errorf("port %d is in use: choose another --port (the coordinator takes it, agents the next %d)", p, o.Agents)
		}
	}
	return nil
}

// recorded is the platform recorded under home (nil when none can be
// read), refused while one of its daemons runs.
func recorded(home string) (*State, error) {
	st, err := LoadState(home)
	if err != nil {
		return nil, nil
	}
	for _, p := range st.all() {
		if p.Alive() {
			return nil, fmt.Errorf("a Trogdor coordinator or agent is already running under %s (%s, pid %d): 'kpar trogdor down' first", home, p.Name, p.Pid)
		}
	}
	return st, nil
}

// create writes a new platform's files under the home (what was there
// goes) and each daemon's command line; it starts nothing.
func create(ctx context.Context, o Options) (*State, error) {
	java, err := broker.JavaBin()
	if err != nil {
		return nil, err
	}
	libs, err := LibDir(ctx, o.Progress)
	if err != nil {
		return nil, err
	}
	d := dir(o.Home)
	if err := os.RemoveAll(d); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	logCfg := filepath.Join(d, "log4j2.properties")
	if err := os.WriteFile(logCfg, log4jProps, 0o644); err != nil {
		return nil, err
	}
	var agents []Process
	for i := 0; i < o.Agents; i++ {
		agents = append(agents, Process{Name: fmt.Sprintf("agent-%d", i), Host: "127.0.0.1", Port: o.Port + 1 + i})
	}
	st, err := newState(d, Process{Name: CoordinatorName, Host: "127.0.0.1", Port: o.Port}, agents, false)
	if err != nil {
		return nil, err
	}
	argv := func(p *Process, class, heap string) {
		pd := filepath.Join(d, p.Name)
		p.Log, p.Out = filepath.Join(pd, "trogdor.log"), filepath.Join(pd, "stdout.log")
		p.Argv = []string{java, "-Xmx" + heap, "-Djava.awt.headless=true",
			"-Dkpar.trogdor.log=" + p.Log, "-Dlog4j2.configurationFile=" + logCfg,
			"-cp", filepath.Join(libs, "*"), class, "-c", st.Platform, "-n", p.Name}
	}
	argv(&st.Coordinator, coordinatorClass, "256M")
	for i := range st.Agents {
		argv(&st.Agents[i], agentClass, o.Heap)
	}
	return st, nil
}

// launch starts p's JVM in its own session (so it outlives this command
// and our terminal's signals) and records its pid and start time.
func launch(p *Process) error {
	if err := os.MkdirAll(filepath.Dir(p.Out), 0o755); err != nil {
		return err
	}
	pid, start, err := broker.Spawn(p.Argv, nil, filepath.Dir(p.Out), p.Out, false)
	if err != nil {
		return fmt.Errorf("starting Trogdor %s: %w", p.Name, err)
	}
	p.Pid, p.PidStartTime = pid, start
	return nil
}

// waitReady polls every daemon's status endpoint until all answer; a JVM
// that exits fails at once with its output's tail.
func waitReady(ctx context.Context, st *State, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, p := range st.all() {
		for getJSON(ctx, hc, p.statusURL(), nil) != nil {
			if !p.Alive() {
				return fmt.Errorf("the Trogdor %s (pid %d) exited while starting; its output:\n%s", p.Name, p.Pid, broker.TailFile(p.Out, 15))
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the Trogdor %s did not answer on %s within %s; its log:\n%s", p.Name, p.URL(), timeout, broker.TailFile(p.Log, 15))
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// stopAll sends SIGTERM to every live process kpar recorded, SIGKILLs what
// is left after a grace period and waits for it to go. It returns the pids
// it signalled.
func stopAll(st *State) []int {
	var ps []broker.Proc
	for _, p := range st.all() {
		ps = append(ps, broker.Proc{Pid: p.Pid, StartTime: p.PidStartTime})
	}
	return broker.Terminate(ps, 20*time.Second)
}

// Down stops exactly the JVMs recorded under home and removes the platform
// directory. It returns the pids it signalled; ErrNotUp when nothing is
// recorded. A remote platform's record is removed; kpar started nothing.
func Down(home string) ([]int, error) {
	home = cmp.Or(home, broker.Home())
	st, err := LoadState(home)
	if err != nil {
		return nil, err
	}
	stopped := stopAll(st)
	for _, p := range st.all() {
		if p.Alive() {
			return stopped, fmt.Errorf("the Trogdor %s (pid %d) did not stop", p.Name, p.Pid)
		}
	}
	return stopped, os.RemoveAll(dir(home))
}

// ProcessStatus is one daemon's health as Status reports it.
type ProcessStatus struct {
	Process
	Running   bool   `json:"running"`
	Answering bool   `json:"answering"`
	Error     string `json:"error,omitempty"`
}

// Status reports every recorded daemon: does its JVM run (local only) and
// does its REST API answer.
func Status(ctx context.Context, home string) (*State, []ProcessStatus, error) {
	st, err := LoadState(cmp.Or(home, broker.Home()))
	if err != nil {
		return nil, nil, err
	}
	hc := &http.Client{Timeout: 3 * time.Second}
	var out []ProcessStatus
	for _, p := range st.all() {
		s := ProcessStatus{Process: p, Running: p.Alive()}
		if err := getJSON(ctx, hc, p.statusURL(), nil); err != nil {
			s.Error = err.Error()
		} else {
			s.Answering = true
		}
		out = append(out, s)
	}
	return st, out, nil
}

func portInUse(port int) bool { return broker.PortInUse("", port) }
