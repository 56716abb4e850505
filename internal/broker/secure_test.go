package broker

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/kpar/kpar/internal/clientsec"
)

// The brokers' certificate verifies against the CA kpar prints, for the
// address clients dial, and Kafka's PEM keystore gets the key first.
func TestSecureCertificatesVerifyFor127001(t *testing.T) {
	s, err := prepareSecure(t.TempDir(), 14092, 3)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(s.CA)
	ks, _ := os.ReadFile(s.keystore)
	if !strings.HasPrefix(string(ks), "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("keystore starts %q, want the PKCS#8 key", string(ks[:30]))
	}
	pair, err := tls.X509KeyPair(ks, ks)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: x509.NewCertPool(), DNSName: "127.0.0.1"}); err == nil {
		t.Error("verified without the CA: the test proves nothing")
	}
}

// --secure changes only the listeners, SASL and ACL keys; the default stays.
func TestSecurePropsOnlyAddSecurity(t *testing.T) {
	s, err := prepareSecure(t.TempDir(), 14092, 1)
	if err != nil {
		t.Fatal(err)
	}
	plain, sec := serverProps(14092, 1, 0, "/d", nil), serverProps(14092, 1, 0, "/d", s)
	for _, want := range []string{
		"listeners=SASL_SSL://127.0.0.1:14092,INTERNAL://127.0.0.1:14292,CONTROLLER://127.0.0.1:14192\n",
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n",
		"super.users=User:admin;User:ANONYMOUS\n", "inter.broker.listener.name=INTERNAL\n", "ssl.keystore.type=PEM\n",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("secured props lack %q", want)
		}
	}
	if strings.Contains(plain, "SASL") || strings.Contains(plain, "authorizer") || !strings.Contains(plain, "listeners=PLAINTEXT://127.0.0.1:14092,CONTROLLER://127.0.0.1:14192\n") {
		t.Errorf("plaintext props changed:\n%s", plain)
	}
	if got := len(s.formatArgs()); got != 8 { // 2 users x 2 SCRAM mechanisms, flag + value
		t.Errorf("format args %d, want 8", got)
	}
}

// Each user's properties file is what --client-config reads: the cluster's
// client ports, TLS with the CA kpar made, the user and a mechanism.
func TestSecureClientPropertiesResolveAsAClientConfig(t *testing.T) {
	s, err := prepareSecure(t.TempDir(), 14092, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ path, user, mech string }{
		{s.Admin, SecureAdmin, "SCRAM-SHA-512"}, {s.User, SecureUser, "SCRAM-SHA-512"}, {s.UserPlain, SecureUser, "PLAIN"},
	} {
		if st, err := os.Stat(f.path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v, want 0600 (it holds a password)", f.path, err, st.Mode())
		}
		c, err := clientsec.Settings{ConfigFile: f.path}.Resolve(func(string) string { return "" })
		if err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		if c.User != f.user || strings.Join(c.Brokers, ",") != "127.0.0.1:14092,127.0.0.1:14093,127.0.0.1:14094" || len(c.Opts) != 2 ||
			c.Java["sasl.mechanism"] != f.mech || c.Java["security.protocol"] != "SASL_SSL" || c.Java["ssl.truststore.location"] != s.CA ||
			!strings.Contains(c.Java["sasl.jaas.config"], `password="`+s.passwords[f.user]+`"`) {
			t.Errorf("%s resolves to user %q, brokers %v, %d options, %v", f.path, c.User, c.Brokers, len(c.Opts), c.Java)
		}
	}
}
