package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/results"
)

var labProducerKind = kind{schema: producer.Schema, version: 2, current: producer.SchemaVersion, section: "producer-lab", load: loadLabProducer}

func loadLabProducer(path string) (Part, error) {
	var r producer.Result
	if err := results.Read(path, producer.Schema, producer.SchemaVersion, &r); err != nil {
		return Part{}, err
	}
	d := producer.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	return p, nil
}
