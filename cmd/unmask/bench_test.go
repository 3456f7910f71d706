package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"--model", "../../model/testdata/tiny-qwen2", "--context", "24", "--block", "5",
		"--threads", "2", "--prefill-runs", "1", "--steps", "2", "--json"}
	if err := runBench(args, &out, &errb); err != nil {
		t.Fatalf("bench %v: %v (stderr %q)", args, err, errb.String())
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench --json printed %q: %v", out.String(), err)
	}
	for _, k := range []string{"prefill_tokens_per_s", "denoise_step_ms"} {
		if v, ok := r[k].(float64); !ok || !(v > 0) {
			t.Errorf("bench --json %s = %v, want a positive number", k, r[k])
		}
	}
	if r["threads"] != float64(2) {
		t.Errorf("bench --json threads = %v, want 2", r["threads"])
	}
}

func TestBenchUsage(t *testing.T) {
	cases := [][]string{
		{"--shape", "gpt-5"},
		{"--context", "0"},
		{"--no-such-flag"},
	}
	for _, args := range cases {
		var out, errb bytes.Buffer
		if err := runBench(args, &out, &errb); err != errUsage {
			t.Errorf("bench %q = %v, want errUsage", args, err)
		}
	}
}
