// Command kpar shows, measures and exploits parallelism in Apache Kafka.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kpar/kpar/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
