package clientsec

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// property is one key of a Java properties file and the line it starts on.
type property struct {
	value string
	line  int
}

// properties is a parsed --client-config file.
type properties struct {
	file string
	kv   map[string]property
}

// readProperties parses the subset of java.util.Properties client files
// use: key=value, key: value or key value; # and ! comments; a trailing
// backslash continues the line (leading blanks of the next one dropped).
func readProperties(file string) (properties, error) {
	p := properties{file: file, kv: map[string]property{}}
	b, err := os.ReadFile(file)
	if err != nil {
		return p, fmt.Errorf("--client-config: %w", err)
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := strings.TrimLeft(lines[i], " \t\f")
		if l == "" || l[0] == '#' || l[0] == '!' {
			continue
		}
		for strings.HasSuffix(l, `\`) && !strings.HasSuffix(l, `\\`) && i+1 < len(lines) {
			i++
			l = l[:len(l)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		key, val := splitProperty(l)
		p.kv[key] = property{value: val, line: start}
	}
	return p, nil
}

// splitProperty splits at the first unescaped '=', ':' or blank.
func splitProperty(l string) (string, string) {
	for j := 0; j < len(l); j++ {
		switch l[j] {
		case '\\':
			j++
		case '=', ':', ' ', '\t':
			key, rest := l[:j], l[j+1:]
			if l[j] == ' ' || l[j] == '\t' {
				rest = strings.TrimLeft(rest, " \t\f")
				if rest != "" && (rest[0] == '=' || rest[0] == ':') {
					rest = rest[1:]
				}
			}
			return unescape(key), unescape(strings.TrimLeft(rest, " \t"))
		}
	}
	return unescape(l), ""
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (p properties) at(key string) string {
	return fmt.Sprintf("%s:%d: %s", p.file, p.kv[key].line, key)
}

var jaasOption = regexp.MustCompile(`(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"`)

// apply fills what the flags left empty in s from the file and returns
// bootstrap.servers. Keys the Java client has but kpar does not use (client.id,
// acks, ...) are left alone; security keys kpar cannot honour are refused, so
// a run is never less secure than the file asked for.
func (p properties) apply(s *Settings, password *string) ([]string, error) {
	get := func(k string) string { return strings.TrimSpace(p.kv[k].value) }
	var brokers []string
	for _, b := range strings.Split(get("bootstrap.servers"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	proto := strings.ToUpper(get("security.protocol"))
	if !slices.Contains([]string{"", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, proto) {
		return nil, fmt.Errorf("%s=%s: not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", p.at("security.protocol"), proto)
	}
	tlsOn, saslOn := strings.HasSuffix(proto, "SSL"), strings.HasPrefix(proto, "SASL_")
	s.TLS = s.TLS || tlsOn
	if tlsOn {
		if err := p.applyTLS(s); err != nil {
			return nil, err
		}
	}
	if !saslOn {
		if get("sasl.mechanism") != "" {
			return nil, fmt.Errorf("%s is set but security.protocol is %q: use SASL_SSL or SASL_PLAINTEXT", p.at("sasl.mechanism"), proto)
		}
		return brokers, nil
	}
	mech := strings.ToUpper(get("sasl.mechanism"))
	module := ""
	switch mech {
	case "PLAIN":
		module = "PlainLoginModule"
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		module = "ScramLoginModule"
	case "":
		// Java's default is GSSAPI (Kerberos), which kpar does not speak.
		return nil, fmt.Errorf("%s: security.protocol %s needs sasl.mechanism (kpar speaks PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", p.at("security.protocol"), proto)
	default:
		return nil, fmt.Errorf("%s=%s: kpar speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512", p.at("sasl.mechanism"), mech)
	}
	s.Mechanism = cmp.Or(s.Mechanism, strings.ToLower(mech))
	jaas := get("sasl.jaas.config")
	if jaas == "" {
		if s.User == "" {
			return nil, fmt.Errorf("%s: sasl.mechanism %s needs sasl.jaas.config (or --sasl-user and $%s)", p.file, mech, PasswordEnv)
		}
		return brokers, nil
	}
	if !strings.Contains(jaas, module) {
		return nil, fmt.Errorf("%s: sasl.mechanism %s needs %s, not %q", p.at("sasl.jaas.config"), mech, module, strings.Fields(jaas)[0])
	}
	opts := map[string]string{}
	for _, m := range jaasOption.FindAllStringSubmatch(jaas, -1) {
		opts[m[1]] = strings.ReplaceAll(strings.ReplaceAll(m[2], `\"`, `"`), `\\`, `\`)
	}
	if opts["username"] == "" {
		return nil, fmt.Errorf(`%s: no username="..." in it`, p.at("sasl.jaas.config"))
	}
	s.User = cmp.Or(s.User, opts["username"])
	*password = opts["password"]
	return brokers, nil
}

func (p properties) applyTLS(s *Settings) error {
	get := func(k string) string { return strings.TrimSpace(p.kv[k].value) }
	if pem := get("ssl.truststore.certificates"); pem != "" && s.CA == "" && get("ssl.truststore.location") == "" {
		return fmt.Errorf("%s: inline PEM is not read; put the certificates in a file and name it in ssl.truststore.location", p.at("ssl.truststore.certificates"))
	}
	// A PEM keystore holds the key and the certificate chain in one file.
	for _, st := range []struct {
		prefix string
		to     []*string
	}{{"ssl.truststore", []*string{&s.CA}}, {"ssl.keystore", []*string{&s.Cert, &s.Key}}} {
		loc := get(st.prefix + ".location")
		if loc == "" || *st.to[0] != "" {
			continue
		}
		if !filepath.IsAbs(loc) {
			loc = filepath.Join(filepath.Dir(p.file), loc)
		}
		if err := needPEM(p, st.prefix, loc); err != nil {
			return err
		}
		for _, to := range st.to {
			*to = loc
		}
	}
	if v, ok := p.kv["ssl.endpoint.identification.algorithm"]; ok && strings.TrimSpace(v.value) == "" {
		return fmt.Errorf("%s is empty (no host name check): kpar always checks it; name the certificate's host with --tls-server-name instead", p.at("ssl.endpoint.identification.algorithm"))
	}
	return nil
}

// needPEM refuses JKS and PKCS12 stores: no library in kpar's module reads
// them, and the standard library does not.
func needPEM(p properties, prefix, loc string) error {
	typ := strings.ToUpper(strings.TrimSpace(p.kv[prefix+".type"].value))
	b, err := os.ReadFile(loc)
	if err != nil {
		return fmt.Errorf("%s: %w", p.at(prefix+".location"), err)
	}
	if (typ != "" && typ != "PEM") || !bytes.Contains(b, []byte("-----BEGIN ")) {
		if typ == "" {
			typ = "JKS (Java's default)"
		}
		return fmt.Errorf("%s: %s is a %s store; kpar reads PEM only: export it with 'keytool -exportcert -rfc -keystore %s -alias <alias>' (or openssl pkcs12 -nodes for PKCS12) and set %s.type=PEM",
			p.at(prefix+".location"), loc, typ, loc, prefix)
	}
	return nil
}
