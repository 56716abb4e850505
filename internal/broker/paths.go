// Package broker starts and stops a local Apache Kafka (KRaft) cluster from
// Maven Central jars, without Docker.
//
// Jars are resolved once with Maven from the embedded pom and cached in the
// user cache dir (KPAR_CACHE overrides it), so later starts take seconds.
// What was started is recorded in a state file under the kpar home
// (KPAR_HOME, default ~/.kpar): `Down` stops exactly those JVMs, by pid and
// process start time, never by name.
package broker

import (
	"os"
	"path/filepath"
)

// KafkaVersion is the pinned Apache Kafka release (see assets/pom.xml).
const KafkaVersion = "4.4.0"

// Home returns kpar's state directory: $KPAR_HOME, else ~/.kpar.
func Home() string { return dirFrom("KPAR_HOME", os.UserHomeDir, ".kpar", "kpar") }

// CacheDir returns where resolved jars live: $KPAR_CACHE, else <user cache>/kpar.
// It is shared by every kpar home on the machine.
func CacheDir() string { return dirFrom("KPAR_CACHE", os.UserCacheDir, "kpar", "kpar-cache") }

// dirFrom is $env, else name under the user's dir, else tmp under the temp dir.
func dirFrom(env string, user func() (string, error), name, tmp string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	if d, err := user(); err == nil {
		return filepath.Join(d, name)
	}
	return filepath.Join(os.TempDir(), tmp)
}

func brokerDir(home string) string { return filepath.Join(home, "broker") }
func statePath(home string) string { return filepath.Join(brokerDir(home), "state.json") }
