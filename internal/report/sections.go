package report

import (
	"fmt"
	"strings"

	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/doc"
	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/lab/group"
	"github.com/kpar/kpar/internal/lab/groupsettings"
	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/lab/soak"
	"github.com/kpar/kpar/internal/trogdor"
)

// The schemas the report reads, one entry each: the versions the section
// was written for, the package's document of the Result (its re-judging
// where it has one: never a stored verdict beside figures that contradict
// it) and what the data adds to the provenance.
var (
	// Version 3 kept every v2 field's meaning (produce.Kind's note): v2
	// files read, without the v3 additions.
	produceKind = reads(kind{of: produce.Kind, version: 4, oldest: 4, section: "produce", noSeed: true},
		producePart)
	// The distributed sweep on Trogdor agents belongs with producer
	// scaling: its chart draws the agents' curve beside the in-process kpar
	// clients'. Version 1 files are refused: their one calibration producer
	// has no place in version 2's per-step in-process runs
	// (trogdor.Kind's note).
	trogdorKind = reads(kind{of: trogdor.Kind, version: 2, oldest: 2, section: "produce"},
		docPart(trogdor.Doc, func(r trogdor.Result, f *Facts) {
			f.Seed = fmt.Sprint(r.Seed)
			f.addVersion("Trogdor", r.TrogdorVersion)
		}))
	consumeKind = reads(kind{of: consume.Kind, version: 6, section: "consume", noSeed: true},
		docPart(consume.Doc, func(r consume.Result, f *Facts) { f.Cores = r.CPUs }))
	labConsumerKind = reads(kind{of: consumer.Kind, version: 4, section: "lab"},
		docPart(consumer.Doc, seeded(func(r consumer.Result) int64 { return r.Seed })))
	labGroupKind = reads(kind{of: group.Kind, version: 1, section: "group"},
		docPart(group.Doc, seeded(func(r group.Result) int64 { return r.Seed })))
	groupSettingsKind = reads(kind{of: groupsettings.Kind, version: 1, section: "settings"},
		docPart(groupsettings.Doc, seeded(func(r groupsettings.Result) int64 { return r.Seed })))
	labProducerKind = reads(kind{of: producer.Kind, version: 2, section: "producer-lab"},
		docPart(producer.Doc, seeded(func(r producer.Result) int64 { return r.Seed })))
	// Version 3 changed what a rate means (one clock for every contender,
	// compare.Kind's note): older files are refused, not misread.
	compareKind = reads(kind{of: compare.Kind, version: 3, oldest: 3, section: "compare", noSeed: true},
		docPart(func(r compare.Result) doc.Doc { return compare.Doc(compare.Rejudge(r)) }, func(r compare.Result, f *Facts) {
			e := r.Env
			f.Cores = e.CPUs
			f.addVersion("Confluent Parallel Consumer", e.PCVersion)
			f.addVersion("kafka-clients (PC's)", e.KafkaClientsVersion)
			f.addVersion("Java", strings.TrimSpace(e.JavaVersion+" "+e.JavaVM))
		}))
	// Version 1 had no recovery span (observed_sec) and measured recovery
	// against an uncapped rate: refused, never misread.
	soakKind = reads(kind{of: soak.Kind, version: 2, oldest: 2, section: "soak"},
		docPart(soak.Doc, seeded(func(r soak.Result) int64 { return r.Seed })))
)

// producePart shows a producer sweep with every verdict judged again from
// its figures (produce.Rederive).
var producePart = docPart(func(r produce.Result) doc.Doc { return produce.Doc(produce.Rederive(r)) },
	func(r produce.Result, f *Facts) {
		f.Cores = r.Host.Cores
		f.addVersion("Go", r.Host.GoVersion)
	})

// reads gives k the load of a file whose Result type is R: read at the
// version the package writes (checkVersion has refused the others), shown
// by part.
func reads[R any](k kind, part func(R) Part) kind {
	k.load = func(path string) (Part, error) {
		var r R
		if err := k.of.Read(path, &r); err != nil {
			return Part{}, err
		}
		return part(r), nil
	}
	return k
}

// docPart is a Result's part: its document, and the provenance its data
// adds.
func docPart[R any](toDoc func(R) doc.Doc, facts func(R, *Facts)) func(R) Part {
	return func(r R) Part {
		d := toDoc(r)
		p := Part{Doc: &d}
		facts(r, &p.Facts)
		return p
	}
}

// seeded records the seed a result ran from.
func seeded[R any](seed func(R) int64) func(R, *Facts) {
	return func(r R, f *Facts) { f.Seed = fmt.Sprint(seed(r)) }
}
