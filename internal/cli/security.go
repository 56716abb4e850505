package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kpar/kpar/internal/clientsec"
)

// The client security every command shares: the flags live on the root
// (beside --brokers), are resolved once before any command runs (so a bad
// file or a missing password is reported before a broker is looked up), and
// reach children in their spec line (proc.Kpar), the password through the
// environment they inherit or the --client-config file they re-read.

func (g *globals) addSecurityFlags(fs *pflag.FlagSet) { g.sec.AddFlags(fs) }

// resolveSecurity validates the security flags and --client-config, builds
// the client options and refuses them for a command not wired for them. It
// touches no broker.
func (g *globals) resolveSecurity(cmd *cobra.Command) error {
	c, err := g.sec.Resolve(os.Getenv)
	if err != nil {
		return err
	}
	g.client = c
	return g.refuseSecurity(cmd)
}

// secured reports whether clients need options beyond the seeds.
func (g *globals) secured() bool { return len(g.client.Opts) > 0 }

// refusal turns a failed probe into one line naming the cause, by error
// type (never by message text).
func (g *globals) refusal(seeds []string, err error) error {
	at := strings.Join(seeds, ",")
	var unknownCA x509.UnknownAuthorityError
	var host x509.HostnameError
	var notTLS tls.RecordHeaderError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("broker %s: TLS: its certificate is signed by a CA we do not trust; name the CA's PEM file with --tls-ca (%v)", at, err)
	case errors.As(err, &host):
		return fmt.Errorf("broker %s: TLS: its certificate is not for that host; name the one it is for with --tls-server-name (%v)", at, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("broker %s: TLS: its certificate is invalid (%v)", at, err)
	case errors.As(err, &notTLS):
		return fmt.Errorf("broker %s: TLS: the port does not speak TLS; drop --tls or use the broker's TLS listener (%v)", at, err)
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("broker %s: SASL: login of user %q refused: wrong password ($%s) or unknown user (%v)", at, g.client.User, clientsec.PasswordEnv, err)
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("broker %s: SASL: the listener does not offer mechanism %s (%v)", at, g.sec.Mechanism, err)
	case errors.Is(err, kerr.ClusterAuthorizationFailed), errors.Is(err, kerr.TopicAuthorizationFailed):
		return fmt.Errorf("broker %s: authorization refused: %v", at, err)
	}
	if s := g.localSecure; s != nil && !g.secured() {
		return fmt.Errorf("broker %s was started --secure: connect with --client-config %s (or --tls-ca %s and --sasl-*)", at, s.Admin, s.CA)
	}
	hint := "start one with 'kpar broker up' or name yours with --brokers"
	if !g.secured() {
		hint += "; a TLS or SASL listener needs --tls / --sasl-mechanism or --client-config"
	}
	return fmt.Errorf("broker %s does not answer: %w (%s)", at, err, hint)
}

// securityWired marks a command whose every client, children included,
// takes the security settings. The others (today those that reach no
// cluster, or only the local one kpar started) refuse them before they run
// rather than ignore them: a new command's clients would otherwise dial
// without TLS or SASL unnoticed.
const securityWired = "kpar/security-wired"

// wired marks cmd; note qualifies it in the refusal's list ("on a given
// cluster").
func wired(cmd *cobra.Command, note ...string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[securityWired] = strings.Join(note, " ")
	return cmd
}

// wiredCommands names the commands marked with wired, for the refusal.
func wiredCommands(c *cobra.Command) []string {
	var names []string
	if note, ok := c.Annotations[securityWired]; ok {
		name := strings.TrimPrefix(c.CommandPath(), "kpar ")
		if note != "" {
			name += " (" + note + ")"
		}
		names = append(names, name)
	}
	for _, s := range c.Commands() {
		names = append(names, wiredCommands(s)...)
	}
	return names
}

func (g *globals) refuseSecurity(cmd *cobra.Command) error {
	if _, ok := cmd.Annotations[securityWired]; !g.secured() || ok {
		return nil
	}
	return fmt.Errorf("kpar %s does not use TLS/SASL settings (--tls*, --sasl-*, --client-config with security.protocol); the commands that do: %s",
		strings.TrimPrefix(cmd.CommandPath(), "kpar "), strings.Join(wiredCommands(cmd.Root()), ", "))
}
