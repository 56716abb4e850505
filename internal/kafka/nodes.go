package kafka

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Nodes lists the brokers the cluster at seeds reports and their node ids,
// sorted; the metadata request is bounded at 15 s and its error names the
// seeds.
func Nodes(ctx context.Context, adm *kadm.Client, seeds []string) ([]int, kadm.BrokerDetails, error) {
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	md, err := adm.BrokerMetadata(mctx)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata from %s: %w", strings.Join(seeds, ","), err)
	}
	ids := make([]int, 0, len(md.Brokers))
	for _, b := range md.Brokers {
		ids = append(ids, int(b.NodeID))
	}
	slices.Sort(ids)
	return ids, md.Brokers, nil
}
