package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	kproc "github.com/kpar/kpar/internal/proc"
)

// Options configure Up.
type Options struct {
	Home         string        // state dir; Home() when empty
	Nodes        int           // 1 or 3
	BasePort     int           // first client port; 9092 by default
	Heap         string        // JVM heap per node, e.g. "1G"
	ReadyTimeout time.Duration // how long to wait for the cluster to answer
	Progress     func(string)  // optional progress lines
	// Secure starts the client listeners as SASL_SSL with ACLs (secure.go).
	Secure bool
	// Fresh discards a stopped cluster recorded under Home (its topics and
	// committed offsets) and formats new storage. Without it, Up restarts a
	// cluster whose every JVM is gone (a crash, a reboot, a SIGKILL) on its
	// data.
	Fresh bool
	// Proxied adds a PROXIED client listener per node advertised at a
	// proxy's port (proxied.go), for the chaos soak.
	Proxied bool
}

func (o *Options) defaults() {
	o.Home, o.Nodes, o.BasePort = cmp.Or(o.Home, Home()), cmp.Or(o.Nodes, 1), cmp.Or(o.BasePort, 9092)
	if o.Heap == "" {
		o.Heap = "1G"
		if o.Nodes > 1 {
			o.Heap = "768M"
		}
	}
	o.ReadyTimeout = cmp.Or(o.ReadyTimeout, 90*time.Second)
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

func (o *Options) validate() error {
	if o.Nodes != 1 && o.Nodes != 3 {
		return fmt.Errorf("--nodes %d: kpar starts 1 or 3 nodes", o.Nodes)
	}
	if o.BasePort < 1024 || o.BasePort+100+o.Nodes > 65535 {
		return fmt.Errorf("--port %d: choose a base port between 1024 and %d", o.BasePort, 65535-100-o.Nodes)
	}
	return nil
}

// ErrAlreadyUp is returned (with the running state) when Up finds a live cluster.
var ErrAlreadyUp = errors.New("already up")

// Up starts a local KRaft cluster and waits until it answers metadata
// requests. If one is already recorded and alive it returns that state and
// ErrAlreadyUp. On failure it stops whatever it started.
func Up(ctx context.Context, o Options) (*State, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	stale := false // a recorded cluster of ours just died: its ports free up a moment later
	st, err := LoadState(o.Home)
	if err != nil && !errors.Is(err, ErrNotUp) {
		// Unreadable: it may record a cluster with data; never format over it.
		if !o.Fresh {
			return nil, fmt.Errorf("%w (remove %s, or use --fresh, to start a new cluster there)", err, brokerDir(o.Home))
		}
		o.Progress(fmt.Sprintf("--fresh: discarding %s", brokerDir(o.Home)))
		_ = os.RemoveAll(brokerDir(o.Home))
	}
	if err == nil {
		if err := st.running(o.Home); err != nil {
			return st, err
		}
		// Every recorded JVM is gone (a crash, a reboot, a SIGKILL): its data
		// is the user's topics and offsets. Start it again unless told not to.
		if !o.Fresh {
			return resume(ctx, o, st)
		}
		o.Progress(fmt.Sprintf("--fresh: discarding the stopped cluster in %s", brokerDir(o.Home)))
		_ = os.RemoveAll(brokerDir(o.Home))
		stale = true
	}
	for i := 0; i < o.Nodes; i++ {
		ports := []int{clientPort(o.BasePort, i), controllerPort(o.BasePort, i)}
		if o.Secure {
			ports = append(ports, internalPort(o.BasePort, i))
		}
		if err := waitPortsFree(ports, stale); err != nil {
			return nil, err
		}
	}
	if st, err = create(ctx, o); err != nil {
		return nil, err
	}
	if err := launchAll(o.Home, st, false); err != nil {
		return nil, err
	}
	if err := awaitReady(ctx, o, st); err != nil {
		_ = os.Remove(statePath(o.Home))
		return nil, err
	}
	return st, nil
}

// running is ErrAlreadyUp when every recorded node is alive and an error
// when some are; nil when every recorded JVM is gone.
func (s *State) running(home string) error {
	live := 0
	for _, n := range s.Nodes {
		if n.Alive() {
			live++
		}
	}
	switch {
	case live == len(s.Nodes):
		return ErrAlreadyUp
	case live > 0:
		return fmt.Errorf("a partly running cluster is recorded in %s (%d of %d nodes alive): run 'kpar broker down' first",
			statePath(home), live, len(s.Nodes))
	}
	return nil
}

// create writes a new cluster's files under the home, formats every node's
// storage and sets each node's command line; it starts no broker.
func create(ctx context.Context, o Options) (*State, error) {
	java, err := JavaBin()
	if err != nil {
		return nil, err
	}
	libs, err := LibDir(ctx, o.Progress)
	if err != nil {
		return nil, err
	}
	cid, err := newClusterID()
	if err != nil {
		return nil, err
	}
	dir := brokerDir(o.Home)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kpar home %s: %w", dir, err)
	}
	j := jvm{java: java, cp: filepath.Join(libs, "*"), log4j: filepath.Join(dir, "log4j2.properties")}
	if err := os.WriteFile(j.log4j, log4jProps, 0o644); err != nil {
		return nil, err
	}
	st := &State{Version: StateVersion, KafkaVersion: KafkaVersion, ClusterID: cid, BasePort: o.BasePort, Started: time.Now().UTC(), Proxied: o.Proxied}
	var sec *secureSetup
	var formatExtra []string
	if o.Secure {
		if sec, err = prepareSecure(filepath.Join(dir, "secure"), o.BasePort, o.Nodes); err != nil {
			return nil, fmt.Errorf("secure cluster: %w", err)
		}
		st.Secure, formatExtra = &sec.Secure, sec.formatArgs()
	}
	if st.Nodes, err = writeNodes(o, dir, sec); err != nil {
		return nil, err
	}
	o.Progress(fmt.Sprintf("formatting KRaft storage for %d node(s)", o.Nodes))
	if err := j.format(ctx, cid, st.Nodes, formatExtra); err != nil {
		return nil, err
	}
	for i := range st.Nodes {
		st.Nodes[i].Argv = j.kafka(o.Heap, st.Nodes[i].Dir)
	}
	return st, nil
}

// writeNodes makes each node's directory and server.properties.
func writeNodes(o Options, dir string, sec *secureSetup) ([]Node, error) {
	var mods []func(map[string]string, int, int)
	if o.Proxied {
		mods = append(mods, proxiedProps)
	}
	propsMode := os.FileMode(0o644)
	if sec != nil {
		propsMode = 0o600 // it holds the PLAIN users' passwords
	}
	var nodes []Node
	for i := 0; i < o.Nodes; i++ {
		nd := filepath.Join(dir, fmt.Sprintf("node-%d", i+1))
		// No cluster is recorded here (create runs only then): data left
		// by a start that failed would make the format refuse the new
		// cluster's id ("Invalid cluster.id").
		if err := os.RemoveAll(filepath.Join(nd, "data")); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(nd, "data"), 0o755); err != nil {
			return nil, err
		}
		props := serverProps(o.BasePort, o.Nodes, i, filepath.Join(nd, "data"), sec, mods...)
		if err := os.WriteFile(filepath.Join(nd, "server.properties"), []byte(props), propsMode); err != nil {
			return nil, err
		}
		nodes = append(nodes, Node{
			ID: i + 1, Port: clientPort(o.BasePort, i), ControllerPort: controllerPort(o.BasePort, i),
			Dir: nd, Log: filepath.Join(nd, "server.log"), Out: filepath.Join(nd, "kafka.out"),
		})
	}
	return nodes, nil
}

// jvm is how every Kafka JVM of a cluster is run.
type jvm struct{ java, cp, log4j string }

// format formats every node's storage. Each node's format is its own JVM,
// run concurrently because a JVM start costs about a second.
func (j jvm) format(ctx context.Context, cid string, nodes []Node, extra []string) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			args := append([]string{"-Xmx256M", "-cp", j.cp,
				"-Dlog4j2.configurationFile=" + j.log4j, "-Dkafka.logs.dir=" + n.Dir,
				"kafka.tools.StorageTool", "format", "-t", cid, "-c", filepath.Join(n.Dir, "server.properties")}, extra...)
			out, _, err := kproc.Output(ctx, "StorageTool format", append([]string{j.java}, args...), kproc.Options{})
			if err != nil {
				errs[i] = fmt.Errorf("formatting node %d storage failed (%v):\n%s", i+1, err, TailLines(string(out), 15))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// kafka is the command line of the broker JVM of the node in dir, with
// Kafka's own GC flags.
func (j jvm) kafka(heap, dir string) []string {
	return []string{j.java,
		"-Xms" + heap, "-Xmx" + heap, "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
		"-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + j.log4j, "-Dkafka.logs.dir=" + dir,
		"-Dkpar.node=" + filepath.Base(dir),
		"-cp", j.cp, "kafka.Kafka", filepath.Join(dir, "server.properties"),
	}
}

// launchAll starts every node of st and records each pid at once, so
// `down` can stop a partial start; on failure it stops what it started.
func launchAll(home string, st *State, appendOut bool) error {
	for i := range st.Nodes {
		err := launch(&st.Nodes[i], appendOut)
		if err == nil {
			err = saveState(home, st)
		}
		if err != nil {
			stopNodes(st, stopGrace)
			return err
		}
	}
	return nil
}

// awaitReady waits for st to answer, saying so; on failure it stops the
// nodes, and when ctx was cancelled (the user's interrupt) it SIGKILLs them
// at once: a node still starting would take seconds to shut down cleanly.
func awaitReady(ctx context.Context, o Options, st *State) error {
	o.Progress(fmt.Sprintf("waiting for %s to answer (up to %s)", strings.Join(st.Bootstrap(), ","), o.ReadyTimeout))
	if err := waitReady(ctx, st, o.ReadyTimeout); err != nil {
		grace := stopGrace
		if ctx.Err() != nil {
			grace = 0
		}
		stopNodes(st, grace)
		return err
	}
	return nil
}

// launch starts node n's JVM from n.Argv and records its pid. With
// appendOut the JVM's output is added to what earlier runs of the node wrote.
func launch(n *Node, appendOut bool) error {
	pid, start, err := Spawn(n.Argv, nil, n.Dir, n.Out, appendOut)
	if err != nil {
		return fmt.Errorf("starting node %d: %w", n.ID, err)
	}
	n.Pid, n.PidStartTime = pid, start
	return nil
}
