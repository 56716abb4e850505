package report

import (
	"fmt"

	"github.com/kpar/kpar/internal/lab/consumer"
)

var labConsumerKind = kind{schema: consumer.Schema, version: 4, current: consumer.SchemaVersion, section: "lab", load: loadLabConsumer}

func loadLabConsumer(path string) (Part, error) {
	r, err := consumer.Read(path)
	if err != nil {
		return Part{}, err
	}
	d := consumer.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Seed = fmt.Sprint(r.Seed)
	return p, nil
}
