package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
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
// cache emptied before each iteration, "offsets" with byte offsets.
func BenchmarkEncode(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchFile(b)
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			tk.Encode(text)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			tk.bpe.cache.clear()
			b.StartTimer()
			tk.Encode(text)
		}
	})
	b.Run("offsets", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			tk.EncodeOffsets(text)
		}
	})
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
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
