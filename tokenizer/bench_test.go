package tokenizer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchFile is the text the encode benchmarks read: $UNMASK_BENCH_FILE, or
// net/http/server.go from the Go toolchain (about 4,000 lines of Go).
// scripts/bench.sh times the references on the same file in the same run.
func benchFile(b *testing.B) string {
	path := os.Getenv("UNMASK_BENCH_FILE")
	if path == "" {
		path = filepath.Join(goEnv(&testing.T{}, "GOROOT"), "src", "net", "http", "server.go")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skip(err)
	}
	return string(data)
}

func benchTokenizer(b *testing.B) *Tokenizer {
	path := filepath.Join(testDeps(), "tokenizer-qwen3", "tokenizer.json")
	tk, err := Load(path)
	if err != nil {
		b.Skipf("%v (run scripts/setup/10-tokenizer.sh)", err)
	}
	return tk
}

// BenchmarkEncode measures encode throughput on one goroutine: "warm" with
// the word cache filled by earlier iterations (the steady state of a
// server, and what the reference's own cache gives it), "cold" with the
// cache emptied before each iteration, "offsets" with byte offsets. Besides
// MB/s (wall time) it reports cpu-MB/s (process CPU time), which a busy,
// shared machine disturbs less; scripts/bench.sh reports the references
// the same way.
func BenchmarkEncode(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchFile(b)
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		var cpu cpuTimer
		cpu.start()
		for b.Loop() {
			tk.Encode(text)
		}
		cpu.stop()
		cpu.report(b, len(text))
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		var cpu cpuTimer
		for b.Loop() {
			b.StopTimer()
			tk.bpe.cache.clear()
			b.StartTimer()
			cpu.start()
			tk.Encode(text)
			cpu.stop()
		}
		cpu.report(b, len(text))
	})
	b.Run("offsets", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			tk.EncodeOffsets(text)
		}
	})
}

// A cpuTimer sums the process's CPU time over start/stop intervals.
type cpuTimer struct {
	total, at time.Duration
	n         int
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuTimer) start() { c.at = processCPU() }
func (c *cpuTimer) stop()  { c.total += processCPU() - c.at; c.n++ }

func (c *cpuTimer) report(b *testing.B, size int) {
	if c.total > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/c.total.Seconds()/1e6, "cpu-MB/s")
	}
}

// BenchmarkDecode measures decoding the benchmark file's ids.
func BenchmarkDecode(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchFile(b)
	ids := tk.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tk.Decode(ids)
	}
}

// BenchmarkLoad measures reading Qwen3's 11 MB tokenizer.json.
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testDeps(), "tokenizer-qwen3", "tokenizer.json"))
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	var cpu cpuTimer
	cpu.start()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	cpu.stop()
	b.ReportMetric(cpu.total.Seconds()*1e3/float64(b.N), "cpu-ms/op")
}
