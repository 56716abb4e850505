package report

import (
	"github.com/kpar/kpar/internal/bench/produce"
	"github.com/kpar/kpar/internal/results"
)

// Version 3 kept every v2 field's meaning (produce.Version's note): v2
// files read, without the v3 additions.
var produceKind = kind{schema: produce.Schema, version: 4, current: produce.Version, oldest: 4, section: "produce", load: loadProduce}

// loadProduce shows the result's document with every verdict judged again
// from its figures (produce.Rederive).
func loadProduce(path string) (Part, error) {
	var r produce.Result
	if err := results.Read(path, produce.Schema, produce.Version, &r); err != nil {
		return Part{}, err
	}
	return producePart(r), nil
}

func producePart(r produce.Result) Part {
	r = produce.Rederive(r)
	d := produce.Doc(r)
	p := Part{Doc: &d}
	p.Facts.Cores = r.Host.Cores
	p.Facts.addVersion("Go", r.Host.GoVersion)
	return p
}
