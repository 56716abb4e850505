package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/bench/downstream"
	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/lab/group"
	"github.com/kpar/kpar/internal/lab/groupsettings"
	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/lab/soak"
	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/internal/trogdor"
)

// Every measurement states its kind once; the files it writes keep the
// names, schemas and versions they had, and a header of each kind opens
// with exactly those bytes, so files written before and after read alike.
func TestEveryKindKeepsItsFileSchemaAndVersion(t *testing.T) {
	for _, c := range []struct {
		kind results.Kind
		file string
		head string
	}{
		{produce.Kind, "results.json", `{"schema":"kpar.bench.produce","version":4,`},
		{consume.Kind, "consume.json", `{"schema":"kpar.bench.consume","version":6,`},
		{downstream.Kind, "downstream.json", `{"schema":"kpar.bench.downstream","version":1,`},
		{trogdor.Kind, "trogdor.json", `{"schema":"kpar.bench.trogdor","version":2,`},
		{compare.Kind, "compare.json", `{"schema":"kpar.compare.consume","version":3,`},
		{consumer.Kind, "lab-consumer.json", `{"schema":"kpar.lab.consumer","version":4,`},
		{group.Kind, "lab-group.json", `{"schema":"kpar.lab.group","version":1,`},
		{groupsettings.Kind, "lab-group-settings.json", `{"schema":"kpar.lab.group.settings","version":1,`},
		{producer.Kind, "lab-producer.json", `{"schema":"kpar.lab.producer","version":2,`},
		{soak.Kind, "soak.json", `{"schema":"kpar.lab.soak","version":2,`},
	} {
		b, err := json.Marshal(c.kind.Header([]string{"kpar"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.kind.File != c.file || !strings.HasPrefix(string(b), c.head+`"command":["kpar"],`) {
			t.Errorf("%s: file %q, header %s; want file %q, header starting %s", c.kind.Schema, c.kind.File, b, c.file, c.head)
		}
	}
}
