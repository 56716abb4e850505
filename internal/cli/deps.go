package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/trogdor"
)

// newDepsCmd resolves every Java dependency up front: what commands would
// otherwise fetch on first use. make test runs it once before the tests, so
// test packages running in parallel never race to fill the same Maven
// repository.
func newDepsCmd() *cobra.Command {
	return command("deps", "Fetch the Java parts kpar runs (Kafka, Confluent's Parallel Consumer) into the cache now",
		help("deps"), func(cmd *cobra.Command) error {
			ctx := cmd.Context()
			progress := notes(cmd)
			libs, err := broker.LibDir(ctx, progress)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kafka %s: %s\n", broker.KafkaVersion, libs)
			java, cp, err := confluentpc.Classpath(ctx, progress)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "parallel-consumer %s: %s (java %s)\n", confluentpc.PCVersion, cp, java)
			tlibs, err := trogdor.LibDir(ctx, progress)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trogdor %s: %s\n", trogdor.Version, tlibs)
			return nil
		})
}
