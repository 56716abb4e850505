package broker

import "fmt"

// A proxied cluster (Options.Proxied, the chaos soak's) gives every node a
// second client listener, PROXIED, on ProxiedPort and advertises it at
// ProxyPort, where the soak runs a TCP proxy of its own in front of it: a
// client that bootstraps at a proxy port learns only proxy addresses, so
// the soak can delay, reset or blackhole the traffic between clients and one
// broker. The PLAINTEXT listener (base+i) stays direct: inter-broker
// replication, kpar's probes and the soak's own admin client do not pass
// through the proxies. Every address is 127.0.0.1.

// ProxiedPort is node i's real PROXIED listener: base+300+i.
func ProxiedPort(base, i int) int { return base + 300 + i }

// ProxyPort is where node i's PROXIED listener is advertised, the proxy's
// port: base+400+i.
func ProxyPort(base, i int) int { return base + 400 + i }

// proxiedProps adds the PROXIED listener to node i's properties.
func proxiedProps(p map[string]string, base, i int) {
	p["listeners"] += fmt.Sprintf(",PROXIED://127.0.0.1:%d", ProxiedPort(base, i))
	p["advertised.listeners"] += fmt.Sprintf(",PROXIED://127.0.0.1:%d", ProxyPort(base, i))
	p["listener.security.protocol.map"] += ",PROXIED:PLAINTEXT"
}
