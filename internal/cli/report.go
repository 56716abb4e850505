package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kpar/kpar/internal/report"
)

func newReportCmd() *cobra.Command {
	var in, out string
	c := command("report", "Write one self-contained HTML page from every results file under --in",
		help("report"), func(cmd *cobra.Command) error {
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
