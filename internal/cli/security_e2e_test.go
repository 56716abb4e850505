package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/clientsec"
	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/testkit"
	"github.com/kpar/kpar/parallel"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// secureBroker starts `kpar broker up --secure` on its own ports
// (14092, controller 14192, internal 14292) in a temp home. It starts a JVM,
// so it is skipped under -short, as the broker lifecycle tests are.
func secureBroker(t *testing.T) *broker.State {
	t.Helper()
	testkit.StartsBrokers(t, "starts a real Kafka JVM")
	home := t.TempDir()
	st, err := broker.Up(context.Background(), broker.Options{Home: home, BasePort: 14092, Secure: true})
	if err != nil {
		t.Fatalf("broker up --secure: %v", err)
	}
	t.Cleanup(func() {
		if _, err := broker.Down(home); err != nil {
			t.Errorf("broker down: %v", err)
		}
	})
	return st
}

func password(t *testing.T, props string) string {
	t.Helper()
	b, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`password="([^"]*)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no password", props)
	}
	return string(m[1])
}

// Produce and consume over TLS + SCRAM-SHA-512 as a user would: with the
// properties file broker up wrote, and with flags and the password in the
// environment; then each refusal is one line naming its cause, and a
// refused run writes no results.
func TestSecuredBrokerProduceConsumeAndRefusals(t *testing.T) {
	st := secureBroker(t)
	s := st.Secure
	dir := t.TempDir()
	csv := testkit.WriteFile(t, dir, "in.csv", "id,v\n"+strings.Repeat("1,hello\n2,world\n", 500))
	produce := func(out string, args ...string) error {
		_, err := runKpar(t, append([]string{"bench", "produce", "--input", csv, "--producers", "1", "--repeat", "1",
			"--warmup", "0", "--out", filepath.Join(dir, out)}, args...)...)
		return err
	}
	t.Setenv("KPAR_SASL_PASSWORD", "")
	if err := produce("props", "--client-config", s.Admin); err != nil {
		t.Fatalf("bench produce --client-config %s: %v", s.Admin, err)
	}
	if _, err := runKpar(t, "bench", "consume", "--client-config", s.Admin, "--only", "io", "--records", "2000",
		"--sleep", "1ms", "--repeat", "1", "--min-window", "1ns", "--out", filepath.Join(dir, "consume")); err != nil {
		t.Fatalf("bench consume over TLS+SCRAM: %v", err)
	}
	t.Setenv("KPAR_SASL_PASSWORD", password(t, s.Admin))
	scram := []string{"--brokers", strings.Join(st.Bootstrap(), ","), "--sasl-mechanism", "scram-sha-512", "--sasl-user", "admin"}
	if err := produce("flags", append(scram, "--tls-ca", s.CA)...); err != nil {
		t.Fatalf("bench produce with flags: %v", err)
	}
	for _, out := range []string{"props", "flags"} {
		if _, err := os.Stat(filepath.Join(dir, out, "results.json")); err != nil {
			t.Errorf("%s: %v", out, err)
		}
	}

	t.Run("parallel refused its dead-letter topic", func(t *testing.T) { parallelRefusedDLT(t, st) })

	for _, tc := range []struct {
		name, want string
		env        string // KPAR_SASL_PASSWORD
		args       []string
	}{
		{"wrong password", `SASL: login of user "admin" refused: wrong password`, "not-it", append(scram, "--tls-ca", s.CA)},
		{"untrusted CA", "TLS: its certificate is signed by a CA we do not trust", password(t, s.Admin), append(scram, "--tls")},
		{"plaintext client on the TLS port", "a TLS or SASL listener needs --tls", "", []string{"--brokers", st.Bootstrap()[0]}},
		{"denied topic", "TOPIC_AUTHORIZATION_FAILED", "", []string{"--client-config", s.UserPlain}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KPAR_SASL_PASSWORD", tc.env)
			out := "refused-" + strings.ReplaceAll(tc.name, " ", "-")
			err := produce(out, append(tc.args, "--timeout", "20s")...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant one containing %q", err, tc.want)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("refusal spans lines: %q", err)
			}
			if _, serr := os.Stat(filepath.Join(dir, out)); !os.IsNotExist(serr) {
				t.Errorf("a refused run left %s (%v)", out, serr)
			}
		})
	}
}

// The child processes get the same security: the kpar binary runs a lab
// cell (worker processes, crashes) and a producer sweep with --processes on
// the secured broker, the password only in the environment they inherit.
func TestSecuredBrokerChildProcesses(t *testing.T) {
	st := secureBroker(t)
	s := st.Secure
	bin := kparBinary(t)
	dir := t.TempDir()
	t.Setenv("KPAR_SASL_PASSWORD", password(t, s.Admin))
	sec := []string{"--brokers", strings.Join(st.Bootstrap(), ","), "--tls-ca", s.CA,
		"--sasl-mechanism", "scram-sha-512", "--sasl-user", "admin"}
	out := filepath.Join(dir, "lab")
	runBinary(t, bin, append(sec, "lab", "consumer", "--cell", "lib-key/ooo+crash", "--records", "400", "--partitions", "3",
		"--keys", "16", "--workers", "4", "--crashes", "1", "--seed", "77", "--out", out)...)
	res, err := consumer.Read(filepath.Join(out, "lab-consumer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Cells[0]; c.Error != "" || c.Stalled || c.Check.Lost != 0 || c.Crashes != 1 {
		t.Fatalf("cell over TLS+SCRAM: error %q, stalled %v, lost %d, crashes %d", c.Error, c.Stalled, c.Check.Lost, c.Crashes)
	}
	csv := testkit.WriteFile(t, dir, "in.csv", "id,v\n"+strings.Repeat("1,hello\n", 1000))
	runBinary(t, bin, append(sec, "bench", "produce", "--input", csv, "--processes", "--producers", "2", "--repeat", "1",
		"--warmup", "0", "--out", filepath.Join(dir, "produce"))...)
}

// parallelRefusedDLT: alice may read the topic and join the group but not
// write the dead-letter topic. A permanent failure then stops Run with
// ErrNotAuthorized naming the topic, over TLS + SCRAM, and the group's
// committed offset does not pass the record.
func parallelRefusedDLT(t *testing.T, st *broker.State) {
	resolve := func(props string) clientsec.Client {
		c, err := clientsec.Settings{ConfigFile: props}.Resolve(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	admin, alice := resolve(st.Secure.Admin), resolve(st.Secure.User)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	acl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(st.Bootstrap()...)}, admin.Opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer acl.Close()
	adm := kadm.NewClient(acl)
	in, dlt, group := "refused-in", "refused-dlt", "refused-group"
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, in, dlt); err != nil {
		t.Fatal(err)
	}
	rs := make([]*kgo.Record, 5)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: in, Value: []byte(strconv.Itoa(i))}
	}
	if err := acl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	grant := kadm.NewACLs().Allow("User:"+broker.SecureUser).AllowHosts().Topics(in).Groups(group).
		Operations(kadm.OpRead, kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternLiteral)
	if res, err := adm.CreateACLs(ctx, grant); err != nil || res[0].Err != nil {
		t.Fatalf("grant alice: %v %v", err, res)
	}
	c, err := parallel.New(func(_ context.Context, r *kgo.Record) error {
		if string(r.Value) == "2" {
			return parallel.Permanent(errors.New("malformed"))
		}
		return nil
	}, parallel.ClientOpts(append([]kgo.Opt{kgo.SeedBrokers(st.Bootstrap()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in)},
		alice.Opts...)...), parallel.DeadLetterTopic(dlt), parallel.Ordering(parallel.OrderPartition))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Run(ctx)
	if !errors.Is(err, parallel.ErrNotAuthorized) || !strings.Contains(err.Error(), "topic "+dlt) {
		t.Fatalf("Run = %v, want ErrNotAuthorized naming topic %s", err, dlt)
	}
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(in, 0); ok && o.At > 2 {
		t.Errorf("committed offset %d passes the record whose dead-letter write was refused (offset 2)", o.At)
	}
}
