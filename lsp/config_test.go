package lsp

import (
	"encoding/json"
	"testing"
)

func TestConfigMerge(t *testing.T) {
	tests := []struct {
		in      string
		check   func(Config) bool
		wantErr bool
	}{
		{`null`, func(c Config) bool { return c.MaxTokens == DefaultConfig().MaxTokens }, false},
		{`{"maxTokens": 12}`, func(c Config) bool { return c.MaxTokens == 12 }, false},
		{`{"unmask": {"maxTokens": 13, "languages": ["go"]}}`, func(c Config) bool { return c.MaxTokens == 13 && c.enabled("go") && !c.enabled("python") }, false},
		{`{"device": "cuda", "engine": "unix:/tmp/e.sock"}`, func(c Config) bool { return c.Device == "cuda" && c.Engine == "unix:/tmp/e.sock" }, false},
		{`{"device": "tpu"}`, nil, true},
		{`{"maxTokens": 0}`, nil, true},
		{`{"schedule": "fast"}`, nil, true},
		{`{"threshold": 2}`, nil, true},
		{`{"maxTokens": "x"}`, nil, true},
	}
	for _, tt := range tests {
		var raw any
		if err := json.Unmarshal([]byte(tt.in), &raw); err != nil {
			t.Fatal(err)
		}
		got, err := DefaultConfig().merge(raw)
		if tt.wantErr {
			if err == nil {
				t.Errorf("merge(%s) = %+v, want an error", tt.in, got)
			} else if got.MaxTokens != DefaultConfig().MaxTokens || got.Device != DefaultConfig().Device {
				t.Errorf("merge(%s) failed but changed the configuration: %+v", tt.in, got)
			}
			continue
		}
		if err != nil || !tt.check(got) {
			t.Errorf("merge(%s) = %+v, %v", tt.in, got, err)
		}
	}
}
