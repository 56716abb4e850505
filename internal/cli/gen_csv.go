package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kpar/kpar/internal/datagen"
	"github.com/kpar/kpar/internal/flagcheck"
	"github.com/kpar/kpar/internal/results"
	"github.com/spf13/cobra"
)

func newGenCSVCmd(_ *globals) *cobra.Command {
	var (
		out       string
		rows      int
		seed      int64
		customers int
		crlf      bool
	)
	c := command("csv", "Write a seeded e-commerce CSV dataset",
		help("gen-csv"), func(cmd *cobra.Command) error {
			if err := flagcheck.AtLeast(flagcheck.Int("rows", rows, 1), flagcheck.Int("customers", customers, 1), flagcheck.Int("seed", seed, 0)); err != nil {
				return err
			}
			// An interrupted run never leaves a truncated dataset under the
			// real name; SIGINT or SIGTERM ends the write at the next chunk.
			if err := results.WriteFile(out, func(w io.Writer) error {
				return datagen.Write(ctxWriter{ctx: cmd.Context(), w: w}, datagen.Config{Rows: rows, Seed: uint64(seed), Customers: customers, CRLF: crlf})
			}); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d rows (%.1f MB, %.0f bytes a row) to %s (seed %d)\n",
				rows, float64(st.Size())/1e6, float64(st.Size())/float64(rows), out, seed)
			return nil
		})
	c.Example = `  kpar gen csv --rows 1000000 --out events.csv
  kpar gen csv --rows 5000 --seed 7 --crlf --out small.csv`
	f := c.Flags()
	// Unlike the measurements' --out (a results directory), this is the
	// dataset itself.
	f.StringVar(&out, "out", "events.csv", "the CSV file to write (a file path, not a results directory; replaced atomically when done)")
	f.IntVar(&rows, "rows", 1_000_000, "data rows to write, besides the header")
	// Not the shared --seed: 0 is a seed like any other here, and the default stays 1
	// so that a dataset made without --seed is the same file as before.
	f.Int64Var(&seed, "seed", 1, "seed of every random choice, at least 0: the same seed and rows give the same file")
	f.IntVar(&customers, "customers", 100_000, "distinct customer ids (Zipf-skewed: a few are hot keys)")
	f.BoolVar(&crlf, "crlf", false, "end lines with CRLF (as Windows tools write) instead of LF")
	return c
}

// ctxWriter fails every write once its context is done, so a long write
// stops when the command is asked to.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
