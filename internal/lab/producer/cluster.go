package producer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/labrun"
)

// Nodes is the cluster size the lab needs: RF 3 with min ISR 2 is the
// smallest layout where acks=all survives one node down and acks=1 can
// lose what only the leader had.
const Nodes = 3

// cluster is the 3-node cluster a run works on.
type cluster struct {
	seeds  []string
	opts   []kgo.Opt // TLS, SASL (Config.Env)
	own    bool      // started by this run (stopped at the end unless kept)
	home   string    // where its state.json lives
	faults *broker.Faults
	// noFaults says why faults cannot be applied (faults is nil).
	noFaults string
	ids      []int // node ids, ascending
	cl       *kgo.Client
	adm      *kadm.Client
}

// needThree is the refusal of a cluster that is not 3 nodes.
func needThree(seeds []string, nodes int) error {
	if nodes == Nodes {
		return nil
	}
	return fmt.Errorf("kpar lab producer needs a %d-node cluster (replication factor 3, min.insync.replicas 2); "+
		"the brokers at %s report %d node(s). Start one with 'kpar broker up --nodes 3' and pass its --brokers, "+
		"or omit --brokers and the lab starts its own", Nodes, strings.Join(seeds, ","), nodes)
}

// ErrOwnPlaintext refuses TLS/SASL settings for the lab's own cluster.
var ErrOwnPlaintext = errors.New("the lab's own cluster is plaintext: name a secured 3-node cluster with --brokers (or --client-config's bootstrap.servers) to use TLS/SASL")

// openCluster starts the lab's own cluster (cfg.Brokers empty) or checks
// the given one: 3 nodes, and whether they are kpar's to signal.
func openCluster(ctx context.Context, cfg Config) (_ *cluster, err error) {
	c := &cluster{seeds: cfg.Brokers, opts: cfg.Opts(), home: cfg.Home}
	if len(c.seeds) == 0 && len(c.opts) > 0 {
		return nil, ErrOwnPlaintext
	}
	if len(c.seeds) == 0 {
		c.own = true
		st, err := broker.Up(ctx, broker.Options{Home: cfg.Home, Nodes: Nodes, BasePort: cfg.Port, Heap: cfg.Heap, Progress: cfg.progress})
		if errors.Is(err, broker.ErrAlreadyUp) && len(st.Nodes) == Nodes {
			cfg.progress(fmt.Sprintf("reusing the lab's cluster already running under %s", cfg.Home))
		} else if err != nil {
			return nil, fmt.Errorf("starting the lab's 3-node cluster under %s: %w", cfg.Home, err)
		}
		c.seeds = st.Bootstrap()
	}
	defer func() {
		if err != nil {
			c.close(cfg, ctx.Err() != nil)
		}
	}()
	if c.cl, err = kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.seeds...), kgo.RetryTimeout(5 * time.Second)}, c.opts...)...); err != nil {
		return nil, err
	}
	c.adm = kadm.NewClient(c.cl)
	var brokers kadm.BrokerDetails
	if c.ids, brokers, err = kafka.Nodes(ctx, c.adm, c.seeds); err != nil {
		return nil, err
	}
	if err := needThree(c.seeds, len(c.ids)); err != nil {
		return nil, err
	}
	st, err := broker.LoadState(cfg.Home)
	if err != nil && !errors.Is(err, broker.ErrNotUp) {
		return nil, err
	}
	if c.noFaults = labrun.Ours(brokers, st, cfg.Home); c.noFaults == "" {
		if c.faults, err = broker.OpenFaults(cfg.Home); err != nil {
			c.noFaults = err.Error()
		}
	}
	return c, nil
}

// close stops the lab's own cluster unless it is to be kept. The faults
// never leave a given cluster frozen or down: restore does that per cell.
// Cancelled (SIGINT, SIGTERM), it SIGKILLs the nodes, kept or not: a
// 3-node controlled shutdown takes longer than a stop may, and the data
// is removed anyway.
func (c *cluster) close(cfg Config, cancelled bool) {
	if c.cl != nil {
		c.cl.Close()
	}
	if !c.own || cfg.KeepCluster && !cancelled {
		return
	}
	cfg.progress("stopping the lab's cluster")
	if st, err := broker.LoadState(cfg.Home); cancelled && err == nil {
		ps := make([]broker.Proc, len(st.Nodes))
		for i, n := range st.Nodes {
			ps[i] = broker.Proc{Pid: n.Pid, StartTime: n.PidStartTime}
		}
		broker.Terminate(ps, 0)
	}
	// Down checks a SIGKILLed node (one that outlived the 30 s SIGTERM
	// grace) at once, before it is gone; asked again, it finds every node
	// stopped and removes the run's data.
	_, err := broker.Down(cfg.Home)
	for i := 0; err != nil && i < 3; i++ {
		time.Sleep(2 * time.Second)
		_, err = broker.Down(cfg.Home)
	}
	if err != nil {
		cfg.progress("stopping the lab's cluster: " + err.Error())
	}
}

// createTopic creates topic with every partition's replicas led by leader
// (preferred replica first) and the followers alternating, so one node's
// fault hits every partition.
func (c *cluster) createTopic(ctx context.Context, topic string, partitions int, leader int, others []int, s Setting) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = topic
	t.NumPartitions, t.ReplicationFactor = -1, -1
	for p := 0; p < partitions; p++ {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition = int32(p)
		a.Replicas = []int32{int32(leader), int32(others[p%2]), int32(others[(p+1)%2])}
		t.ReplicaAssignment = append(t.ReplicaAssignment, a)
	}
	for k, v := range map[string]string{
		"min.insync.replicas":            "2",
		"unclean.leader.election.enable": strconv.FormatBool(s.Unclean),
	} {
		cf := kmsg.NewCreateTopicsRequestTopicConfig()
		cf.Name, cf.Value = k, kmsg.StringPtr(v)
		t.Configs = append(t.Configs, cf)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, c.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", topic, err)
	}
	_, err = kafka.Ready(ctx, c.adm, []string{topic}, kafka.PreferredLeaders(), kafka.FullISR(), kafka.Wait(60*time.Second))
	return err
}

// deleteTopic removes a cell's topic and its consumer group.
func (c *cluster) deleteTopic(ctx context.Context, topic, group string) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, _ = c.adm.DeleteGroups(dctx, group)
	_ = kafka.Delete(dctx, c.adm, topic)
}

// settle waits until the topic's high watermarks stopped moving and every
// partition's replicas hold the same bytes, and returns the marks: the ends
// every settled read goes to. Under acks=1 the leader acknowledges before
// its followers fetched, and a reader sees only up to the high watermark;
// a follower back in the ISR may still lack the leader's last records, so
// a mark that held still for a second can move again once it fetches
// (what the replica sizes show). Nothing writes any more, so both settle
// in milliseconds; the marks must hold for a second. If the sizes still
// differ after 30 s the read goes ahead and note says where.
func (c *cluster) settle(ctx context.Context, topic string) (ends map[int32]int64, note string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, err := kafka.Settle(ctx, c.adm, []string{topic}, time.Second, time.Until(deadline))
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if err != nil {
			return nil, "", fmt.Errorf("the high watermarks of %s did not settle within 30s (last error: %v)", topic, err)
		}
		ends = o[topic]
		if note = c.replicasDiffer(ctx, topic, slices.Collect(maps.Keys(ends))); note == "" {
			return ends, "", nil
		}
		if time.Now().After(deadline) {
			return ends, "read with replicas of unequal size after 30s: " + note, nil
		}
	}
}

// replicasDiffer names the partitions whose replicas hold different numbers
// of bytes (DescribeLogDirs), or says why it could not tell; "" when every
// partition's replicas (Nodes of them) are the same size.
func (c *cluster) replicasDiffer(ctx context.Context, topic string, partitions []int32) string {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// A topic with no partitions listed describes none of them.
	set := kadm.TopicsSet{}
	set.Add(topic, partitions...)
	dirs, err := c.adm.DescribeAllLogDirs(dctx, set)
	if err != nil {
		return "log dirs: " + err.Error()
	}
	sizes := map[int32]map[int32]int64{} // partition -> broker -> bytes
	dirs.Each(func(d kadm.DescribedLogDir) {
		for _, p := range d.Topics[topic] {
			if p.IsFuture {
				continue
			}
			if sizes[p.Partition] == nil {
				sizes[p.Partition] = map[int32]int64{}
			}
			sizes[p.Partition][p.Broker] = p.Size
		}
	})
	var out []string
	for _, p := range slices.Sorted(maps.Keys(sizes)) {
		vals := slices.Collect(maps.Values(sizes[p]))
		if len(vals) != Nodes || slices.Min(vals) != slices.Max(vals) {
			out = append(out, fmt.Sprintf("partition %d %v", p, sizes[p]))
		}
	}
	if len(sizes) == 0 {
		return "log dirs: no replica of " + topic + " described"
	}
	return strings.Join(out, "; ")
}
