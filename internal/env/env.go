// Package env is what every experiment runs in, set once by the command:
// the cluster, how to reach it, the command line that reproduces the run
// and where progress goes. Each experiment's Config embeds one Env.
package env

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/progress"
)

// Env is the environment of one experiment run.
type Env struct {
	Brokers []string // the seeds, probed by the command before the run
	// Client is the resolved security: kgo options, the settings as given
	// (Args, for a child process) and the Java and librdkafka properties.
	Client   clientsec.Client
	Command  []string      // the kpar command line that reproduces the run, stored in the result
	Progress progress.Sink // what is happening now (nil: nothing is shown)
}

// Opts are the client options every kgo.NewClient of the run takes (TLS, SASL).
func (e Env) Opts() []kgo.Opt { return e.Client.Opts }

// Secured reports whether clients need options beyond the seeds.
func (e Env) Secured() bool { return len(e.Client.Opts) > 0 }

// SetEnv puts e in the Config that embeds it (the one call a command makes
// for every experiment, whatever its Config type).
func (e *Env) SetEnv(v Env) { *e = v }
