package produce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/kpar/kpar/internal/proc"
)

// Pin puts the broker JVMs and the bench on disjoint CPUs, so that on a
// small machine each side has a core of its own and the report can say
// which one filled first. The bench's children (worker processes, the
// Java and kcat anchors) inherit its CPUs.
type Pin struct {
	Broker []int `json:"broker"`
	Bench  []int `json:"bench"`
}

// ParsePin reads "broker=0,bench=1"; each side takes a CPU, a range "0-3"
// or several joined by "+" ("0+2").
func ParsePin(s string) (*Pin, error) {
	sides := map[string][]int{}
	for _, part := range strings.Split(s, ",") {
		side, list, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case side == "" && !ok:
			continue
		case !ok || (side != "broker" && side != "bench"):
			return nil, fmt.Errorf("--pin %q: want broker=CPUS,bench=CPUS such as broker=0,bench=1", s)
		case sides[side] != nil:
			return nil, fmt.Errorf("--pin %q: %s given twice", s, side)
		}
		cpus, err := parseCPUs(list)
		if err != nil {
			return nil, fmt.Errorf("--pin %q: %s: %w", s, side, err)
		}
		sides[side] = cpus
	}
	if sides["broker"] == nil || sides["bench"] == nil {
		return nil, fmt.Errorf("--pin %q: name both sides, such as broker=0,bench=1", s)
	}
	return &Pin{Broker: sides["broker"], Bench: sides["bench"]}, nil
}

// parseCPUs reads "1", "0-3" or "0+2+5".
func parseCPUs(s string) ([]int, error) {
	var out []int
	for _, item := range strings.Split(s, "+") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CPU number", item)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a CPU range", item)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Validate checks the CPUs exist on a machine with cores CPUs and the two
// sides share none.
func (p Pin) Validate(cores int) error {
	for _, side := range [][]int{p.Broker, p.Bench} {
		if len(side) == 0 {
			return errors.New("--pin: each side needs at least one CPU")
		}
		for _, c := range side {
			if c < 0 || c >= cores {
				return fmt.Errorf("--pin: CPU %d does not exist here (CPUs 0 to %d)", c, cores-1)
			}
		}
	}
	for _, c := range p.Bench {
		if slices.Contains(p.Broker, c) {
			return fmt.Errorf("--pin: CPU %d is given to both the broker and the bench; the sides must be disjoint", c)
		}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("--pin needs taskset (util-linux): %w", err)
	}
	return nil
}

// PinInfo records what a run pinned and whether it was undone.
type PinInfo struct {
	Pin
	BrokerPIDs []int `json:"broker_pids"`
	BenchPID   int   `json:"bench_pid"`
	// Before is each pid's CPU list before the run, as restored after it.
	Before   map[int]string `json:"before"`
	Restored bool           `json:"restored"`
}

// cpuList prints CPUs the way taskset -c reads them.
func cpuList(cpus []int) string {
	return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(cpus)), ","), "[]")
}

// allowedCPUs reads a process's CPU list from /proc/<pid>/status.
func allowedCPUs(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("/proc/%d/status has no Cpus_allowed_list", pid)
}

// taskset sets every thread of pid (-a: each /proc/<pid>/task entry) to
// cpus. Threads created later inherit from their creator, so the whole
// process stays there.
func taskset(pid int, cpus string) error {
	out, _, err := proc.Output(context.Background(), "taskset", []string{"taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)}, proc.Options{})
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s %d: %v: %s", cpus, pid, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// applyPin pins the broker pids and this process. restore puts every pid
// back on the CPUs it had (also after a failure half way) and reports
// whether all of it worked.
func applyPin(p Pin, brokerPIDs []int) (PinInfo, func() error, error) {
	info := PinInfo{Pin: p, BrokerPIDs: brokerPIDs, BenchPID: os.Getpid(), Before: map[int]string{}}
	var done []int
	restore := func() error {
		var errs []error
		for _, pid := range done {
			if err := taskset(pid, info.Before[pid]); err != nil {
				errs = append(errs, err)
			}
		}
		done = nil
		return errors.Join(errs...)
	}
	for _, pid := range append([]int{info.BenchPID}, brokerPIDs...) {
		before, err := allowedCPUs(pid)
		if err == nil {
			info.Before[pid] = before
			err = taskset(pid, cpuList(map[bool][]int{true: p.Bench, false: p.Broker}[pid == info.BenchPID]))
		}
		if err != nil {
			return info, restore, errors.Join(fmt.Errorf("--pin: %w", err), restore())
		}
		done = append(done, pid)
	}
	return info, restore, nil
}
