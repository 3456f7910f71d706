//go:build unix

package model

import (
	"os"
	"syscall"
	"time"
)

// mmapFile maps f read-only; the F32 tensors are then used in place, so a
// checkpoint costs page cache, not heap.
func mmapFile(f *os.File, size int) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
}

func munmap(b []byte) error { return syscall.Munmap(b) }

// ProcessCPUTime reports the CPU time (user + system, all threads) the
// process has used; benchmarks report it beside wall time because it
// depends less on what else the machine runs.
func ProcessCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
