// Package clientsec turns kpar's client security settings (TLS, SASL, a Java
// client properties file) into franz-go options, in one place for every
// command and every child process.
//
// The SASL password never travels as a flag value (it would show in ps): it
// comes from $KPAR_SASL_PASSWORD or from the properties file's
// sasl.jaas.config. Child processes get the Settings in their spec (Abs, no
// password) and inherit the environment or re-read the same file.
package clientsec

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// PasswordEnv names the environment variable the SASL password is read from.
const PasswordEnv = "KPAR_SASL_PASSWORD"

// Mechanisms are the SASL mechanisms kpar speaks, as --sasl-mechanism takes them.
var Mechanisms = []string{"plain", "scram-sha-256", "scram-sha-512"}

// Settings are the security flags as given. The zero value is plaintext.
type Settings struct {
	TLS        bool   `json:"tls,omitempty"`             // --tls
	CA         string `json:"tls_ca,omitempty"`          // --tls-ca: PEM bundle trusted instead of the system roots
	Cert       string `json:"tls_cert,omitempty"`        // --tls-cert: PEM client certificate (mutual TLS)
	Key        string `json:"tls_key,omitempty"`         // --tls-key: its PEM private key
	ServerName string `json:"tls_server_name,omitempty"` // --tls-server-name: the name the broker certificate must carry
	Mechanism  string `json:"sasl_mechanism,omitempty"`  // --sasl-mechanism: one of Mechanisms
	User       string `json:"sasl_user,omitempty"`       // --sasl-user
	ConfigFile string `json:"client_config,omitempty"`   // --client-config: Java client properties
}

// flagSet is what both flag.FlagSet and pflag.FlagSet offer, so the root
// command and the children that parse with the standard library share the
// flag names and texts.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
}

// AddFlags registers the security flags on fs.
func (s *Settings) AddFlags(fs flagSet) {
	fs.BoolVar(&s.TLS, "tls", false, "connect with TLS (implied by the other --tls-* flags)")
	fs.StringVar(&s.CA, "tls-ca", "", "PEM file of the CA certificates to trust (default: the system's)")
	fs.StringVar(&s.Cert, "tls-cert", "", "PEM client certificate for mutual TLS (with --tls-key)")
	fs.StringVar(&s.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&s.ServerName, "tls-server-name", "", "name the broker certificate must carry (default: the host dialled)")
	fs.StringVar(&s.Mechanism, "sasl-mechanism", "", "SASL mechanism: "+strings.Join(Mechanisms, ", ")+"; the password is read from $"+PasswordEnv)
	fs.StringVar(&s.User, "sasl-user", "", "SASL user name (with --sasl-mechanism)")
	fs.StringVar(&s.ConfigFile, "client-config", "", "Java client properties file (bootstrap.servers, security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location as PEM); flags given override it")
}

// Set reports whether any security setting was given.
func (s Settings) Set() bool { return s != Settings{} }

// Abs is s with its file paths made absolute, for a child process (which
// may run elsewhere). The password is never among the settings.
func (s Settings) Abs() Settings {
	for _, p := range []*string{&s.CA, &s.Cert, &s.Key, &s.ConfigFile} {
		if *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return s
}

// Args renders s as the command's flags, for the command line that
// reproduces a run (file paths absolute, never the password).
func (s Settings) Args() []string {
	s = s.Abs()
	var out []string
	if s.TLS {
		out = append(out, "--tls")
	}
	for _, f := range []struct{ name, v string }{{"tls-ca", s.CA}, {"tls-cert", s.Cert}, {"tls-key", s.Key},
		{"tls-server-name", s.ServerName}, {"sasl-mechanism", s.Mechanism}, {"sasl-user", s.User}, {"client-config", s.ConfigFile}} {
		if f.v != "" {
			out = append(out, "--"+f.name+"="+f.v)
		}
	}
	return out
}

// Client is resolved settings: what to dial and how.
type Client struct {
	Settings Settings  // as given: Args hands them to a child process
	Brokers  []string  // bootstrap.servers from --client-config (nil without one)
	Opts     []kgo.Opt // TLS and SASL options for every kgo.NewClient; nil for plaintext
	User     string    // the SASL user, from the flag or the file
	// Java and Librdkafka are the same settings as those clients'
	// properties, for the benches' anchors (ProducerPerformance, kcat). The
	// password is among them: write them to a 0600 file, never argv.
	Java, Librdkafka map[string]string
	// AnchorErr says why the settings have no such form (then both are nil).
	AnchorErr error
}

// Args are the flags that give a child process the same security.
func (c Client) Args() []string { return c.Settings.Args() }

// Resolve validates s, reads the properties file and the PEM files, and
// builds the client options. getenv supplies $KPAR_SASL_PASSWORD. It touches
// no broker; errors name the flag or the file:line.
func (s Settings) Resolve(getenv func(string) string) (Client, error) {
	c := Client{Settings: s}
	eff := s // flags, then the file fills what they left empty
	password := ""
	if s.ConfigFile != "" {
		p, err := readProperties(s.ConfigFile)
		if err != nil {
			return c, err
		}
		if c.Brokers, err = p.apply(&eff, &password); err != nil {
			return c, err
		}
	}
	if eff.CA != "" || eff.Cert != "" || eff.Key != "" || eff.ServerName != "" {
		eff.TLS = true
	}
	if (eff.Cert == "") != (eff.Key == "") {
		return c, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	var mech sasl.Mechanism
	switch m := strings.ToLower(eff.Mechanism); {
	case m == "" && eff.User != "":
		return c, fmt.Errorf("--sasl-user %q needs --sasl-mechanism (%s)", eff.User, strings.Join(Mechanisms, ", "))
	case m == "":
	case eff.User == "":
		return c, fmt.Errorf("--sasl-mechanism %s needs --sasl-user", eff.Mechanism)
	default:
		if pw := getenv(PasswordEnv); pw != "" {
			password = pw // the environment beats the file, as flags do
		}
		if password == "" {
			return c, fmt.Errorf("--sasl-mechanism %s: the password is read from $%s, which is empty", eff.Mechanism, PasswordEnv)
		}
		switch m {
		case "plain":
			mech = plain.Auth{User: eff.User, Pass: password}.AsMechanism()
		case "scram-sha-256":
			mech = scram.Auth{User: eff.User, Pass: password}.AsSha256Mechanism()
		case "scram-sha-512":
			mech = scram.Auth{User: eff.User, Pass: password}.AsSha512Mechanism()
		default:
			return c, fmt.Errorf("--sasl-mechanism %q: not one of %s", eff.Mechanism, strings.Join(Mechanisms, ", "))
		}
		c.Opts = append(c.Opts, kgo.SASL(mech))
		c.User = eff.User
	}
	if eff.TLS {
		tc, err := eff.tlsConfig()
		if err != nil {
			return c, err
		}
		c.Opts = append(c.Opts, kgo.DialTLSConfig(tc))
	}
	if len(c.Opts) > 0 {
		c.Java, c.Librdkafka, c.AnchorErr = eff.anchorProps(password)
	}
	return c, nil
}

// anchorProps renders the effective settings for the Java client and for
// librdkafka. Neither can override the name the certificate is checked
// against as --tls-server-name does, so that one is refused for them.
func (s Settings) anchorProps(password string) (java, rdk map[string]string, err error) {
	proto := "SSL"
	switch {
	case s.TLS && s.Mechanism != "":
		proto = "SASL_SSL"
	case !s.TLS:
		proto = "SASL_PLAINTEXT"
	}
	java = map[string]string{"security.protocol": proto}
	rdk = map[string]string{"security.protocol": strings.ToLower(proto)}
	if s.Mechanism != "" {
		m := strings.ToUpper(s.Mechanism)
		module := "org.apache.kafka.common.security.scram.ScramLoginModule"
		if m == "PLAIN" {
			module = "org.apache.kafka.common.security.plain.PlainLoginModule"
		}
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		java["sasl.mechanism"] = m
		java["sasl.jaas.config"] = fmt.Sprintf(`%s required username="%s" password="%s";`, module, q.Replace(s.User), q.Replace(password))
		rdk["sasl.mechanisms"], rdk["sasl.username"], rdk["sasl.password"] = m, s.User, password
	}
	if s.CA != "" {
		java["ssl.truststore.type"], java["ssl.truststore.location"] = "PEM", s.CA
		rdk["ssl.ca.location"] = s.CA
	}
	if s.Cert != "" {
		if s.Cert != s.Key {
			return nil, nil, errors.New("--tls-cert/--tls-key: the Java anchor reads a client certificate only as one PEM file holding the key and the chain (give the same file to both)")
		}
		java["ssl.keystore.type"], java["ssl.keystore.location"] = "PEM", s.Cert
		rdk["ssl.certificate.location"], rdk["ssl.key.location"] = s.Cert, s.Key
	}
	if s.ServerName != "" {
		return nil, nil, errors.New("--tls-server-name: the Java and kcat anchors cannot check another name than the host they dial")
	}
	return java, rdk, nil
}

// WriteProperties writes props as key=value lines readable by this user
// only, for a child's config file argument; the caller removes it. java
// escapes backslashes and newlines as java.util.Properties reads them; kcat
// -F takes values as they are.
func WriteProperties(props map[string]string, java bool) (string, error) {
	f, err := os.CreateTemp("", "kpar-client-*.properties") // mode 0600
	if err != nil {
		return "", err
	}
	f.Close()
	if err := WritePropertiesTo(f.Name(), props, java); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// WritePropertiesTo is WriteProperties into path (created 0600 if missing).
func WritePropertiesTo(path string, props map[string]string, java bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	esc := strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		v := props[k]
		if java {
			v = esc.Replace(v)
		}
		fmt.Fprintf(f, "%s=%s\n", k, v)
	}
	return f.Close()
}

func (s Settings) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	if s.CA != "" {
		pem, err := os.ReadFile(s.CA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", s.CA)
		}
	}
	if s.Cert != "" {
		cert, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", s.Cert, s.Key, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
