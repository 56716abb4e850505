// Package trogdor runs Apache Kafka's own distributed load harness, Trogdor,
// for kpar: a coordinator and agents started from Maven Central jars (Up,
// Down, Status, or a platform file and the commands to start on real hosts:
// Plan), a client of the coordinator's REST API, and the distributed produce
// sweep (Config -> Run -> Result, schema kpar.bench.trogdor) that posts one
// ProduceBenchSpec per agent per step and merges the agents' status.
//
// What Up started is recorded under $KPAR_HOME/trogdor/state.json with each
// JVM's pid and /proc start time; Down signals exactly those processes,
// never by name.
package trogdor

import (
	"context"
	_ "embed"
	"path/filepath"

	"github.com/kpar/kpar/internal/broker"
)

// Version is the Trogdor release kpar runs. Maven Central serves
// org.apache.kafka:trogdor up to 4.3.1 (no 4.4.0 artifact), so the harness
// is one minor release behind the local broker (broker.KafkaVersion); its
// producers are 4.3.1 Kafka clients, which a 4.4 broker serves like any
// other.
const Version = "4.3.1"

//go:embed assets/pom.xml
var pomXML []byte

//go:embed assets/log4j2.properties
var log4jProps []byte

// LibDir returns the directory of the cached Trogdor jars (with their
// kafka-clients and a log4j2 binding), resolving them with Maven on first
// use the way the broker's jars are (broker.ResolveJars).
func LibDir(ctx context.Context, progress func(string)) (string, error) {
	libs := filepath.Join(broker.CacheDir(), "trogdor-"+Version, "libs")
	return libs, broker.ResolveJars(ctx, pomXML, libs, "Trogdor "+Version, progress)
}
