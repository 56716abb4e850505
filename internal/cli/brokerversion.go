package cli

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/results"
)

// recordBroker names, in every results header this process writes from now
// on, the Kafka that seeds lead to: the pinned release when they are the
// brokers kpar started under KPAR_HOME (its state file records the jars'
// version), and franz-go's guess from the brokers' ApiVersions answer
// either way. What cannot be read stays empty: the report says so.
func recordBroker(ctx context.Context, seeds []string, opts ...kgo.Opt) {
	st, _ := broker.LoadState(broker.Home())
	results.SetBroker(brokerInfo(st, seeds, apiVersionsGuess(ctx, seeds, opts...)))
}

// brokerInfo: the state's version only when every seed is one of the
// state's live nodes (another cluster on another port is not ours).
func brokerInfo(st *broker.State, seeds []string, guess string) *results.Broker {
	b := &results.Broker{Guess: guess}
	if st != nil && st.KafkaVersion != "" && len(seeds) > 0 {
		ours := map[string]bool{}
		for i, n := range st.Nodes {
			if n.Alive() {
				ours[st.Bootstrap()[i]] = true
			}
		}
		if !slices.ContainsFunc(seeds, func(s string) bool { return !ours[loopback(s)] }) {
			b.Version = st.KafkaVersion
		}
	}
	if b.Version == "" && b.Guess == "" {
		return nil
	}
	return b
}

// loopback writes localhost as 127.0.0.1, the address the state records.
func loopback(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if h == "localhost" || h == "::1" {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, p)
}

// apiVersionsGuess asks the brokers their API ranges and returns kversion's
// guess of the release; "" when they could not be asked or disagree (a
// cluster mid-upgrade has no one version).
func apiVersionsGuess(ctx context.Context, seeds []string, opts ...kgo.Opt) string {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.RequestRetries(1)}, opts...)...)
	if err != nil {
		return ""
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	vs, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		return ""
	}
	guess := ""
	for _, v := range vs.Sorted() {
		if v.Err != nil {
			continue
		}
		g := v.VersionGuess()
		if guess != "" && g != guess {
			return ""
		}
		guess = g
	}
	return guess
}

// labCluster is where a lab that can start a 3-node cluster of its own
// runs. Only brokers named by flag, environment or --client-config are
// "given" (home: kpar's, where their pids are recorded; brokers: the one
// probe); otherwise the lab starts its own cluster under $KPAR_HOME/name
// rather than take 'kpar broker up”s, which is usually one node, and
// there is nothing to probe before it does.
func (g *globals) labCluster(name string) (home string, given bool, brokers func(context.Context) ([]string, error)) {
	if strings.TrimSpace(g.brokers) != "" || strings.TrimSpace(os.Getenv("KPAR_BROKERS")) != "" || len(g.client.Brokers) > 0 {
		return broker.Home(), true, g.connect
	}
	home = filepath.Join(broker.Home(), name)
	recordOwnCluster(home)
	return home, false, func(context.Context) ([]string, error) { return nil, nil }
}

// recordOwnCluster names the cluster a command starts itself under home (the
// producer lab's): the release of a cluster already recorded there, which
// it reuses, else the jars this kpar starts.
func recordOwnCluster(home string) {
	v := broker.KafkaVersion
	if st, err := broker.LoadState(home); err == nil && st.KafkaVersion != "" {
		v = st.KafkaVersion
	}
	results.SetBroker(&results.Broker{Version: v})
}
