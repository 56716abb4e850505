package kotel

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/kpar/kpar/parallel"
)

// ObserveStats registers gauges read from c.Stats at each collection: the
// consumer lag against the committed offset and the head-of-line wait, per
// partition and their maxima (see the package doc). Call the returned stop
// once c is closed. Share-group consumers report no partitions, so only the
// maxima (-1 and 0) appear.
func (o *Observer) ObserveStats(c *parallel.Consumer) (stop func() error, err error) {
	// Lags count messages, waits are in seconds.
	var errs []error
	lagGauge := func(name, desc string) metric.Int64ObservableGauge {
		g, err := o.meter.Int64ObservableGauge(name, metric.WithUnit("{message}"), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	waitGauge := func(name, desc string) metric.Float64ObservableGauge {
		g, err := o.meter.Float64ObservableGauge(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	lag := lagGauge("kpar.consumer.lag", "High watermark minus the committed offset, per partition; absent while unknown.")
	wait := waitGauge("kpar.consumer.head_wait", "How long the oldest record not yet done has waited since its poll, per partition.")
	lagMax := lagGauge("kpar.consumer.lag.max", "The largest kpar.consumer.lag over the consumer's partitions; -1 when none is known.")
	waitMax := waitGauge("kpar.consumer.head_wait.max", "The largest kpar.consumer.head_wait over the consumer's partitions.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	reg, err := o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		st := c.Stats()
		for _, p := range st.Partitions {
			set := metric.WithAttributes(semconv.MessagingSystemKafka,
				semconv.MessagingDestinationName(p.Topic),
				semconv.MessagingDestinationPartitionID(strconv.Itoa(int(p.Partition))))
			if p.CommittedLag >= 0 {
				ob.ObserveInt64(lag, p.CommittedLag, set)
			}
			ob.ObserveFloat64(wait, p.HeadWait.Seconds(), set)
		}
		sys := metric.WithAttributes(attribute.KeyValue(semconv.MessagingSystemKafka))
		ob.ObserveInt64(lagMax, st.MaxCommittedLag, sys)
		ob.ObserveFloat64(waitMax, st.MaxHeadWait.Seconds(), sys)
		return nil
	}, lag, wait, lagMax, waitMax)
	if err != nil {
		return nil, err
	}
	return reg.Unregister, nil
}
