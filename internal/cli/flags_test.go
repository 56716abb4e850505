package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// bindFlags gives each table line a flag of its field's type, the field's
// value its default, the rest of the line its help; a []string field takes
// a comma list; a line naming no field, or a field of no flag type, panics
// with the flag's name (the command tree is built by every test).
func TestBindFlagsDefinesATypedFlagPerTableLine(t *testing.T) {
	var v struct {
		N     int
		Big   int64
		Small int32
		Wait  time.Duration
		Rate  float64
		Name  string
		On    bool
		List  []string
		Inner struct{ Deep int }
	}
	v.N, v.Wait, v.List, v.Inner.Deep = 3, time.Second, []string{"a", "b"}, 7
	fl := pflag.NewFlagSet("t", pflag.ContinueOnError)
	bindFlags(fl, &v, `
n      N           a count
big    Big         a large count
small  Small       a small count
wait   Wait        how long
rate   Rate        per second
name   Name        a name
on     On          a switch
list   List        comma-separated names
deep   Inner.Deep  a nested count`)
	if f := fl.Lookup("wait"); f == nil || f.DefValue != "1s" || f.Usage != "how long" || f.Value.Type() != "duration" {
		t.Fatalf("--wait: %+v", f)
	}
	if f := fl.Lookup("list"); f == nil || f.DefValue != "a,b" || f.Value.Type() != "string" {
		t.Fatalf("--list: %+v", f)
	}
	err := fl.Parse([]string{"--n", "4", "--big", "5", "--small", "6", "--wait", "2m", "--rate", "0.5", "--name", "x", "--on", "--list", " c, ,d ", "--deep", "8"})
	if err != nil {
		t.Fatal(err)
	}
	if v.N != 4 || v.Big != 5 || v.Small != 6 || v.Wait != 2*time.Minute || v.Rate != 0.5 || v.Name != "x" || !v.On ||
		strings.Join(v.List, "|") != "c|d" || v.Inner.Deep != 8 {
		t.Fatalf("parsed into %+v", v)
	}
	for table, want := range map[string]string{"gone Missing help": "--gone: no field Missing", "ch Ch help": "--ch: field Ch"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), want) {
					t.Errorf("%q: panic %v, want one containing %q", table, r, want)
				}
			}()
			var bad struct{ Ch chan int }
			bindFlags(pflag.NewFlagSet("t", pflag.ContinueOnError), &bad, table)
		}()
	}
}
