package compare

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/kpar/kpar/internal/pc"
)

// heapSearch runs PC with kpar's fetch sizes under shrinking or growing
// heaps (see HeapSearch) and fills mem.HeapSearch and mem.PCCapped (its
// first step). A heap too small is a result, not a failure.
func (r *runner) heapSearch(ctx context.Context, mem *RSS) error {
	c := r.c
	hs := &HeapSearch{FetchMaxBytes: mem.Kpar.FetchMaxBytes, MaxPartitionFetchBytes: mem.Kpar.FetchMaxPartitionBytes,
		StartFromKpar: c.PCHeap == "auto"}
	if hs.StartFromKpar {
		hs.StartMiB = int64(math.Ceil(float64(mem.Kpar.PeakRSSKiB) / 1024))
	} else {
		hs.StartMiB = heapMiB(c.PCHeap)
	}
	step := c.HeapTimeout
	if step == 0 { // three times PC's default-heap run, at least a minute, at most --timeout
		step = min(c.Timeout, max(time.Minute, 3*time.Duration(mem.PC.WallSeconds*float64(time.Second))))
	}
	hs.StepTimeoutS = step.Seconds()
	mem.HeapSearch = hs
	mem.CapFromKpar = hs.StartFromKpar
	size := hs.StartMiB
	for range c.HeapSteps {
		s, err := r.cappedPC(ctx, mem.Topic, size, hs, step)
		if err != nil {
			return err
		}
		hs.Steps = append(hs.Steps, HeapStep{HeapMiB: size, Side: s})
		if len(hs.Steps) == 1 {
			mem.PCCapped, mem.CapHeap = s, fmt.Sprintf("%dm", size)
		}
		hs.NeedsMiB, hs.FailedMiB = heapBounds(hs.Steps)
		next, ok := nextHeap(hs.FailedMiB, hs.NeedsMiB, size)
		if !ok {
			break
		}
		size = next
	}
	return nil
}

// heapBounds is the smallest heap that finished and the largest below it
// that did not (0 for none): a run near the bound that timed out above a
// smaller one that finished does not move the bound down.
func heapBounds(steps []HeapStep) (needs, failed int64) {
	for _, st := range steps {
		if st.Side.Finished && (needs == 0 || st.HeapMiB < needs) {
			needs = st.HeapMiB
		}
	}
	for _, st := range steps {
		if !st.Side.Finished && st.HeapMiB > failed && (needs == 0 || st.HeapMiB < needs) {
			failed = st.HeapMiB
		}
	}
	return needs, failed
}

// MinHeapMiB is the smallest heap the search tries.
const MinHeapMiB = 16

// nextHeap is the heap search's next size given the largest heap that
// failed and the smallest that finished (0: none yet), and the last size
// tried; ok is false when the search is done (the two within an eighth of
// the finished size, or at most 4 MiB apart, or at the smallest heap).
func nextHeap(failed, finished, last int64) (int64, bool) {
	switch {
	case finished == 0: // nothing finished yet: grow
		return last * 2, true
	case failed == 0: // everything finished: shrink
		if last <= MinHeapMiB {
			return 0, false
		}
		return max(MinHeapMiB, last/2), true
	}
	if finished-failed <= max(4, finished/8) {
		return 0, false
	}
	return (failed + finished) / 2, true
}

// heapMiB is a -Xmx size in MiB, rounded up.
func heapMiB(s string) int64 {
	unit := int64(1 << 20)
	switch s[len(s)-1] {
	case 'k', 'K':
		unit, s = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		s = s[:len(s)-1]
	case 'g', 'G':
		unit, s = 1<<30, s[:len(s)-1]
	default:
		unit = 1
	}
	var n int64
	fmt.Sscan(s, &n)
	return max(1, (n*unit+(1<<20)-1)>>20)
}

// cappedPC is one step of the heap search; not finishing is a Side with
// DidNotFinish, only a cancelled ctx or a set-up error is an error.
func (r *runner) cappedPC(ctx context.Context, topic string, heapMiB int64, hs *HeapSearch, timeout time.Duration) (Side, error) {
	c := r.c
	capped := pc.Config{Seeds: r.seeds, Topic: topic, Records: int(c.RSSRecords), MaxConcurrency: c.NoopConcurrency,
		JVMFlags: []string{fmt.Sprintf("-Xmx%dm", heapMiB)}, FetchMaxBytes: hs.FetchMaxBytes, MaxPartitionFetchBytes: hs.MaxPartitionFetchBytes,
		Ordering: pc.OrderKey, CommitMode: pc.CommitAsync, Timeout: timeout, Progress: c.Progress.Notes()}
	label := PCLabel(Side{JVMFlags: capped.JVMFlags, FetchMaxBytes: capped.FetchMaxBytes, FetchMaxPartitionBytes: capped.MaxPartitionFetchBytes})
	r.start("rss " + label)
	if err := r.pcSecurity(&capped); err != nil {
		return Side{}, err
	}
	defer os.Remove(capped.ClientConfig) // gone already unless the JVM never read it
	start := time.Now()
	pr, err := r.runPC(ctx, capped)
	switch {
	case err == nil:
		s := pcSide(pr, false)
		s.FetchMaxBytes, s.FetchMaxPartitionBytes = capped.FetchMaxBytes, capped.MaxPartitionFetchBytes
		r.measured("rss: %s finished, peak %.0f MiB", label, kib2mib(s.PeakRSSKiB))
		return s, nil
	case ctx.Err() != nil:
		return Side{}, err
	}
	s := Side{Contender: PC, Records: c.RSSRecords, JVMFlags: capped.JVMFlags, FetchMaxBytes: capped.FetchMaxBytes,
		FetchMaxPartitionBytes: capped.MaxPartitionFetchBytes, WallSeconds: time.Since(start).Seconds(), DidNotFinish: didNotFinish(err)}
	r.measured("rss: %s did not finish: %s", label, firstLine(s.DidNotFinish))
	return s, nil
}
