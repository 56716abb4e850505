package kotel

// Helpers the tests of both packages (kotel and kotel_test) share: exported
// here, in a test file, they exist only in test builds.

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// CountingSampler counts a sampler's decisions.
type CountingSampler struct {
	sdktrace.Sampler
	Calls atomic.Int64
}

func (s *CountingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.Calls.Add(1)
	return s.Sampler.ShouldSample(p)
}

// RecordCarrier is the observer's own carrier over r's headers.
func RecordCarrier(r *kgo.Record) propagation.TextMapCarrier { return carrier{r} }
