package labrun

import (
	"fmt"
	"net"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kpar/kpar/internal/broker"
)

// Ours says why the brokers a cluster reports are not nodes kpar recorded
// in st under home ("" when they are): each must be a recorded node (same
// id and port) on this host whose recorded process runs. Only then can a
// lab's faults signal them (the producer lab's, the soak's). A nil st is no
// cluster recorded.
func Ours(brokers kadm.BrokerDetails, st *broker.State, home string) string {
	if st == nil {
		return fmt.Sprintf("no cluster is recorded under %s (KPAR_HOME), so kpar has no pid to signal", home)
	}
	for _, b := range brokers {
		i := slices.IndexFunc(st.Nodes, func(n broker.Node) bool { return int32(n.ID) == b.NodeID && int32(n.Port) == b.Port })
		if i < 0 || !local(b.Host) {
			return fmt.Sprintf("broker %d at %s:%d is not a node kpar started under %s", b.NodeID, b.Host, b.Port, home)
		}
		if !st.Nodes[i].Alive() {
			return fmt.Sprintf("node %d's recorded pid %d under %s is not running", b.NodeID, st.Nodes[i].Pid, home)
		}
	}
	return ""
}

func local(host string) bool { return host == "localhost" || net.ParseIP(host).IsLoopback() }
