package clientsec

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed PEM certificate and returns its path.
func writeCA(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(pw string) func(string) string {
	return func(k string) string {
		if k == PasswordEnv {
			return pw
		}
		return ""
	}
}

func TestResolveRefusesBadFlagsNamingTheFlag(t *testing.T) {
	dir := t.TempDir()
	ca := writeCA(t, dir)
	for _, tc := range []struct {
		name string
		s    Settings
		pw   string
		want string // in the error
	}{
		{"cert without key", Settings{Cert: ca}, "", "--tls-cert and --tls-key"},
		{"user without mechanism", Settings{User: "u"}, "pw", "--sasl-user"},
		{"mechanism without user", Settings{Mechanism: "plain"}, "pw", "needs --sasl-user"},
		{"unknown mechanism", Settings{Mechanism: "gssapi", User: "u"}, "pw", `--sasl-mechanism "gssapi"`},
		{"no password", Settings{Mechanism: "scram-sha-512", User: "u"}, "", "$" + PasswordEnv},
		{"missing CA", Settings{CA: filepath.Join(dir, "nope.pem")}, "", "--tls-ca"},
		{"CA not PEM", Settings{CA: write(t, dir, "junk", "hello")}, "", "no PEM certificate"},
		{"missing file", Settings{ConfigFile: filepath.Join(dir, "nope.properties")}, "", "--client-config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Resolve(env(tc.pw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// The boundary: the same table's good neighbours pass, so it cannot
	// pass by refusing everything.
	for _, s := range []Settings{{}, {TLS: true}, {CA: ca}, {Mechanism: "scram-sha-256", User: "u"}, {Mechanism: "PLAIN", User: "u", CA: ca}} {
		c, err := s.Resolve(env("pw"))
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if want := btoi(s.TLS || s.CA != "") + btoi(s.Mechanism != ""); len(c.Opts) != want {
			t.Fatalf("%+v: %d options, want %d", s, len(c.Opts), want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestClientConfigAsAJavaUserWritesIt(t *testing.T) {
	dir := t.TempDir()
	ca := writeCA(t, dir)
	// A quote inside the JAAS password is \\" in the file: the properties
	// layer takes one backslash, JAAS the other, as in Java.
	file := write(t, dir, "client.properties", `# written as for kafka-console-producer
bootstrap.servers=127.0.0.1:14092, 127.0.0.1:14093
security.protocol = SASL_SSL
sasl.mechanism: SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="alice" \
    password="s3cr\\"t";
ssl.truststore.type=PEM
ssl.truststore.location=ca.pem
client.id=ignored
`)
	s := Settings{ConfigFile: file}
	c, err := s.Resolve(env(""))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.1:14092", "127.0.0.1:14093"}; !reflect.DeepEqual(c.Brokers, want) {
		t.Fatalf("brokers %v, want %v", c.Brokers, want)
	}
	if c.User != "alice" || len(c.Opts) != 2 {
		t.Fatalf("user %q, %d options; want alice with SASL and TLS", c.User, len(c.Opts))
	}
	// The password in the file: read it back through the parser.
	p, _ := readProperties(file)
	eff, pw := Settings{}, ""
	if _, err := p.apply(&eff, &pw); err != nil {
		t.Fatal(err)
	}
	if pw != `s3cr"t` || eff.CA != ca || eff.Mechanism != "scram-sha-512" || !eff.TLS {
		t.Fatalf("password %q, settings %+v", pw, eff)
	}
	// Flags beat the file; the environment beats the file's password.
	s.User = "bob"
	if c, err = s.Resolve(env("pw")); err != nil || c.User != "bob" {
		t.Fatalf("user %q, %v; want the flag's bob", c.User, err)
	}
}

func TestClientConfigRefusalsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	jks := write(t, dir, "truststore.jks", "\xfe\xed\xfe\xed binary")
	for _, tc := range []struct {
		name, body, want string
	}{
		{"protocol", "a=b\nsecurity.protocol=TLS\n", "client.properties:2: security.protocol=TLS: not one of"},
		{"kerberos default", "security.protocol=SASL_SSL\n", "client.properties:1: security.protocol: security.protocol SASL_SSL needs sasl.mechanism"},
		{"oauth", "security.protocol=SASL_SSL\n\nsasl.mechanism=OAUTHBEARER\n", "client.properties:3: sasl.mechanism=OAUTHBEARER"},
		{"jks", "security.protocol=SSL\nssl.truststore.location=" + jks + "\n", "client.properties:2: ssl.truststore.location: " + jks + " is a JKS (Java's default) store; kpar reads PEM only"},
		{"pkcs12", "security.protocol=SSL\nssl.truststore.type=PKCS12\nssl.truststore.location=" + jks + "\n", "is a PKCS12 store"},
		{"module", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";\n", "client.properties:3: sasl.jaas.config: sasl.mechanism PLAIN needs PlainLoginModule"},
		{"no username", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required;\n", `no username="..."`},
		{"mechanism without sasl", "security.protocol=SSL\nsasl.mechanism=PLAIN\n", "sasl.mechanism is set but security.protocol is \"SSL\""},
		{"no host check", "security.protocol=SSL\nssl.endpoint.identification.algorithm=\n", "ssl.endpoint.identification.algorithm is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Settings{ConfigFile: write(t, dir, "client.properties", tc.body)}.Resolve(env("pw"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant one containing %q", err, tc.want)
			}
		})
	}
	// Plaintext properties are fine and bring no options.
	c, err := Settings{ConfigFile: write(t, dir, "client.properties", "bootstrap.servers=h:1\nsecurity.protocol=PLAINTEXT\n")}.Resolve(env(""))
	if err != nil || len(c.Opts) != 0 || len(c.Brokers) != 1 {
		t.Fatalf("plaintext file: %v, %d options, brokers %v", err, len(c.Opts), c.Brokers)
	}
}

func TestAbsRoundTripsThroughJSONWithoutThePassword(t *testing.T) {
	s := Settings{TLS: true, CA: "ca.pem", Mechanism: "plain", User: "u", ServerName: "localhost"}
	b, err := json.Marshal(s.Abs())
	if err != nil {
		t.Fatal(err)
	}
	joined := string(b)
	if strings.Contains(joined, "pw") || !strings.Contains(joined, `"sasl_user":"u"`) || strings.Contains(joined, `"ca.pem"`) {
		t.Fatalf("spec %s: want absolute paths, the user, no password", joined)
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("ca.pem")
	s.CA = abs
	if back != s {
		t.Fatalf("round trip: %+v, want %+v", back, s)
	}
}

// The anchors get the same settings in their own clients' words, and the
// Java form reads back as the file it came from.
func TestAnchorPropsCarryTheSameSettings(t *testing.T) {
	dir := t.TempDir()
	ca := writeCA(t, dir)
	c, err := Settings{CA: ca, Mechanism: "scram-sha-512", User: `al"ice`}.Resolve(env(`p\w"d`))
	if err != nil || c.AnchorErr != nil {
		t.Fatal(err, c.AnchorErr)
	}
	if c.Librdkafka["security.protocol"] != "sasl_ssl" || c.Librdkafka["sasl.password"] != `p\w"d` || c.Librdkafka["ssl.ca.location"] != ca {
		t.Fatalf("librdkafka %v", c.Librdkafka)
	}
	f, err := WriteProperties(c.Java, true)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f)
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: the password is in it", st.Mode().Perm())
	}
	back, err := Settings{ConfigFile: f}.Resolve(env(""))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := readProperties(f)
	eff, pw := Settings{}, ""
	if _, err := p.apply(&eff, &pw); err != nil || pw != `p\w"d` || back.User != `al"ice` || eff.CA != ca {
		t.Fatalf("read back: %v, password %q, user %q, CA %q", err, pw, back.User, eff.CA)
	}
	if _, err := (Settings{TLS: true, ServerName: "h"}).Resolve(env("")); err != nil {
		t.Fatalf("--tls-server-name is fine for kpar's own clients: %v", err)
	}
	if c, _ := (Settings{TLS: true, ServerName: "h"}).Resolve(env("")); c.AnchorErr == nil || c.Java != nil {
		t.Fatalf("--tls-server-name: anchors %v, err %v; want them refused", c.Java, c.AnchorErr)
	}
}
