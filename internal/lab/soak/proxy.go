package soak

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kpar/kpar/internal/lab/workload"
)

// Proxy is the soak's userspace TCP proxy in front of one broker's PROXIED
// listener: clients reach the broker only through it, so it can add delay,
// reset connections or blackhole the traffic without netem or root.
type Proxy struct {
	ln     net.Listener
	target string
	seed   int64
	node   int

	mu    sync.Mutex
	cond  *sync.Cond
	mode  Mode
	conns map[net.Conn]struct{}
	done  bool

	chunks atomic.Uint64 // chunks forwarded, the drop dice's counter
	resets atomic.Int64  // connections reset by Drop
}

// Mode is the proxy's fault.
type Mode struct {
	Delay     time.Duration // added before every chunk forwarded, each way
	Drop      float64       // chance that a chunk resets its connection (both sides)
	Blackhole bool          // nothing is forwarded and no new connection reaches the broker until healed
}

func (m Mode) String() string {
	switch {
	case m.Blackhole:
		return "blackhole"
	case m.Drop > 0:
		return fmt.Sprintf("reset %.0f%% of chunks", 100*m.Drop)
	case m.Delay > 0:
		return "delay " + m.Delay.String()
	}
	return "pass"
}

// Listen starts a proxy on addr forwarding to target.
func Listen(addr, target string, node int, seed int64) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy for node %d on %s: %w", node, addr, err)
	}
	p := &Proxy{ln: ln, target: target, seed: seed, node: node, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	return p, nil
}

// Set changes the fault; Mode{} heals.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	p.mode = m
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Resets is how many connections Drop reset so far.
func (p *Proxy) Resets() int64 { return p.resets.Load() }

// Close stops the proxy and every connection through it.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.done = true
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.ln.Close()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

// hold waits while the proxy blackholes; false once it is closed.
func (p *Proxy) hold() (Mode, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode.Blackhole && !p.done {
		p.cond.Wait()
	}
	return p.mode, !p.done
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.done {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	if !p.track(client, true) {
		return
	}
	defer p.track(client, false)
	if _, ok := p.hold(); !ok {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return // the broker is down: the client sees its connection close
	}
	defer up.Close()
	if !p.track(up, true) {
		return
	}
	defer p.track(up, false)
	reset := func() {
		p.resets.Add(1)
		for _, c := range []net.Conn{client, up} {
			if t, ok := c.(*net.TCPConn); ok {
				_ = t.SetLinger(0) // close with RST
			}
			c.Close()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(up, client, reset) }()
	go func() { defer wg.Done(); p.pump(client, up, reset) }()
	wg.Wait()
}

// pump copies src to dst chunk by chunk, applying the mode to each chunk.
func (p *Proxy) pump(dst, src net.Conn, reset func()) {
	defer dst.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			m, ok := p.hold()
			if !ok {
				return
			}
			if m.Delay > 0 {
				time.Sleep(m.Delay)
			}
			if m.Drop > 0 && workload.Float(p.seed, 7, uint64(p.node), p.chunks.Add(1)) < m.Drop {
				reset()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				if t, ok := dst.(*net.TCPConn); ok {
					_ = t.CloseWrite()
				}
			}
			return
		}
	}
}
