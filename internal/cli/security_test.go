package cli

import (
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/testkit"
)

// Security flags are checked before any broker is looked up: the brokers
// named here do not exist, so any error about them would mean a probe ran.
func TestSecurityFlagsRefusedBeforeAnyBroker(t *testing.T) {
	t.Setenv("KPAR_SASL_PASSWORD", "")
	t.Setenv("KPAR_BROKERS", "") // make test sets it; the lab producer case needs none given
	dir := t.TempDir()
	csv := testkit.WriteFile(t, dir, "in.csv", "a,b\n1,2\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "produce", "--input", csv, "--tls-key", "k.pem"}, "--tls-cert and --tls-key"},
		{[]string{"bench", "consume", "--sasl-mechanism", "scram-sha-512", "--sasl-user", "u"}, "$KPAR_SASL_PASSWORD, which is empty"},
		{[]string{"bench", "produce", "--input", csv, "--tls-server-name", "h", "--vs-java"}, "--vs-java/--vs-kcat: --tls-server-name: the Java and kcat anchors cannot check"},
		// Not wired yet: refused, never run without the security asked for.
		{[]string{"lab", "consumer", "--tls-server-name", "h", "--cell", "pc-key/none"}, "--cell: pc-key runs Parallel Consumer's JVM, which cannot take these settings: --tls-server-name"},
		{[]string{"compare", "consume", "--tls-server-name", "h"}, "the JVMs of Parallel Consumer and Kafka cannot take these TLS/SASL settings: --tls-server-name"},
		{[]string{"report", "--tls"}, "kpar report does not use TLS/SASL settings"},
		// The refusal names every wired command, read from the tree.
		{[]string{"gen", "csv", "--tls"}, "the commands that do: bench consume, bench downstream, bench produce, compare consume, lab consumer, lab group, lab group-settings, lab producer (on a given cluster)"},
	} {
		_, err := runKpar(t, append(tc.args, "--brokers", "127.0.0.1:1")...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kpar %s: err = %v\nwant one containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	// The producer lab's own cluster is plaintext: security needs a given one.
	if _, err := runKpar(t, "lab", "producer", "--client-config", testkit.WriteFile(t, dir, "c.properties", "security.protocol=SSL\n")); err == nil ||
		!strings.Contains(err.Error(), "the lab's own cluster is plaintext") {
		t.Errorf("lab producer with TLS and no brokers: err = %v", err)
	}
	// A plaintext --client-config is no security setting: a wired command
	// and an unwired one both go on to the (absent) broker.
	plain := testkit.WriteFile(t, dir, "p.properties", "bootstrap.servers=127.0.0.1:1\n")
	for _, args := range [][]string{{"bench", "produce", "--input", csv, "--timeout", "2s"}, {"lab", "group-settings", "--records", "100"}} {
		_, err := runKpar(t, append(args, "--client-config", plain)...)
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("kpar %s with a plaintext --client-config: err = %v, want the broker from bootstrap.servers named", strings.Join(args, " "), err)
		}
	}
}
