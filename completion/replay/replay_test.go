package replay

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// replayFile is the file typed: a real Go file of 427 lines from the Go
// distribution (go1.26: 14,018 bytes).
const replayFile = "src/bufio/scan.go"

func goFile(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), replayFile))
	if err != nil {
		t.Skipf("replay file: %v", err)
	}
	return string(data)
}

// configs are the columns of the replay table: caches off, typing-through
// only, and everything on with each typing-through variant.
func configs(file string) []Config {
	q := Quality{Exact: 0.5, Seed: 1}
	return []Config{
		{Name: "caches off", File: file, Quality: q, ScanBack: -1, Forward: -1},
		{Name: "spans only", File: file, Quality: q, Spans: true, ScanBack: 128, Forward: -1},
		{Name: "on, scan back 128", File: file, Quality: q, Spans: true, ScanBack: 128, Forward: -1, Engine: true, Speculate: true},
		{Name: "on, forward 50", File: file, Quality: q, Spans: true, ScanBack: -1, Forward: 50, Engine: true, Speculate: true},
		{Name: "on, both", File: file, Quality: q, Spans: true, ScanBack: 128, Forward: 50, Engine: true, Speculate: true},
	}
}

// TestReplay replays the first 60 lines and checks what the caches must do:
// serve typing through without the engine, cut engine calls at least in
// half, and answer more requests than with caches off.
func TestReplay(t *testing.T) {
	file := goFile(t)
	lines := strings.SplitAfter(file, "\n")
	file = strings.Join(lines[:60], "")
	var reps []Report
	for _, cfg := range configs(file) {
		r, err := Run(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Name, err)
		}
		reps = append(reps, r)
	}
	t.Logf("\n%s", Table(reps))
	off, on := reps[0], reps[2]
	if off.Keystrokes != len(file) || on.Keystrokes != len(file) {
		t.Errorf("keystrokes = %d, %d, want %d (the file is ASCII)", off.Keystrokes, on.Keystrokes, len(file))
	}
	if off.EngineCalls != off.Keystrokes || off.TypedHits != 0 {
		t.Errorf("caches off: %d engine calls, %d hits, want one call per keystroke and no hits", off.EngineCalls, off.TypedHits)
	}
	if on.TypedHits == 0 || on.PinnedHits == 0 {
		t.Errorf("caches on: %d span hits (%d pinned), want some of each", on.TypedHits, on.PinnedHits)
	}
	if 2*on.EngineCalls > off.EngineCalls {
		t.Errorf("caches on: %d engine calls, want at most half of %d", on.EngineCalls, off.EngineCalls)
	}
	if on.Answered <= off.Answered {
		t.Errorf("caches on answered %d requests, caches off %d: want more", on.Answered, off.Answered)
	}
	if on.Stats.Sessions.Hits == 0 || on.Stats.Drafts.Puts == 0 {
		t.Errorf("caches on: session hits %d, drafts put %d, want both used", on.Stats.Sessions.Hits, on.Stats.Drafts.Puts)
	}
}

// BenchmarkReplay replays the whole file once per configuration and prints
// the side-by-side table (go test -run '^$' -bench Replay -benchtime 1x -v).
func BenchmarkReplay(b *testing.B) {
	file := goFile(b)
	var reps []Report
	for b.Loop() {
		reps = reps[:0]
		for _, cfg := range configs(file) {
			r, err := Run(cfg)
			if err != nil {
				b.Fatalf("%s: %v", cfg.Name, err)
			}
			reps = append(reps, r)
		}
	}
	b.Logf("replay of $GOROOT/%s (%d bytes), 10 chars/s, fake engine (DefaultCost, Exact 0.5):\n%s", replayFile, len(file), Table(reps))
	off, on := reps[0], reps[2]
	b.ReportMetric(float64(Percentile(on.TypedLatency, 99).Microseconds()), "typed-p99-µs")
	b.ReportMetric(float64(on.EngineCalls)/float64(off.EngineCalls), "engine-calls-on/off")
}
