package parallel

import "time"

// Lag and head-of-line wait per partition (Stats). The committed offset is
// the last one the broker acknowledged (or the group held at assignment);
// the head-of-line wait is measured from the poll that returned the oldest
// record not yet done, so it is the time the consumer has held that record
// up, not its age since it was produced.

// pollMark is the first offset of one poll's records of a partition and
// when the poll returned them.
type pollMark struct {
	first int64
	at    time.Time
}

// markPoll records a poll's records of p for the head-of-line wait, and
// forgets polls whose records are all done: a mark is kept while the next
// one starts above the committable offset (p.mu held).
func (p *partition) markPoll(first int64, at time.Time) {
	low := p.tr.Committable()
	for len(p.polls) > 1 && p.polls[1].first <= low {
		p.polls = p.polls[1:]
	}
	p.polls = append(p.polls, pollMark{first, at})
}

// headWait is how long the oldest record of p not yet done has waited since
// its poll; 0 when every polled record is done (p.mu held).
func (p *partition) headWait(now time.Time) time.Duration {
	if p.tr.Pending() == 0 && len(p.parked) == 0 {
		return 0
	}
	low := p.tr.Committable()
	var at time.Time
	for _, m := range p.polls {
		if low >= 0 && m.first > low {
			break
		}
		at = m.at
		if low < 0 {
			break
		}
	}
	if at.IsZero() {
		return 0
	}
	return now.Sub(at)
}

// setCommitted records the offset the broker acknowledged for p.
func (p *partition) setCommitted(off int64) { p.committed.Store(off) }
