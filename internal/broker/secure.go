package broker

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kpar/kpar/internal/clientsec"
)

// The secured cluster (`kpar broker up --secure`): every node's client port
// is a SASL_SSL listener (TLS with a certificate from a CA kpar makes; SCRAM-
// SHA-256, SCRAM-SHA-512 and PLAIN) with ACLs enforced by the KRaft
// StandardAuthorizer. Brokers talk to each other and to the controller on
// loopback PLAINTEXT listeners (INTERNAL on base+200+i, CONTROLLER on
// base+100+i), whose principal, User:ANONYMOUS, is a super user beside
// User:admin: that keeps inter-broker traffic out of the secured listener's
// setup and gives kpar's own admin a way in that is never a client's.

// Users of a secured cluster. admin is a super user; alice has no ACLs, so
// what she may do is exactly what an admin grants.
const (
	SecureAdmin = "admin"
	SecureUser  = "alice"
)

// Secure is what a client needs to reach a secured cluster kpar started.
type Secure struct {
	Dir   string `json:"dir"`   // holds the files below
	CA    string `json:"ca"`    // PEM of the CA that signed the brokers' certificate
	Admin string `json:"admin"` // client properties (SASL_SSL, SCRAM-SHA-512) of SecureAdmin
	User  string `json:"user"`  // the same for SecureUser
	// UserPlain is SecureUser's properties with SASL/PLAIN.
	UserPlain string `json:"user_plain"`
	// InternalPorts are the loopback PLAINTEXT listeners (super user),
	// which kpar's own readiness and status probes use.
	InternalPorts []int `json:"internal_ports"`
}

func internalPort(base, i int) int { return base + 200 + i }

// secureSetup is what Up needs beyond the files: the passwords for the
// storage format's SCRAM credentials and the listeners' PLAIN users.
type secureSetup struct {
	Secure
	passwords map[string]string
	keystore  string // PEM: the broker key and certificate chain
}

// prepareSecure writes the CA, the brokers' certificate (for 127.0.0.1 and
// localhost) and each user's client properties under dir.
func prepareSecure(dir string, base, nodes int) (*secureSetup, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &secureSetup{Secure: Secure{Dir: dir, CA: filepath.Join(dir, "ca.pem"),
		Admin: filepath.Join(dir, "admin.properties"), User: filepath.Join(dir, SecureUser+".properties"),
		UserPlain: filepath.Join(dir, SecureUser+"-plain.properties")},
		keystore: filepath.Join(dir, "broker.pem"), passwords: map[string]string{}}
	var boot []int
	for i := 0; i < nodes; i++ {
		s.InternalPorts, boot = append(s.InternalPorts, internalPort(base, i)), append(boot, clientPort(base, i))
	}
	caPEM, keystore, err := newCertificates()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.CA, caPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.keystore, keystore, 0o600); err != nil {
		return nil, err
	}
	for _, u := range []string{SecureAdmin, SecureUser} {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		s.passwords[u] = hex.EncodeToString(b[:])
	}
	for _, f := range []struct{ path, user, mech string }{
		{s.Admin, SecureAdmin, "SCRAM-SHA-512"}, {s.User, SecureUser, "SCRAM-SHA-512"}, {s.UserPlain, SecureUser, "PLAIN"},
	} {
		if err := writeClientProps(f.path, loopback(boot), s.CA, f.user, s.passwords[f.user], f.mech); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// writeClientProps writes a Java client's properties file for the secured
// listener (the form --client-config reads), as clientsec renders every Java
// client's security.
func writeClientProps(path string, boot []string, ca, user, password, mech string) error {
	c, err := clientsec.Settings{CA: ca, Mechanism: mech, User: user}.Resolve(func(string) string { return password })
	if err == nil {
		err = c.AnchorErr
	}
	if err != nil {
		return err
	}
	c.Java["bootstrap.servers"] = strings.Join(boot, ",")
	return clientsec.WritePropertiesTo(path, c.Java, true)
}

// formatArgs add the SCRAM credentials to the storage format, so they exist
// before the first client connects.
func (s *secureSetup) formatArgs() []string {
	var out []string
	for _, u := range []string{SecureAdmin, SecureUser} {
		for _, m := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
			out = append(out, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", m, u, s.passwords[u]))
		}
	}
	return out
}

// props changes a node's plaintext properties p into the secured ones.
func (s *secureSetup) props(p map[string]string, base, i int) {
	client, internal := clientPort(base, i), internalPort(base, i)
	p["listeners"] = fmt.Sprintf("SASL_SSL://127.0.0.1:%d,INTERNAL://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", client, internal, controllerPort(base, i))
	p["advertised.listeners"] = fmt.Sprintf("SASL_SSL://127.0.0.1:%d,INTERNAL://127.0.0.1:%d", client, internal)
	p["listener.security.protocol.map"] = "SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
	p["inter.broker.listener.name"] = "INTERNAL"
	p["sasl.enabled.mechanisms"] = "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN"
	p["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
	p["listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
	var plain []string
	for _, u := range []string{SecureAdmin, SecureUser} {
		plain = append(plain, fmt.Sprintf(`user_%s="%s"`, u, s.passwords[u]))
	}
	p["listener.name.sasl_ssl.plain.sasl.jaas.config"] = "org.apache.kafka.common.security.plain.PlainLoginModule required " + strings.Join(plain, " ") + ";"
	p["ssl.keystore.type"] = "PEM"
	p["ssl.keystore.location"] = s.keystore
	p["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	p["super.users"] = "User:" + SecureAdmin + ";User:ANONYMOUS"
}

// newCertificates makes a CA and, signed by it, a certificate for the
// brokers (one for every node: they all listen on 127.0.0.1). It returns the
// CA's PEM and the keystore PEM (PKCS#8 key, then the chain) Kafka reads
// with ssl.keystore.type=PEM.
func newCertificates() (caPEM, keystore []byte, err error) {
	now := time.Now()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kpar local CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	keystore = append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})...)
	keystore = append(keystore, caPEM...)
	return caPEM, keystore, nil
}
