package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/report"
)

func newReportCmd() *cobra.Command {
	var in, out string
	c := command("report", "Write one self-contained HTML page from every results file under --in",
		`Reads every *.json results file under --in (the directories the measurement
commands write), checks each file's schema and version, and writes one HTML
page to --out with a section per question, in this order: producer scaling,
the parallel consumer, the correctness lab, the group lab, group settings,
the producer fault lab, and the comparison with Confluent's Parallel Consumer
and share groups. Each section opens with its answer computed from the data,
then charts and tables, and the provenance of every result (the command that
reproduces it, seed, versions, machine, date; a warning when one result is
much older than the others or from another machine).

The page is self-contained (inline styles and SVG charts, nothing loaded from
the network). A file of a schema or version this kpar does not read is listed
with one line saying why, never guessed at; a section without results names
the command that produces them. Needs no broker.`, func(cmd *cobra.Command) error {
			pg, err := report.Write(in, out)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), pg.Summary())
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		})
	c.Flags().StringVar(&in, "in", "results", "directory holding the results (searched recursively for *.json)")
	c.Flags().StringVar(&out, "out", "results/index.html", "the HTML page to write")
	return c
}
