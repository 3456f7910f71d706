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
		{`{"menuAlternatives": 3}`, func(c Config) bool { return c.MenuAlternatives == 3 && c.Alternatives == DefaultConfig().Alternatives }, false},
		{`{"menuAlternatives": 9}`, nil, true},
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

// lookup defaults on; turned off, it reaches the decoder as NoLookup.
func TestConfigLookup(t *testing.T) {
	c := DefaultConfig()
	if !c.Lookup || c.settings().NoLookup {
		t.Fatalf("default: Lookup %v, NoLookup %v; want on", c.Lookup, c.settings().NoLookup)
	}
	next, err := c.merge(map[string]any{"lookup": false})
	if err != nil {
		t.Fatal(err)
	}
	if next.Lookup || !next.settings().NoLookup {
		t.Errorf("lookup false: Lookup %v, NoLookup %v", next.Lookup, next.settings().NoLookup)
	}
}

// lookupFiles defaults on; turned off, it reaches completion as NoFiles.
func TestConfigLookupFiles(t *testing.T) {
	c := DefaultConfig()
	if !c.LookupFiles || c.settings().NoFiles {
		t.Fatalf("default: LookupFiles %v, NoFiles %v; want on", c.LookupFiles, c.settings().NoFiles)
	}
	next, err := c.merge(map[string]any{"unmask": map[string]any{"lookupFiles": false}})
	if err != nil {
		t.Fatal(err)
	}
	if next.LookupFiles || !next.settings().NoFiles || !next.Lookup {
		t.Errorf("lookupFiles false: LookupFiles %v, NoFiles %v, Lookup %v", next.LookupFiles, next.settings().NoFiles, next.Lookup)
	}
}

// blockBody defaults on; turned off, it reaches completion as NoBody.
func TestConfigBlockBody(t *testing.T) {
	c := DefaultConfig()
	if !c.BlockBody || c.settings().NoBody {
		t.Fatalf("default: BlockBody %v, NoBody %v; want on", c.BlockBody, c.settings().NoBody)
	}
	next, err := c.merge(map[string]any{"unmask": map[string]any{"blockBody": false}})
	if err != nil {
		t.Fatal(err)
	}
	if next.BlockBody || !next.settings().NoBody {
		t.Errorf("blockBody false: BlockBody %v, NoBody %v", next.BlockBody, next.settings().NoBody)
	}
}

// warmStart defaults on; turned off, completions never start from a draft.
func TestConfigWarmStart(t *testing.T) {
	c := DefaultConfig()
	if !c.WarmStart || c.settings().ColdOnly {
		t.Fatalf("default: WarmStart %v, ColdOnly %v; want warm starts on", c.WarmStart, c.settings().ColdOnly)
	}
	next, err := c.merge(map[string]any{"unmask": map[string]any{"warmStart": false}})
	if err != nil {
		t.Fatal(err)
	}
	if next.WarmStart || !next.settings().ColdOnly {
		t.Errorf("warmStart false: WarmStart %v, ColdOnly %v", next.WarmStart, next.settings().ColdOnly)
	}
	if again, _ := next.merge(map[string]any{"maxTokens": 8}); again.WarmStart {
		t.Error("an absent warmStart turned warm starts back on")
	}
}
