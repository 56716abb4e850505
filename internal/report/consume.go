package report

import (
	"github.com/kpar/kpar/internal/bench/consume"
	"github.com/kpar/kpar/internal/results"
)

var consumeKind = kind{schema: consume.Schema, version: 6, current: consume.Version, section: "consume", load: loadConsume}

func loadConsume(path string) (Part, error) {
	var r consume.Result
	if err := results.Read(path, consume.Schema, consume.Version, &r); err != nil {
		return Part{}, err
	}
	d := consume.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Cores = r.CPUs
	return p, nil
}
