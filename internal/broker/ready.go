package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// PortInUseError names a port something else already listens on.
type PortInUseError struct{ Port int }

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d is already in use on 127.0.0.1; stop what holds it or pick another base with --port", e.Port)
}

// waitPortsFree reports a port in use; when the ports were a JVM of ours
// that just died (wait), it first gives each 10 s: such a JVM shows as gone
// while its last threads still hold its sockets.
func waitPortsFree(ports []int, wait bool) error {
	for _, p := range ports {
		deadline := time.Now().Add(10 * time.Second)
		for portInUse(p) {
			if !wait || time.Now().After(deadline) {
				return &PortInUseError{Port: p}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func portInUse(port int) bool { return PortInUse("127.0.0.1", port) }

// waitReady polls until every node is registered in the metadata and the
// controller quorum has a leader.
func waitReady(ctx context.Context, st *State, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		for _, n := range st.Nodes {
			if !n.Alive() {
				tail := logTail(n, 20)
				if strings.Contains(tail, "BindException") {
					// Taken between our port check and the JVM's bind.
					return fmt.Errorf("broker node %d could not bind port %d or %d: address already in use; pick another base with --port",
						n.ID, n.Port, n.ControllerPort)
				}
				return fmt.Errorf("broker node %d (pid %d) exited during startup; last lines of %s:\n%s",
					n.ID, n.Pid, n.Log, tail)
			}
		}
		lastErr = probe(ctx, st.adminBootstrap(), len(st.Nodes))
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker at %s never became ready within %s (%v); last lines of %s:\n%s",
				strings.Join(st.Bootstrap(), ","), timeout, lastErr, st.Nodes[0].Log, logTail(st.Nodes[0], 20))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// probe sends one metadata request and checks that want brokers answer;
// opts are the client's security (TLS, SASL) when the cluster has any.
func probe(ctx context.Context, seeds []string, want int, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.RequestRetries(0),
		kgo.DialTimeout(time.Second), kgo.RetryTimeout(2 * time.Second)}, opts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(pctx)
	if err != nil {
		return err
	}
	if len(md.Brokers) < want {
		return fmt.Errorf("%d of %d brokers registered", len(md.Brokers), want)
	}
	if md.Controller < 0 {
		return errors.New("no active controller yet")
	}
	return nil
}

// Probe checks that a cluster at seeds answers a metadata request within
// timeout, connecting with opts (TLS, SASL) added to the probe's own.
func Probe(ctx context.Context, seeds []string, timeout time.Duration, opts ...kgo.Opt) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return probe(ctx, seeds, 1, opts...)
}

func logTail(n Node, lines int) string {
	var parts []string
	for _, f := range []string{n.Log, n.Out} {
		b, err := os.ReadFile(f)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			parts = append(parts, TailLines(string(b), lines))
		}
	}
	if len(parts) == 0 {
		return "(no log output)"
	}
	return strings.Join(parts, "\n---\n")
}
