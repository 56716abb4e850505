package report

import (
	"strings"

	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/results"
)

// Version 3 changed what a rate means (one clock for every contender,
// compare.Version's note): older files are refused, not misread.
var compareKind = kind{schema: compare.Schema, version: 3, current: compare.Version, oldest: 3, section: "compare", load: loadCompare}

// loadCompare judges the figures again (never a stored verdict beside
// figures that contradict it) and shows the comparison's document.
func loadCompare(path string) (Part, error) {
	var r compare.Result
	if err := results.Read(path, compare.Schema, compare.Version, &r); err != nil {
		return Part{}, err
	}
	d := compare.Doc(compare.Rejudge(r))
	p := Part{Doc: &d}
	e := r.Env
	p.Facts.Cores = e.CPUs
	p.Facts.addVersion("Confluent Parallel Consumer", e.PCVersion)
	p.Facts.addVersion("kafka-clients (PC's)", e.KafkaClientsVersion)
	p.Facts.addVersion("Java", strings.TrimSpace(e.JavaVersion+" "+e.JavaVM))
	return p, nil
}
