package producebench

import (
	"syscall"
	"time"
)

// selfCPU returns this process's user+system CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return rusageSeconds(&ru)
}

func rusageSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}

// BrokerCPU reads the CPU seconds of the broker JVMs. A nil func means the
// broker's CPU is unknown (a remote broker, or not one kpar started).
type BrokerCPU func() (float64, error)
