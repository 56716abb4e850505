package trogdor

import (
	"bufio"
	"cmp"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/kpar/kpar/internal/broker"
)

// Trogdor's own default ports (Agent.DEFAULT_PORT, Coordinator.DEFAULT_PORT).
const (
	DefaultAgentPort       = 8888
	DefaultCoordinatorPort = 8889
)

// ParseNodesFile reads a nodes file: one daemon per line, `NAME HOST[:PORT]`,
// '#' starts a comment. The line named `coordinator` places the coordinator
// (default port 8889); every other line is an agent (default port 8888).
func ParseNodesFile(path string) (coord Process, agents []Process, err error) {
	f, err := os.Open(path)
	if err != nil {
		return coord, nil, fmt.Errorf("--nodes-file: %w", err)
	}
	defer f.Close()
	bad := func(format string, a ...any) (Process, []Process, error) {
		return coord, nil, fmt.Errorf("--nodes-file %s"+format, append([]any{path}, a...)...)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return bad(":%d: want `NAME HOST[:PORT]`, got %q", ln, strings.TrimSpace(line))
		}
		name, addr := fields[0], fields[1]
		if seen[name] {
			return bad(":%d: node %s named twice", ln, name)
		}
		seen[name] = true
		port := DefaultAgentPort
		if name == CoordinatorName {
			port = DefaultCoordinatorPort
		}
		host := addr
		if h, p, err := net.SplitHostPort(addr); err == nil {
			host = h
			if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
				return bad(":%d: bad port in %q", ln, addr)
			}
		}
		if p := (Process{Name: name, Host: host, Port: port}); name == CoordinatorName {
			coord = p
		} else {
			agents = append(agents, p)
		}
	}
	switch {
	case sc.Err() != nil:
		return bad(": %w", sc.Err())
	case coord.Name == "":
		return bad(": no line names the coordinator (`coordinator HOST[:PORT]`)")
	case len(agents) == 0:
		return bad(": no agent lines (`NAME HOST[:PORT]`)")
	}
	return coord, agents, nil
}

// Plan writes the platform file for daemons on real hosts, records it
// under home (nothing started: Down only forgets it) and returns what to
// run on each host.
func Plan(home, nodesFile string) (*State, string, error) {
	home = cmp.Or(home, broker.Home())
	coord, agents, err := ParseNodesFile(nodesFile)
	if err != nil {
		return nil, "", err
	}
	if _, err := recorded(home); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir(home), 0o755); err != nil {
		return nil, "", err
	}
	st, err := newState(dir(home), coord, agents, true)
	if err == nil {
		err = saveState(home, st)
	}
	if err != nil {
		return nil, "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Wrote %s. On every host: copy it to platform.json, and fetch Trogdor %s's jars once (`kpar deps` puts them in $KPAR_CACHE/trogdor-%s/libs; or Maven: org.apache.kafka:trogdor:%s with a log4j2 binding). Then start, each in its own shell or service (Java 17+):\n",
		st.Platform, Version, Version, Version)
	line := func(p Process, class string) {
		fmt.Fprintf(&b, "  on %s:  java -Xmx512M -cp 'LIBS/*' %s -c platform.json -n %s   # port %d\n", p.Host, class, p.Name, p.Port)
	}
	for _, a := range agents {
		line(a, agentClass)
	}
	line(coord, coordinatorClass)
	fmt.Fprintf(&b, "Then check them with 'kpar trogdor status' and sweep with 'kpar trogdor sweep --agent-bootstrap HOST:PORT' (the brokers as the agents reach them).\n")
	return st, b.String(), nil
}
