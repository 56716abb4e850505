package consume

import (
	"context"
	"fmt"
	"runtime"

	"github.com/kpar/kpar/internal/results"
	"github.com/kpar/kpar/parallel"
)

// Run prepares the topics (producing only what is missing) and runs the
// measurements c.Only names, in the order io, cpu, rss. seeds must answer
// (the caller probed them). The Result is complete only when the error is
// nil.
func Run(ctx context.Context, c Config, seeds []string) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	logf := func(format string, args ...any) {
		if c.Log != nil {
			c.Log(fmt.Sprintf(format, args...))
		}
	}
	res := Result{Header: results.NewHeader(Schema, Version, c.Command), Brokers: seeds, CPUs: runtime.NumCPU(),
		Note: "single run on a shared machine; timings are noisy"}

	if c.runs("io") {
		topic := fmt.Sprintf("%s-io-%dp-%dk-%dv", c.TopicPrefix, c.Partitions, c.Keys, c.ValueSize)
		logf("io: preparing %d records in %s", c.Records, topic)
		// 10% headroom, as for the big topic below: measure a backlog.
		if _, err := Prepare(ctx, seeds, topic, c.Partitions, c.Records+c.Records/10, c.Keys, c.ValueSize, c.ClientOpts...); err != nil {
			return Result{}, err
		}
		spec := ParallelSpec{Order: c.Order, Concurrency: c.Concurrency, Sleep: c.Sleep, MaxBuffered: c.IOMaxBuffered,
			PerPart: c.IOPerPart, CommitInterval: &c.CommitInterval, ClientOpts: c.ClientOpts}
		mode := "at-least-once"
		if c.Transactional {
			spec.OutTopic, mode = c.TopicPrefix+"-out", "transactional"
			if _, err := Prepare(ctx, seeds, spec.OutTopic, c.Partitions, 0, c.Keys, c.ValueSize, c.ClientOpts...); err != nil {
				return Result{}, err
			}
		}
		logf("io: consuming with %d goroutines, %v handler, %s order, %s, commit interval %v",
			c.Concurrency, c.Sleep, c.Order, mode, c.CommitInterval)
		m, err := RunParallel(ctx, seeds, topic, c.Records, spec)
		if err != nil {
			return Result{}, err
		}
		res.IO = newIO(c, m, res.CPUs)
	}

	big := fmt.Sprintf("%s-big-%dp-%dv", c.TopicPrefix, c.Partitions, c.ValueSize)
	if c.runs("cpu") || c.runs("rss") {
		n := c.CPURecords
		if c.runs("rss") {
			n = max(n, c.RSSRecords)
		}
		// 10% more than any run consumes: the runs measure a backlog, not
		// the log's end, where a partition resumed from backpressure waits
		// out the fetch long-poll (FetchMaxWait) of the others, all idle.
		n += n / 10
		logf("preparing %d records in %s", n, big)
		if _, err := Prepare(ctx, seeds, big, c.Partitions, n, c.Keys, c.ValueSize, c.ClientOpts...); err != nil {
			return Result{}, err
		}
	}
	if c.runs("cpu") {
		logf("cpu: plain franz-go poll loop over %d records, kgo's default fetch size", c.CPURecords)
		plainDef, err := RunPlain(ctx, seeds, big, c.CPURecords, 0, c.ClientOpts...)
		if err != nil {
			return Result{}, err
		}
		same := c.FetchMaxBytes
		if same <= 0 {
			same = ParallelFetchMaxBytes(c.MaxBuffered)
		}
		logf("cpu: plain franz-go poll loop over %d records, FetchMaxBytes %d as the parallel run", c.CPURecords, same)
		plainSame, err := RunPlain(ctx, seeds, big, c.CPURecords, same, c.ClientOpts...)
		if err != nil {
			return Result{}, err
		}
		logf("cpu: parallel consumer, no-op handler, over %d records", c.CPURecords)
		par, err := RunParallel(ctx, seeds, big, c.CPURecords, ParallelSpec{
			Order: parallel.OrderKey, Concurrency: c.CPUConcurrency, MaxBuffered: c.MaxBuffered, PerPart: c.PerPart,
			FetchMaxBytes: c.FetchMaxBytes, ClientOpts: c.ClientOpts})
		if err != nil {
			return Result{}, err
		}
		res.CPU = newCPU(c, par, plainDef, plainSame)
	}
	if c.runs("rss") {
		logf("rss: child consumes %d records with MaxBuffered=%d, per partition %d", c.RSSRecords, c.MaxBuffered, c.PerPart)
		argv, err := c.RSSChildArgv(RSSSpec{Brokers: seeds, Topic: big, Records: c.RSSRecords, Concurrency: c.CPUConcurrency,
			MaxBuffered: c.MaxBuffered, PerPart: c.PerPart, FetchMaxBytes: c.FetchMaxBytes})
		if err != nil {
			return Result{}, err
		}
		r, err := measureRSS(ctx, argv)
		if err != nil {
			return Result{}, err
		}
		res.RSS = &r
	}
	res.Finish()
	return res, nil
}
