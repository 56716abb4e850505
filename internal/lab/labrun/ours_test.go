package labrun

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/internal/broker"
)

func TestFaultsOnlyOnNodesKparRecorded(t *testing.T) {
	// A recorded start time of 0 skips the pid-reuse check, so pid 1
	// (always running) stands in for a live node of ours.
	self := broker.Node{ID: 1, Pid: 1, Port: 19092}
	st := &broker.State{Nodes: []broker.Node{self}}
	md := kadm.BrokerDetails{{NodeID: 1, Host: "127.0.0.1", Port: 19092}}
	if why := Ours(md, nil, "/h"); !strings.Contains(why, "no cluster is recorded under /h") {
		t.Errorf("no state: %q", why)
	}
	if why := Ours(kadm.BrokerDetails{{NodeID: 1, Host: "10.0.0.5", Port: 19092}}, st, "/h"); !strings.Contains(why, "not a node kpar started") {
		t.Errorf("remote host: %q", why)
	}
	if why := Ours(kadm.BrokerDetails{{NodeID: 1, Host: "127.0.0.1", Port: 9092}}, st, "/h"); !strings.Contains(why, "not a node kpar started") {
		t.Errorf("other port: %q", why)
	}
	dead := &broker.State{Nodes: []broker.Node{{ID: 1, Pid: 0, Port: 19092}}}
	if why := Ours(md, dead, "/h"); !strings.Contains(why, "is not running") {
		t.Errorf("dead pid: %q", why)
	}
	if why := Ours(md, st, "/h"); why != "" {
		t.Errorf("our live node refused: %q", why)
	}
}
