//go:build unix

package parallel

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the process's user and system CPU time so far: on a shared
// machine the CPU per record is steadier than the wall time per record.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
