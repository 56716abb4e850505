package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sync"

	"github.com/kpar/kpar/internal/clientsec"
)

// The child protocol, one for every `kpar child <name>`: the parent writes
// one JSON line on the child's stdin, {"spec": <the child's spec>,
// "security": <clientsec.Settings, never the password, which stays in the
// inherited environment>}; the child writes JSON lines on stdout (events,
// results); further stdin lines are commands for the children that take
// any; stdin's end means the parent is gone, and the child's context ends.

// envelope is the spec line.
type envelope struct {
	Spec     json.RawMessage    `json:"spec"`
	Security clientsec.Settings `json:"security"`
}

// Exe is how children are started: Argv goes before the child's name (the
// kpar binary and "child"), Env is added to the environment, Security is
// handed to every child in its spec line.
type Exe struct {
	Argv     []string
	Env      []string
	Security clientsec.Settings
}

// Starter starts the child name with spec: Exe.Start in production, a test
// binary or a stand-in in tests.
type Starter func(ctx context.Context, name string, spec any, o Options) (*Process, error)

// Kpar is this kpar binary's `kpar child`, with the parent's security.
func Kpar(sec clientsec.Settings) (Exe, error) {
	exe, err := os.Executable()
	if err != nil {
		return Exe{}, fmt.Errorf("find the kpar binary to start a child process: %w", err)
	}
	return Exe{Argv: []string{exe, "child"}, Security: sec.Abs()}, nil
}

// StartChild starts `kpar child name` with spec and no security settings.
func StartChild(ctx context.Context, name string, spec any, o Options) (*Process, error) {
	e, err := Kpar(clientsec.Settings{})
	if err != nil {
		return nil, err
	}
	return e.Start(ctx, name, spec, o)
}

// Start starts the child name and writes its spec line. Its stdin stays
// open until it exits (Process.Send writes its commands).
func (e Exe) Start(ctx context.Context, name string, spec any, o Options) (*Process, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: spec: %w", name, err)
	}
	line, err := json.Marshal(envelope{Spec: raw, Security: e.Security})
	if err != nil {
		return nil, err
	}
	o.Env = append(append([]string(nil), e.Env...), o.Env...)
	o.Stdin = true
	p, err := Start(ctx, name, append(append([]string(nil), e.Argv...), name), o)
	if err != nil {
		return nil, err
	}
	if err := p.Send(string(line)); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%w (%v)", err, p.Err())
	}
	return p, nil
}

// Child is a child's side of the protocol.
type Child struct {
	// Client is the parent's security, resolved (the password from the
	// environment); its Opts go to every kgo client.
	Client   clientsec.Client
	Commands <-chan string // stdin lines after the spec; closed when stdin ends
	Out      *Lines        // stdout
}

// ReadSpec reads the spec line from stdin into spec and resolves its
// security; a spec struct's ClientOpts field (json:"-": options do not
// travel) gets the resolved security's client options. The context returned
// ends with ctx or when stdin ends (the parent is gone).
func ReadSpec(ctx context.Context, stdin io.Reader, stdout io.Writer, spec any) (context.Context, *Child, error) {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return ctx, nil, fmt.Errorf("read the spec line on stdin: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(line, &env); err != nil {
		return ctx, nil, fmt.Errorf("the spec line on stdin: %w", err)
	}
	if err := json.Unmarshal(env.Spec, spec); err != nil {
		return ctx, nil, fmt.Errorf("the spec on stdin: %w", err)
	}
	cl, err := env.Security.Resolve(os.Getenv)
	if err != nil {
		return ctx, nil, err
	}
	if v := reflect.ValueOf(spec); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("ClientOpts"); f.IsValid() {
			f.Set(reflect.ValueOf(cl.Opts))
		}
	}
	cmds := make(chan string)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		defer close(cmds)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case cmds <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, &Child{Client: cl, Commands: cmds, Out: NewLines(stdout)}, nil
}

// Lines writes JSON lines, one value a line, safe for concurrent use.
type Lines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewLines writes JSON lines to w.
func NewLines(w io.Writer) *Lines { return &Lines{enc: json.NewEncoder(w)} }

// Write writes v as one line.
func (l *Lines) Write(v any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enc.Encode(v)
}
