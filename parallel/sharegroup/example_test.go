package sharegroup_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kpar/kpar/parallel/sharegroup"
)

// A share group's settings are the group's configs on the broker: set them
// before its first member starts (here on kfake, franz-go's in-process
// Kafka; against a real cluster only the seed brokers change). The group
// reads its topics from their start and delivers a record 3 times at most.
// Its members then join with parallel.ShareGroup("workers").
func ExampleSet() {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		panic(err)
	}
	defer cl.Close()

	ctx := context.Background()
	err = sharegroup.Set(ctx, cl, "workers", map[string]string{
		sharegroup.AutoOffsetReset:    "earliest",
		sharegroup.DeliveryCountLimit: "3",
	})
	if err != nil {
		fmt.Println(err) // names the group, and the broker's refusal
		return
	}
	cfgs, err := sharegroup.Configs(ctx, cl, "workers")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sharegroup.AutoOffsetReset, "=", cfgs[sharegroup.AutoOffsetReset])
	fmt.Println(sharegroup.DeliveryCountLimit, "=", cfgs[sharegroup.DeliveryCountLimit])
	// Output:
	// share.auto.offset.reset = earliest
	// share.delivery.count.limit = 3
}
