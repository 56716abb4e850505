package producer

import (
	"fmt"
	"slices"
	"strings"
)

// Setting is one producer configuration under test.
type Setting struct {
	Name string `json:"name"`
	Acks string `json:"acks"` // "0", "1" or "all"
	// Idempotent settings keep 5 in flight: franz-go applies
	// MaxProduceRequestsInflightPerBroker only without idempotence.
	Idempotent  bool `json:"idempotent"`
	MaxInFlight int  `json:"max_in_flight"`
	// Unclean is the topic's unclean.leader.election.enable.
	Unclean bool `json:"unclean_leader_election"`
}

// Label is the setting in Kafka's words, for tables and sentences.
func (s Setting) Label() string {
	l := fmt.Sprintf("acks=%s idempotence=%s in-flight=%d", s.Acks, map[bool]string{false: "off", true: "on"}[s.Idempotent], s.MaxInFlight)
	if s.Unclean {
		l += " unclean-election"
	}
	return l
}

// Safe is the setting the lab expects to lose and duplicate nothing.
func (s Setting) Safe() bool { return s.Acks == "all" && s.Idempotent }

// allSettings is the full matrix in table order: every setting with unclean
// leader election off, then on ("+unclean"). Idempotence needs acks=all
// (franz-go refuses it otherwise, as Java does).
var allSettings = func() []Setting {
	out := []Setting{
		{Name: "acks0-if1", Acks: "0", MaxInFlight: 1},
		{Name: "acks0-if5", Acks: "0", MaxInFlight: 5},
		{Name: "acks1-if1", Acks: "1", MaxInFlight: 1},
		{Name: "acks1-if5", Acks: "1", MaxInFlight: 5},
		{Name: "all-if1", Acks: "all", MaxInFlight: 1},
		{Name: "all-if5", Acks: "all", MaxInFlight: 5},
		{Name: "all-idem", Acks: "all", Idempotent: true, MaxInFlight: 5},
	}
	for _, s := range out {
		s.Name, s.Unclean = s.Name+"+unclean", true
		out = append(out, s)
	}
	return out
}()

// SettingNames lists every setting name, for help and errors.
func SettingNames() []string {
	var out []string
	for _, s := range allSettings {
		out = append(out, s.Name)
	}
	return out
}

// LookupSetting finds a setting by name.
func LookupSetting(name string) (Setting, bool) {
	i := slices.IndexFunc(allSettings, func(s Setting) bool { return s.Name == name })
	if i < 0 {
		return Setting{}, false
	}
	return allSettings[i], true
}

// Fault names.
const (
	// FaultNone: the control, and the one cell a cluster without pids of
	// ours can run.
	FaultNone = "none"
	// FaultLeaderKill SIGKILLs the node leading every partition of the
	// topic mid-stream, waits for new leaders, then restarts it.
	FaultLeaderKill = "leader-kill"
	// FaultFreeze SIGSTOPs that node for longer than the brokers' session
	// timeout, then SIGCONTs it: a stall (network partition, long GC pause)
	// after which it comes back believing it still leads.
	FaultFreeze = "freeze"
	// FaultRolling restarts the nodes one after another (SIGTERM, Kafka's
	// controlled shutdown, start, back in every ISR), as an upgrade would.
	FaultRolling = "rolling"
)

// FaultNames are the faults, in table order.
var FaultNames = []string{FaultNone, FaultLeaderKill, FaultFreeze, FaultRolling}

// CellName is what --cell takes: setting/fault.
func CellName(setting, fault string) string { return setting + "/" + fault }

// parseCell splits --cell's value.
func parseCell(s string) (setting, fault string, err error) {
	st, ft, ok := strings.Cut(s, "/")
	if !ok {
		return "", "", fmt.Errorf("--cell %q: want setting/fault, e.g. acks1-if5/leader-kill", s)
	}
	return st, ft, nil
}
