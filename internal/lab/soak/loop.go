package soak

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/kafka"
	"github.com/kpar/kpar/internal/lab/strategy"
	"github.com/kpar/kpar/internal/lab/worker"
	"github.com/kpar/kpar/internal/lab/workload"
)

// produce writes cfg.Rate records/s of seeded workload records until ctx
// ends, idempotent, acks=all, through the proxies. Records the brokers never
// took are not in the topic, so the checker does not expect them.
func (r *run) produce(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.clients...), kgo.DefaultProduceTopic(r.topic), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Stall)
		_ = cl.Flush(fctx)
		cancel()
		cl.Close()
	}()
	keys := map[string]int64{}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seq int64
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		due := int64(time.Since(start).Seconds() * float64(r.cfg.Rate))
		for ; seq < due; seq++ {
			k := fmt.Sprintf("k%04d", workload.Uint64(r.cfg.Seed, 1, uint64(seq))%uint64(r.cfg.Keys))
			rec := workload.Record{Seq: seq, Key: k, KeySeq: keys[k]}
			keys[k]++
			// Blocks while the buffer is full; the rate catches up after.
			cl.Produce(ctx, &kgo.Record{Key: []byte(k), Value: workload.EncodeRecord(rec)}, nil)
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// sample records the input's and each processed-log's end offsets once a
// second, with a short deadline (a frozen node must not hold the timeline).
func (r *run) sample(ctx context.Context, params map[string]worker.Params) []Sample {
	var out []Sample
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	sum := func(topic string, ok *bool) int64 {
		lctx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
		defer cancel()
		ends, err := kafka.Ends(lctx, r.adm, topic)
		*ok = *ok && err == nil
		return ends.Sum()
	}
	for {
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
		s := Sample{Sec: time.Since(r.start).Seconds(), Entries: map[string]int64{}}
		ok := true
		s.Input = sum(r.topic, &ok)
		for st, p := range params {
			s.Entries[st] = sum(p.LogTopic, &ok)
		}
		if ok { // a sample with a partition that did not answer is left out
			out = append(out, s)
		}
	}
}

// runSchedule applies the seeded plan and returns what happened. A fault
// that took longer than planned delays the next ones, so each still gets
// its Gap; a fault pushed past the plan's end bounds is left out.
func (r *run) runSchedule(ctx context.Context, params map[string]worker.Params, res *Result) []Fault {
	plan := Plan(r.cfg.Seed, r.cfg.Duration, r.cfg.Interval, r.cfg.Strategies, len(r.ids))
	end := r.cfg.Duration - min(15*time.Second, r.cfg.Duration/4)
	var out []Fault
	var next time.Duration // earliest start of the next fault
	for _, p := range plan {
		if IsNetwork(p.Kind) && len(r.proxies) == 0 || IsBroker(p.Kind) && r.faults == nil {
			continue // said once in res.Skipped
		}
		at := max(p.At, next, time.Since(r.start))
		if at+p.Hold > end || p.Kind == BrokerKill && at+KillQuiet > r.cfg.Duration {
			continue
		}
		if workload.Sleep(ctx, time.Until(r.start.Add(at))) != nil {
			return out
		}
		p.Node = r.ids[p.Node-1]
		f := Fault{Planned: p, StartSec: time.Since(r.start).Seconds()}
		if err := r.apply(ctx, &f, params[p.Strategy]); err != nil {
			f.Error = err.Error()
		}
		if ctx.Err() != nil {
			return out
		}
		f.HealedSec = time.Since(r.start).Seconds()
		next = time.Duration(f.StartSec*float64(time.Second)) + Gap(p.Kind, r.cfg.Interval)
		r.cfg.progress(fmt.Sprintf("soak: %5.1fs %-14s %s%s", f.StartSec, f.Kind, f.Note, errNote(f.Error)))
		out = append(out, f)
	}
	_ = workload.Sleep(ctx, time.Until(r.start.Add(r.cfg.Duration)))
	return out
}

func errNote(e string) string {
	if e == "" {
		return ""
	}
	return "  ERROR " + e
}

// apply injects one fault, holds it and heals it.
func (r *run) apply(ctx context.Context, f *Fault, p worker.Params) error {
	hold := func() { _ = workload.Sleep(ctx, f.Hold) }
	switch f.Kind {
	case ConsumerKill:
		return r.killMember(ctx, f, p, hold)
	case Join:
		r.mu.Lock()
		slot := fmt.Sprintf("x%d", r.extra[p.Strategy])
		r.extra[p.Strategy]++
		r.mu.Unlock()
		f.Note = fmt.Sprintf("%s %s joins", p.Strategy, slot)
		return r.startMember(p, slot, false)
	case Leave:
		return r.leave(ctx, f, p.Strategy)
	case BrokerKill, BrokerFreeze:
		stop, heal, what := r.faults.Kill, r.faults.Start, "SIGKILLed, started again on its data after"
		if f.Kind == BrokerFreeze {
			stop, heal, what = r.faults.Stop, r.faults.Cont, "SIGSTOPped for"
		}
		f.Note = fmt.Sprintf("node %d %s %s", f.Node, what, f.Hold)
		if err := stop(f.Node); err != nil {
			return err
		}
		hold()
		if ctx.Err() != nil {
			return nil // stopping: the cluster is about to be SIGKILLed, no node is started again
		}
		return heal(f.Node)
	case LeaderMove:
		return r.leaderMove(ctx, f)
	case NetDelay, NetDrop, NetPartition:
		r.network(f, hold)
		return nil
	}
	return fmt.Errorf("unknown fault %q", f.Kind)
}

// takeMember unlists the member of st pick chooses among the running ones
// whose slot starts with kind ('w' static, 'x' dynamic).
func (r *run) takeMember(st string, kind byte, pick func(running []int) int) (*member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := r.members[st]
	var running []int
	for i, m := range ms {
		if m.slot[0] == kind && !m.Exited() {
			running = append(running, i)
		}
	}
	if len(running) == 0 {
		return nil, false
	}
	i := pick(running)
	m := ms[i]
	r.members[st] = append(ms[:i:i], ms[i+1:]...)
	return m, true
}

// killMember SIGKILLs a seeded static member of p's strategy and, after the
// hold, starts its slot again.
func (r *run) killMember(ctx context.Context, f *Fault, p worker.Params, hold func()) error {
	m, ok := r.takeMember(p.Strategy, 'w', func(static []int) int {
		return static[workload.Uint64(r.cfg.Seed, 13, uint64(f.At))%uint64(len(static))]
	})
	if !ok {
		return fmt.Errorf("no running static member of %s", p.Strategy)
	}
	m.Kill()
	f.Note = fmt.Sprintf("%s %s SIGKILLed, restarted after %s", p.Strategy, m.slot, f.Hold)
	hold()
	if ctx.Err() != nil {
		return nil // stopping: no new member
	}
	return r.startMember(p, m.slot, !strategy.IsShare(p.Strategy))
}

// leave SIGTERMs the last dynamic member of st (SIGKILL after 30 s, or at
// once when the soak is stopping).
func (r *run) leave(ctx context.Context, f *Fault, st string) error {
	m, ok := r.takeMember(st, 'x', func(dynamic []int) int { return dynamic[len(dynamic)-1] })
	if !ok {
		return fmt.Errorf("no dynamic member of %s to leave", st)
	}
	f.Note = fmt.Sprintf("%s %s leaves (SIGTERM)", st, m.slot)
	_ = m.Signal(syscall.SIGTERM)
	select {
	case <-m.Done():
	case <-ctx.Done():
		m.Kill()
	case <-time.After(30 * time.Second):
		m.Kill()
		f.Note += ", SIGKILLed after 30 s"
	}
	return nil
}

// network sets the node's proxy to the fault's mode for the hold.
func (r *run) network(f *Fault, hold func()) {
	m := Mode{Delay: 200 * time.Millisecond}
	switch f.Kind {
	case NetDrop:
		m = Mode{Drop: 0.05}
	case NetPartition:
		m = Mode{Blackhole: true}
	}
	px := r.proxies[f.Node]
	before := px.Resets()
	px.Set(m)
	hold()
	px.Set(Mode{})
	f.Note = fmt.Sprintf("clients <-> node %d: %s for %s", f.Node, m, f.Hold)
	if f.Kind == NetDrop {
		f.Note += fmt.Sprintf(" (%d connections reset)", px.Resets()-before)
	}
}

// leaderMove makes another node preferred for one input partition
// (AlterPartitionAssignments) and elects it (ElectLeaders).
func (r *run) leaderMove(ctx context.Context, f *Fault) error {
	actx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	part := int32(workload.Uint64(r.cfg.Seed, 14, uint64(f.At)) % uint64(r.cfg.Partitions))
	md, err := r.adm.Metadata(actx, r.topic)
	if err != nil {
		return err
	}
	pd, ok := md.Topics[r.topic].Partitions[part]
	if !ok || len(pd.Replicas) < 2 {
		return fmt.Errorf("partition %d of %s: no replicas in metadata", part, r.topic)
	}
	reps := append(append([]int32(nil), pd.Replicas[1:]...), pd.Replicas[0])
	f.Node = int(reps[0])
	a := kadm.AlterPartitionAssignmentsReq{}
	a.Assign(r.topic, part, reps)
	ares, err := r.adm.AlterPartitionAssignments(actx, a)
	if err == nil {
		err = ares.Error()
	}
	if err != nil {
		return fmt.Errorf("reassign partition %d: %w", part, err)
	}
	set := kadm.TopicsSet{}
	set.Add(r.topic, part)
	var last error
	for deadline := time.Now().Add(10 * time.Second); ; {
		eres, err := r.adm.ElectLeaders(actx, kadm.ElectPreferredReplica, set)
		if last = err; err == nil {
			for _, t := range eres {
				for _, p := range t {
					last = p.Err
				}
			}
		}
		if last == nil || time.Now().After(deadline) || workload.Sleep(actx, 300*time.Millisecond) != nil {
			break
		}
	}
	f.Note = fmt.Sprintf("partition %d: replicas %v -> %v, node %d elected", part, pd.Replicas, reps, reps[0])
	return last
}

// drain waits until each strategy caught up with the whole input, or until
// nothing moved for the stall timeout.
func (r *run) drain(ctx context.Context, params map[string]worker.Params) map[string]bool {
	out := map[string]bool{}
	ends, err := kafka.EndsOf(ctx, r.adm, r.topic)
	if err != nil {
		return out
	}
	lastMove, lastSum := time.Now(), int64(-1)
	for ctx.Err() == nil && time.Since(lastMove) < r.cfg.Stall {
		var sum int64
		all := true
		for _, s := range r.cfg.Strategies {
			if out[s] {
				continue
			}
			n, done := r.caughtUp(ctx, params[s], ends)
			sum += n
			out[s] = done
			all = all && done
		}
		if all {
			return out
		}
		if sum != lastSum {
			lastSum, lastMove = sum, time.Now()
		}
		_ = workload.Sleep(ctx, 500*time.Millisecond)
	}
	return out
}

func (r *run) caughtUp(ctx context.Context, p worker.Params, ends map[int32]int64) (int64, bool) {
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	n, all, err := worker.Acknowledged(qctx, r.cl, strategy.IsShare(p.Strategy), p.Group, r.topic, ends)
	return n, all && err == nil
}
