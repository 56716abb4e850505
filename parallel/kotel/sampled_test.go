package kotel

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceparents are the values the in-place reading must read as the W3C
// propagator does: valid, unsampled, future versions, and the malformed.
var traceparents = []string{
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-04",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-ever",
	"fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
	"0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
	"00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
	"00-4bf92f3577b34da6a3ce9-9d0e0e4736-00f067aa0ba902b7-01",
	"0--4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-",
	"",
	"-",
	"---",
}

func TestTraceparentIsReadAsTheW3CPropagatorReadsIt(t *testing.T) {
	for _, v := range traceparents {
		checkTraceparent(t, v)
	}
}

func FuzzTraceparent(f *testing.F) {
	for _, v := range traceparents {
		f.Add(v)
	}
	f.Fuzz(checkTraceparent)
}

func checkTraceparent(t *testing.T, v string) {
	want := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": v})
	got := parseTraceparent([]byte(v))
	if w := trace.SpanContextFromContext(want); !got.Equal(w) || got.IsRemote() != w.IsRemote() {
		t.Errorf("%q: read %v, the W3C propagator reads %v", v, got, w)
	}
}
