package broker

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Ports for node i (0-based) of a cluster whose first client port is base:
// clients on base+i, the KRaft controller on base+100+i. The defaults match
// deploy/docker-compose.yml and the README (9092..9094, 9192..9194).
func clientPort(base, i int) int     { return base + i }
func controllerPort(base, i int) int { return base + 100 + i }

// serverProps renders one node's server.properties; sec, when not nil,
// turns the client listener into the secured one (secure.go).
// mods change the map before it is rendered (proxiedProps).
func serverProps(base, nodes, i int, logDir string, sec *secureSetup, mods ...func(p map[string]string, base, i int)) string {
	voters := make([]string, nodes)
	for j := 0; j < nodes; j++ {
		voters[j] = fmt.Sprintf("%d@127.0.0.1:%d", j+1, controllerPort(base, j))
	}
	rf, minISR := 1, 1
	if nodes >= 3 {
		rf, minISR = 3, 2
	}
	p := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          fmt.Sprint(i + 1),
		"controller.quorum.voters":                         strings.Join(voters, ","),
		"listeners":                                        fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", clientPort(base, i), controllerPort(base, i)),
		"advertised.listeners":                             fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", clientPort(base, i)),
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs":                                         logDir,
		"num.partitions":                                   "1",
		"default.replication.factor":                       fmt.Sprint(rf),
		"min.insync.replicas":                              fmt.Sprint(minISR),
		"offsets.topic.replication.factor":                 fmt.Sprint(rf),
		"offsets.topic.num.partitions":                     "12",
		"transaction.state.log.replication.factor":         fmt.Sprint(rf),
		"transaction.state.log.min.isr":                    fmt.Sprint(minISR),
		"share.coordinator.state.topic.replication.factor": fmt.Sprint(rf),
		"share.coordinator.state.topic.min.isr":            fmt.Sprint(minISR),
		// Tests and benches create and join groups constantly: no initial delay.
		"group.initial.rebalance.delay.ms": "0",
		// Let a share group choose a session down to the classic groups'
		// 6 s minimum (the labs take 15 s); the default stays 45 s.
		"group.share.min.session.timeout.ms": "6000",
		"auto.create.topics.enable":          "true",
		"delete.topic.enable":                "true",
		"num.network.threads":                "3",
		"num.io.threads":                     "8",
		"log.segment.bytes":                  "268435456",
		"log.retention.hours":                "24",
	}
	if sec != nil {
		sec.props(p, base, i)
	}
	for _, m := range mods {
		m(p, base, i)
	}
	var b strings.Builder
	b.WriteString("# written by kpar broker up\n")
	for _, k := range slices.Sorted(maps.Keys(p)) {
		fmt.Fprintf(&b, "%s=%s\n", k, p[k])
	}
	return b.String()
}

// newClusterID returns a Kafka Uuid: 16 random bytes, base64url, no padding
// (what `kafka-storage random-uuid` prints), without paying for a JVM start.
func newClusterID() (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		// An id starting with '-' reads as an option to StorageTool's
		// argument parser ("--cluster-id/-t: expected one argument"), one
		// start in 64; Kafka's Uuid.randomUuid draws again for the same
		// reason.
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id, nil
		}
	}
}
