package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/bench/downstream"
)

// Every measurement states its kind once; the files it writes keep the
// names, schemas and versions they had, and a header of each kind opens
// with exactly those bytes, so files written before and after read alike.
func TestEveryKindKeepsItsFileSchemaAndVersion(t *testing.T) {
	want := map[string]string{ // schema: data file, then the header's first bytes
		"kpar.bench.produce":      `results.json {"schema":"kpar.bench.produce","version":4,`,
		"kpar.bench.consume":      `consume.json {"schema":"kpar.bench.consume","version":6,`,
		"kpar.bench.downstream":   `downstream.json {"schema":"kpar.bench.downstream","version":1,`,
		"kpar.bench.trogdor":      `trogdor.json {"schema":"kpar.bench.trogdor","version":2,`,
		"kpar.compare.consume":    `compare.json {"schema":"kpar.compare.consume","version":3,`,
		"kpar.lab.consumer":       `lab-consumer.json {"schema":"kpar.lab.consumer","version":4,`,
		"kpar.lab.group":          `lab-group.json {"schema":"kpar.lab.group","version":1,`,
		"kpar.lab.group.settings": `lab-group-settings.json {"schema":"kpar.lab.group.settings","version":1,`,
		"kpar.lab.producer":       `lab-producer.json {"schema":"kpar.lab.producer","version":2,`,
		"kpar.lab.soak":           `soak.json {"schema":"kpar.lab.soak","version":2,`,
	}
	all := []kind{{of: downstream.Kind}} // written, not (yet) in the report
	for _, k := range append(all, kinds...) {
		b, err := json.Marshal(k.of.Header([]string{"kpar"}))
		if err != nil {
			t.Fatal(err)
		}
		file, head, _ := strings.Cut(want[k.of.Schema], " ")
		if k.of.File != file || !strings.HasPrefix(string(b), head+`"command":["kpar"],`) {
			t.Errorf("%s: file %q, header %s; want file %q, header starting %s", k.of.Schema, k.of.File, b, file, head)
		}
		delete(want, k.of.Schema)
	}
	if len(want) > 0 {
		t.Errorf("kinds no longer written: %v", want)
	}
}
