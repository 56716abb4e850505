package workload

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceInput writes recs to topic, keyed, with the idempotent producer so
// that per-key order on the broker is the produce order.
func ProduceInput(ctx context.Context, cl *kgo.Client, topic string, recs []Record) error {
	batch := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		batch[i] = &kgo.Record{Topic: topic, Key: []byte(r.Key), Value: EncodeRecord(r)}
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		return fmt.Errorf("produce input to %s: %w", topic, err)
	}
	return nil
}
