package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kpar/kpar/internal/broker"
)

// The flags every measurement shares, with one type, one default and one
// wording each. A command binds its own with bindFlags, adds the shared ones
// with these helpers and checks values (the Config's Validate, parseInts)
// before it looks for a broker, so a bad flag is never reported as a
// missing broker.

// outFlags are --out (every measurement writes its results by default, under
// results/<name>) and --json (the result data on stdout instead of text).
type outFlags struct {
	out  string
	json bool
}

func addOutFlags(fs *pflag.FlagSet, o *outFlags, name string) {
	fs.StringVar(&o.out, "out", filepath.Join("results", name),
		"directory for the results: the data (JSON, versioned schema) and the views computed from it (Markdown, charts); written only when the run completes")
	fs.BoolVar(&o.json, "json", false, "print the result data (the same JSON as in --out) on stdout instead of the text summary")
}

// text is where a command prints its human summary: nowhere under --json,
// whose stdout is the data alone.
func (o *outFlags) text(stdout io.Writer) io.Writer {
	if o.json {
		return io.Discard
	}
	return stdout
}

// bindFlags defines a flag per line of table, "name Field help": Field is a
// field of the struct v points to (a Config's fields promoted through its
// embedding included, dotted for a nested struct's), whose value now is the
// flag's default; a line without help takes the shared wording of its flag
// (sharedHelp). One table per command, one binding for every type.
func bindFlags(fl *pflag.FlagSet, v any, table string) {
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		field, help, _ := strings.Cut(strings.TrimSpace(rest), " ")
		fv := reflect.ValueOf(v).Elem()
		for _, part := range strings.Split(field, ".") {
			fv = fv.FieldByName(part)
		}
		if !fv.IsValid() {
			panic(fmt.Sprintf("flag --%s: no field %s in %T", name, field, v))
		}
		if help = strings.TrimSpace(help); help == "" {
			help = sharedHelp[name]
		}
		if p, ok := fv.Addr().Interface().(*[]string); ok {
			fl.Var((*list)(p), name, help)
			continue
		}
		// pflag's typed definer: DurationVar, IntVar, Int64Var, StringVar ...
		kind := fv.Kind().String()
		method := strings.ToUpper(kind[:1]) + kind[1:] + "Var"
		if fv.Type() == reflect.TypeFor[time.Duration]() {
			method = "DurationVar"
		}
		define := reflect.ValueOf(fl).MethodByName(method)
		if !define.IsValid() || define.Type().In(0) != fv.Addr().Type() {
			panic(fmt.Sprintf("flag --%s: field %s of %T has no flag type", name, field, v))
		}
		define.Call([]reflect.Value{fv.Addr(), reflect.ValueOf(name), fv, reflect.ValueOf(help)})
	}
}

func addPartitions(fs *pflag.FlagSet, p *int, def int, what string) {
	fs.IntVar(p, "partitions", def, "partitions of "+what+" (created when missing; an existing topic keeps its count)")
}

// sharedHelp is the one wording of the flags several commands have.
var sharedHelp = map[string]string{
	"seed":   "seed of every random choice (0: pick one from the clock; it is printed and stored with the results)",
	"repeat": "runs per measurement; the median (by rate) is reported, every run is kept in the data",
}

// configCommand is a measuring command whose flags are its Config's fields
// (table, bound to a copy of cfg) and --out/--json (default results/out);
// run gets the parsed Config. It returns the command and that Config, for
// the flags the table cannot word.
func configCommand[C any](use, short, long, out string, cfg C, table string, run func(*cobra.Command, C, *outFlags) error) (*cobra.Command, *C) {
	o := &outFlags{}
	c := command(use, short, long, func(cmd *cobra.Command) error { return run(cmd, cfg, o) })
	bindFlags(c.Flags(), &cfg, table)
	addOutFlags(c.Flags(), o, out)
	return c, &cfg
}

// command is a command that takes no arguments: its flags defined by the
// caller, run once cobra has parsed them.
func command(use, short, long string, run func(*cobra.Command) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Long: long, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd) }}
}

// list is a comma-separated flag of a []string field (splitList); its help
// reads as a string flag's.
type list []string

func (l *list) Set(s string) error { *l = splitList(s); return nil }
func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Type() string       { return "string" }

// notes is where a command's progress notes go: "kpar: ..." on stderr.
func notes(cmd *cobra.Command) func(string) {
	return func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "kpar:", s) }
}

// seeded is cfg validated, then its seed picked (pickSeed) when none was
// given; seed points into cfg.
func seeded[C interface{ Validate() error }](cfg *C, seed *int64) (C, error) {
	if err := (*cfg).Validate(); err != nil {
		return *cfg, err
	}
	*seed = pickSeed(*seed)
	return *cfg, nil
}

// pickSeed returns seed, or a fresh one from the clock when it is 0.
func pickSeed(seed int64) int64 {
	if seed != 0 {
		return seed
	}
	return time.Now().UnixNano()%1_000_000 + 1
}

// splitList splits a comma list, trimming blanks and dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseInts parses --flag's comma list of integers, each at least min.
func parseInts(flag, s string, min int) ([]int, error) {
	var out []int
	for _, v := range splitList(s) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %q is not a whole number", flag, s, v)
		}
		if n < min {
			return nil, fmt.Errorf("--%s %q: %d must be at least %d", flag, s, n, min)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s %q: no number given", flag, s)
	}
	return out, nil
}

// connect resolves the brokers (--brokers, $KPAR_BROKERS, the local broker)
// and checks that they answer, naming the addresses when they do not. Call
// it after every flag is validated. The probe connects with the TLS and
// SASL options (security.go) and a refusal names its cause.
func (g *globals) connect(ctx context.Context) ([]string, error) {
	seeds, err := g.seeds()
	if err != nil {
		return nil, err
	}
	if err := broker.Probe(ctx, seeds, 10*time.Second, g.client.Opts...); err != nil {
		return nil, g.refusal(seeds, err)
	}
	recordBroker(ctx, seeds, g.client.Opts...)
	return seeds, nil
}

// printJSON prints a result's data, as stored in --out, on stdout (--json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
