package replay

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// replayFile is the file typed: a real Go file of 427 lines from the Go
// distribution (go1.26.8: 14,585 bytes, ASCII).
const replayFile = "src/bufio/scan.go"

func goFile(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("UNMASK_REPLAY_FILE"); p != "" {
		// A machine without a Go toolchain gets the file by path.
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
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
// only, completion's own wiring of package cache, everything on with each
// typing-through variant, and with the cache looked up before the window.
func configs(file string) []Config {
	q := Quality{Exact: 0.5, Seed: 1}
	return []Config{
		{Name: "caches off", File: file, Quality: q, ScanBack: -1, Forward: -1},
		{Name: "spans only", File: file, Quality: q, Spans: true, ScanBack: 128, Forward: -1},
		{Name: "completion.Cache", File: file, Quality: q, Wired: true, Engine: true},
		{Name: "on, scan back 128", File: file, Quality: q, Spans: true, ScanBack: 128, Forward: -1, Engine: true, Speculate: true},
		{Name: "on, forward 50", File: file, Quality: q, Spans: true, ScanBack: -1, Forward: 50, Engine: true, Speculate: true},
		{Name: "on, scan 128, lookup before the window", File: file, Quality: q, Spans: true, ScanBack: 128, Forward: -1, Engine: true, Speculate: true, EarlyLookup: true},
	}
}

// typoConfigs replay the file with typos (2% of characters: a wrong one,
// then backspace), where a completion pushed out of the pins must come back
// from ristretto: pins alone against each way of finding it.
func typoConfigs(file string) []Config {
	q := Quality{Exact: 0.5, Seed: 1}
	on := Config{File: file, Quality: q, Spans: true, Engine: true, Speculate: true, Typos: 0.02}
	var cs []Config
	for _, v := range []struct {
		name          string
		scan, forward int
	}{{"typos, pins only", -1, -1}, {"typos, scan back 128", 128, -1}, {"typos, forward 50", -1, 50}, {"typos, both", 128, 50}} {
		c := on
		c.Name, c.ScanBack, c.Forward = v.name, v.scan, v.forward
		cs = append(cs, c)
	}
	return cs
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
	off, on := reps[0], reps[3]
	if wired := reps[2]; wired.TypedHits == 0 || 2*wired.EngineCalls > off.EngineCalls {
		t.Errorf("completion.Cache: %d span hits, %d engine calls: want hits and at most half of %d calls", wired.TypedHits, wired.EngineCalls, off.EngineCalls)
	}
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
	if early := reps[5]; early.TypedHits < on.TypedHits*9/10 || 2*early.EngineCalls > off.EngineCalls {
		t.Errorf("lookup before the window: %d hits, %d engine calls, want about the %d hits of the window keys and at most half of %d calls", early.TypedHits, early.EngineCalls, on.TypedHits, off.EngineCalls)
	}
	if on.Stats.Sessions.Hits == 0 || on.Stats.Drafts.Puts == 0 {
		t.Errorf("caches on: session hits %d, drafts put %d, want both used", on.Stats.Sessions.Hits, on.Stats.Drafts.Puts)
	}
}

// cpuConfigs replay the file at the CPU engine's measured cost, with a
// 2 s pause after each line: at 10 characters a second and 126 ms a
// forward pass no request finishes between keystrokes, only in pauses.
func cpuConfigs(file string) []Config {
	q := Quality{Exact: 0.5, Seed: 1}
	c := MeasuredCPUCost()
	p := 2 * time.Second
	return []Config{
		{Name: "CPU cost, caches off", File: file, Quality: q, Cost: c, LinePause: p, ScanBack: -1, Forward: -1},
		{Name: "CPU cost, completion.Cache", File: file, Quality: q, Cost: c, LinePause: p, Wired: true, Engine: true},
		{Name: "CPU cost, on, scan back 128", File: file, Quality: q, Cost: c, LinePause: p, Spans: true, ScanBack: 128, Forward: -1, Engine: true, Speculate: true},
	}
}

// BenchmarkReplay replays the whole file once per configuration and prints
// the side-by-side tables (go test -run '^$' -bench Replay -benchtime 1x -v).
func BenchmarkReplay(b *testing.B) {
	file := goFile(b)
	var reps, typos, cpu []Report
	for b.Loop() {
		reps, typos, cpu = reps[:0], typos[:0], cpu[:0]
		for _, cfg := range cpuConfigs(file) {
			r, err := Run(cfg)
			if err != nil {
				b.Fatalf("%s: %v", cfg.Name, err)
			}
			cpu = append(cpu, r)
		}
		for _, cfg := range configs(file) {
			r, err := Run(cfg)
			if err != nil {
				b.Fatalf("%s: %v", cfg.Name, err)
			}
			reps = append(reps, r)
		}
		for _, cfg := range typoConfigs(file) {
			r, err := Run(cfg)
			if err != nil {
				b.Fatalf("%s: %v", cfg.Name, err)
			}
			typos = append(typos, r)
		}
	}
	c := DefaultCost()
	b.Logf("replay of $GOROOT/%s (%d bytes), 10 chars/s, fake engine (prefill %v/token, %v/forward, %.0f tokens/step, exact %.0f%%):\n%s\n%s\nat the measured CPU cost, with a 2 s pause after each line:\n%s",
		replayFile, len(file), c.PrefillPerToken, c.PerForward, c.TokensPerStep, 100*configs(file)[0].Quality.Exact, Table(reps), Table(typos), Table(cpu))
	off, on := reps[0], reps[3]
	b.ReportMetric(float64(Percentile(on.TypedLatency, 99).Microseconds()), "typed-p99-µs")
	b.ReportMetric(float64(Percentile(on.LookupLatency, 99).Nanoseconds()), "lookup-hit-p99-ns")
	b.ReportMetric(float64(on.EngineCalls)/float64(off.EngineCalls), "engine-calls-on/off")
}
