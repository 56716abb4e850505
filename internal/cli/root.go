// Package cli builds kpar's command tree. One file per command; main stays tiny.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clientsec"
	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	brokers string             // comma-separated seeds; "" means the local broker kpar started
	sec     clientsec.Settings // TLS, SASL, --client-config as given (security.go)
	client  clientsec.Client   // sec resolved before any command runs
	// localSecure is set when seeds chose a local broker started --secure.
	localSecure *broker.Secure
}

// seeds returns the broker list to use: --brokers, else --client-config's
// bootstrap.servers, else KPAR_BROKERS, else the local broker recorded by
// `kpar broker up`.
func (g *globals) seeds() ([]string, error) {
	v := strings.TrimSpace(g.brokers)
	if v == "" && len(g.client.Brokers) > 0 {
		return g.client.Brokers, nil
	}
	if v == "" {
		v = strings.TrimSpace(os.Getenv("KPAR_BROKERS"))
	}
	if v == "" {
		addrs, sec, err := localBootstrap()
		if err != nil {
			return nil, err
		}
		g.localSecure = sec
		return addrs, nil
	}
	out := splitList(v)
	if len(out) == 0 {
		return nil, fmt.Errorf("--brokers %q names no broker", g.brokers)
	}
	return out, nil
}

// exitError carries a specific exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "kpar",
		Short: "Show, measure and exploit parallelism in Apache Kafka",
		Long: `kpar measures how Kafka producers scale, processes records with more
concurrency than partitions without losing any, and proves with a checker
what breaks when consumers go parallel. Everything runs against a real
broker: your own (--brokers host:port) or a local one that
'kpar broker up' starts from Maven Central jars.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Before any command: a bad security flag is never reported as a
		// missing broker.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return g.resolveSecurity(cmd) },
	}
	root.PersistentFlags().StringVar(&g.brokers, "brokers", "",
		"comma-separated bootstrap brokers (default: --client-config's bootstrap.servers, else $KPAR_BROKERS, else the local broker from 'kpar broker up')")
	g.addSecurityFlags(root.PersistentFlags())
	root.AddCommand(
		newBrokerCmd(g),
		parent("gen", "Generate deterministic input datasets", newGenCSVCmd(g)),
		parent("bench", "Measure producers and consumers against a real broker",
			newBenchProduceCmd(g), newBenchConsumeCmd(g), newBenchDownstreamCmd(g)),
		parent("lab", "Correctness experiments: count what each consumer strategy loses, duplicates and reorders",
			newLabConsumerCmd(g), newLabProducerCmd(g), newLabGroupCmd(g), newLabGroupSettingsCmd(g), newLabSoakCmd(g)),
		parent("compare", "Measure kpar side by side with other consumers on the same broker and records", newCompareConsumeCmd(g)),
		newTrogdorCmd(g),
		newDepsCmd(),
		newReportCmd(),
		newChildCmd(g),
	)
	return root
}

// parent is a command that only holds its subcommands.
func parent(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short}
	c.AddCommand(subs...)
	return c
}

// Execute runs kpar with args and returns the process exit code.
func Execute(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ctx.Err() != nil {
		// SIGINT or SIGTERM: say so, not "context canceled" nor what the
		// stop did to a child (a worker killed mid-answer fails to decode).
		fmt.Fprintln(os.Stderr, "kpar: interrupted")
		return 130
	}
	fmt.Fprintln(os.Stderr, "kpar:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
