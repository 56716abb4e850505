package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/broker"
)

// localBootstrap returns the seeds of the broker `kpar broker up` started
// and, when it was started --secure, how to reach it.
func localBootstrap() ([]string, *broker.Secure, error) {
	st, err := broker.LoadState(broker.Home())
	if err != nil {
		if errors.Is(err, broker.ErrNotUp) {
			return nil, nil, errors.New("no broker given: pass --brokers host:port, set KPAR_BROKERS, or start a local one with 'kpar broker up'")
		}
		return nil, nil, err
	}
	return st.Bootstrap(), st.Secure, nil
}

func newBrokerCmd(_ *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "broker",
		Short: "Start, stop and inspect a local Apache Kafka cluster (no Docker needed)",
		Long:  help("broker"),
	}
	c.AddCommand(newBrokerUpCmd(), newBrokerDownCmd(), newBrokerRestartCmd(), newBrokerStatusCmd(), newBrokerLogsCmd())
	return c
}

func newBrokerUpCmd() *cobra.Command {
	o := broker.Options{}
	var quiet bool
	c := command("up", "Start a local Kafka cluster and print its bootstrap address", "", func(cmd *cobra.Command) error {
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		if !quiet {
			o.Progress = notes(cmd)
		}
		start := time.Now()
		st, err := broker.Up(cmd.Context(), o)
		already := errors.Is(err, broker.ErrAlreadyUp)
		if err != nil && !already {
			return err
		}
		switch {
		case quiet:
		case already:
			fmt.Fprintf(stderr, "kpar: already up (%d node(s), pids %s); nothing to do\n", len(st.Nodes), pids(st))
		default:
			how := "up"
			if st.Resumed {
				how = "restarted on its data"
			}
			fmt.Fprintf(stderr, "kpar: Kafka %s %s in %.1fs: %d node(s), pids %s, logs under %s\n",
				st.KafkaVersion, how, time.Since(start).Seconds(), len(st.Nodes), pids(st), broker.Home())
		}
		printSecure(stderr, st)
		fmt.Fprintln(stdout, strings.Join(st.Bootstrap(), ","))
		return nil
	})
	c.Example = `  kpar broker up                 # one node on 127.0.0.1:9092
  kpar broker up --nodes 3       # three nodes, RF 3, min.insync.replicas 2
  kpar broker up --fresh         # discard a stopped cluster's data and start a new one
  export KPAR_BROKERS=$(kpar broker up -q)`
	c.Flags().IntVar(&o.Nodes, "nodes", 1, "number of KRaft nodes: 1, or 3 for the fault experiments (RF 3, min.insync.replicas 2)")
	c.Flags().IntVar(&o.BasePort, "port", 9092, "first client port; controllers listen 100 above (prefer ports below 32768, outside Linux's ephemeral range)")
	c.Flags().StringVar(&o.Heap, "heap", "", "JVM heap per node (default 1G for one node, 768M each for three)")
	c.Flags().DurationVar(&o.ReadyTimeout, "timeout", 90*time.Second, "how long to wait for the cluster to answer")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the bootstrap address (and, with --secure, where its CA and credentials are)")
	c.Flags().BoolVar(&o.Fresh, "fresh", false, "if a stopped cluster is recorded (its JVMs died), discard its topics and offsets and format new storage instead of restarting it on its data")
	c.Flags().BoolVar(&o.Secure, "secure", false, "client ports speak SASL_SSL only (TLS from a CA kpar makes under $KPAR_HOME; SCRAM-SHA-256/512 and PLAIN users admin, a super user, and alice, with no ACLs) and ACLs are enforced (StandardAuthorizer); brokers talk among themselves on loopback listeners 200 above")
	return c
}

// printSecure tells how to reach a secured cluster: even under -q, since
// nothing can connect without it.
func printSecure(w io.Writer, st *broker.State) {
	s := st.Secure
	if s == nil {
		return
	}
	fmt.Fprintf(w, "kpar: secured: SASL_SSL on %s; CA %s\n", strings.Join(st.Bootstrap(), ","), s.CA)
	fmt.Fprintf(w, "kpar: client properties (Java form, for --client-config): %s (super user), %s, %s (PLAIN)\n", s.Admin, s.User, s.UserPlain)
}

func pids(st *broker.State) string {
	var p []string
	for _, n := range st.Nodes {
		p = append(p, fmt.Sprint(n.Pid))
	}
	return strings.Join(p, ",")
}

func newBrokerDownCmd() *cobra.Command {
	return command("down", "Stop the JVMs 'kpar broker up' started (by pid) and delete their data", "", func(cmd *cobra.Command) error {
		stopped, err := broker.Down(broker.Home())
		if errors.Is(err, broker.ErrNotUp) {
			notes(cmd)("no local broker recorded; nothing to stop")
			return nil
		}
		if err != nil {
			return err
		}
		notes(cmd)(fmt.Sprintf("stopped %d JVM(s) %v", len(stopped), stopped))
		return nil
	})
}

func newBrokerRestartCmd() *cobra.Command {
	var node int
	var timeout time.Duration
	c := command("restart", "Restart the local cluster's nodes (or one) on their data",
		`Stops the recorded nodes that are running (SIGTERM, SIGKILL after 30 s), starts
them again with the command line they were started with, on their data, and
waits until the cluster answers. Topics and committed offsets are kept.`, func(cmd *cobra.Command) error {
			if node < 0 {
				return fmt.Errorf("--node %d: nodes are numbered from 1 (0 = all)", node)
			}
			var ids []int
			if node > 0 {
				ids = []int{node}
			}
			start := time.Now()
			st, err := broker.Restart(cmd.Context(), broker.Home(), ids, timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kpar: restarted on its data in %.1fs: pids %s\n", time.Since(start).Seconds(), pids(st))
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(st.Bootstrap(), ","))
			return nil
		})
	c.Example = `  kpar broker restart            # every node
  kpar broker restart --node 2   # node 2 of a 3-node cluster`
	c.Flags().IntVar(&node, "node", 0, "restart only this node (1-based); 0 restarts every node")
	c.Flags().DurationVar(&timeout, "timeout", 90*time.Second, "how long to wait for the cluster to answer")
	return c
}

func newBrokerStatusCmd() *cobra.Command {
	var asJSON bool
	c := command("status", "Report each local node: pid, ports, running, answering", "Exit status: 0 when every node runs and answers, 1 otherwise, 3 when no broker is recorded.", func(cmd *cobra.Command) error {
		st, nodes, err := broker.Status(cmd.Context(), broker.Home())
		if errors.Is(err, broker.ErrNotUp) {
			return &exitError{code: 3, err: err}
		}
		if err != nil {
			return err
		}
		healthy := true
		for _, n := range nodes {
			healthy = healthy && n.Running && n.Answering
		}
		stdout := cmd.OutOrStdout()
		if asJSON {
			_ = printJSON(stdout, map[string]any{"kafka_version": st.KafkaVersion, "cluster_id": st.ClusterID,
				"bootstrap": st.Bootstrap(), "healthy": healthy, "nodes": nodes})
		} else {
			fmt.Fprintf(stdout, "Kafka %s, cluster %s, bootstrap %s\n", st.KafkaVersion, st.ClusterID, strings.Join(st.Bootstrap(), ","))
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tPID\tPORT\tCONTROLLER\tRUNNING\tANSWERING\tCPU-S\tLOG")
			for _, n := range nodes {
				fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%v\t%v\t%.1f\t%s\n", n.ID, n.Pid, n.Port, n.ControllerPort, n.Running, n.Answering, n.CPUSecs, n.Log)
			}
			tw.Flush()
		}
		if !healthy {
			return &exitError{code: 1, err: errors.New("not every node is running and answering")}
		}
		return nil
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newBrokerLogsCmd() *cobra.Command {
	var node, lines int
	c := command("logs", "Print the tail of a node's server.log", "", func(cmd *cobra.Command) error {
		st, err := broker.LoadState(broker.Home())
		if err != nil {
			return err
		}
		if node < 1 || node > len(st.Nodes) {
			return fmt.Errorf("--node %d: the cluster has nodes 1..%d", node, len(st.Nodes))
		}
		b, err := os.ReadFile(st.Nodes[node-1].Log)
		if t := broker.TailLines(string(b), lines); err == nil && t != "" {
			fmt.Fprintln(cmd.OutOrStdout(), t)
		}
		return err
	})
	c.Flags().IntVar(&node, "node", 1, "which node's log")
	c.Flags().IntVarP(&lines, "lines", "n", 50, "how many lines")
	return c
}
