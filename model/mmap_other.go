//go:build !unix

package model

import (
	"errors"
	"os"
	"time"
)

// mmapFile is unavailable here: Load falls back to reading the file.
func mmapFile(f *os.File, size int) ([]byte, error) {
	return nil, errors.New("model: no mmap on this system")
}

func munmap(b []byte) error { return nil }

// ProcessCPUTime is not measured on this system.
func ProcessCPUTime() time.Duration { return 0 }
