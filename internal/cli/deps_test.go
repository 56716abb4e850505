package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/testkit"
)

// deps leaves every Java part in the cache and says where: what make test
// runs before the packages that need them.
func TestDepsResolvesKafkaAndParallelConsumerIntoTheCache(t *testing.T) {
	testkit.SkipShort(t, "resolves jars with Maven on a fresh machine")
	for _, tool := range []string{"java", "javac", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkit.Unavailable(t, "%s not installed (.ci/run installs it)", tool)
		}
	}
	out, err := runKpar(t, "deps")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kafka " + broker.KafkaVersion + ": ", "parallel-consumer " + confluentpc.PCVersion + ": "} {
		if !strings.Contains(out, want) {
			t.Errorf("deps output lacks %q:\n%s", want, out)
		}
	}
}
