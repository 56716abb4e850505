package producer

import (
	"fmt"
	"strings"
)

// Setting is one producer configuration under test.
type Setting struct {
	Name string `json:"name"`
	// Acks is "0", "1" or "all".
	Acks       string `json:"acks"`
	Idempotent bool   `json:"idempotent"`
	// MaxInFlight is produce requests in flight per broker. franz-go fixes it
	// at 5 for an idempotent producer (MaxProduceRequestsInflightPerBroker
	// applies only without idempotence), so idempotent settings are 5 only.
	MaxInFlight int `json:"max_in_flight"`
	// Unclean is the topic's unclean.leader.election.enable.
	Unclean bool `json:"unclean_leader_election"`
}

// Label is the setting in Kafka's words, for tables and sentences.
func (s Setting) Label() string {
	idem := "off"
	if s.Idempotent {
		idem = "on"
	}
	l := fmt.Sprintf("acks=%s idempotence=%s in-flight=%d", s.Acks, idem, s.MaxInFlight)
	if s.Unclean {
		l += " unclean-election"
	}
	return l
}

// Safe is the setting the lab expects to lose and duplicate nothing.
func (s Setting) Safe() bool { return s.Acks == "all" && s.Idempotent }

// baseSettings are the settings without unclean election, in table order.
// Idempotence needs acks=all (franz-go refuses it otherwise, as Java does).
var baseSettings = []Setting{
	{Name: "acks0-if1", Acks: "0", MaxInFlight: 1},
	{Name: "acks0-if5", Acks: "0", MaxInFlight: 5},
	{Name: "acks1-if1", Acks: "1", MaxInFlight: 1},
	{Name: "acks1-if5", Acks: "1", MaxInFlight: 5},
	{Name: "all-if1", Acks: "all", MaxInFlight: 1},
	{Name: "all-if5", Acks: "all", MaxInFlight: 5},
	{Name: "all-idem", Acks: "all", Idempotent: true, MaxInFlight: 5},
}

// uncleanSuffix turns a setting name into its unclean-election twin.
const uncleanSuffix = "+unclean"

// AllSettings is the full matrix: every base setting with unclean leader
// election off, then on.
func AllSettings() []Setting {
	out := make([]Setting, 0, 2*len(baseSettings))
	out = append(out, baseSettings...)
	for _, s := range baseSettings {
		s.Name += uncleanSuffix
		s.Unclean = true
		out = append(out, s)
	}
	return out
}

// SettingNames lists every setting name, for help and errors.
func SettingNames() []string {
	var out []string
	for _, s := range AllSettings() {
		out = append(out, s.Name)
	}
	return out
}

// LookupSetting finds a setting by name.
func LookupSetting(name string) (Setting, bool) {
	for _, s := range AllSettings() {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Fault names.
const (
	// FaultNone runs the cell without a fault: the control, and the one
	// cell a cluster without pids of ours can run.
	FaultNone = "none"
	// FaultLeaderKill SIGKILLs the node leading every partition of the
	// topic mid-stream, waits for new leaders, then restarts it.
	FaultLeaderKill = "leader-kill"
	// FaultFreeze SIGSTOPs that node for longer than the brokers' session
	// timeout, then SIGCONTs it: a node that stalls, as in a network
	// partition or a long GC pause, and comes back believing it still leads.
	FaultFreeze = "freeze"
	// FaultRolling restarts the three nodes one after another (SIGTERM,
	// Kafka's controlled shutdown, start, wait until it is back in every
	// partition's ISR), as an upgrade would.
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
