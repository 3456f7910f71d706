package lsp

import (
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/unmask/unmask/completion"
)

// Config is the server's configuration: initializationOptions, and the
// settings of workspace/didChangeConfiguration, either flat or under an
// "unmask" key. Absent fields keep their value.
type Config struct {
	Model         string   `json:"model"`         // checkpoint folder; "" = the embedded default
	Device        string   `json:"device"`        // "cpu" (default) or "cuda" (an `unmask engine` process, falling back to the CPU)
	Engine        string   `json:"engine"`        // address of a running `unmask engine` ("unix:PATH"); wins over Device
	MaxTokens     int      `json:"maxTokens"`     // longest completion, tokens
	ContextTokens int      `json:"contextTokens"` // prefix+suffix budget, tokens
	Schedule      string   `json:"schedule"`      // "confidence" | "count" | "margin" | "entropy"
	Threshold     float64  `json:"threshold"`     // confidence schedule threshold
	Languages     []string `json:"languages"`     // languageIds to complete; empty = those the model was trained on (all for a checkpoint that does not say); "*" = all
	DebounceMs    int      `json:"debounceMs"`    // wait before running the model; a newer request cancels the wait
	TimeBudgetMs  int      `json:"timeBudgetMs"`  // decode time limit; the committed text is answered when it runs out
	Speculate     bool     `json:"speculate"`     // compute the completion after an accepted one in the background
	WarmStart     bool     `json:"warmStart"`     // start a decode from an interrupted one's draft (fewer forwards; the answer may differ from a cold decode's)
	Lookup        bool     `json:"lookup"`        // start a fresh decode from a draft found in the context (infill.Settings.Lookup)
	LookupFiles   bool     `json:"lookupFiles"`   // the lookup also searches the files beside the document on disk (completion.Neighbors)
	BlockBody     bool     `json:"blockBody"`     // continue a completion that opens a block the suffix lacks into its body (completion/body.go)
	Alternatives  int      `json:"alternatives"`  // ghost text asked for explicitly (triggerKind Invoked): offer up to this many different completions
	// MenuAlternatives: the completion menu (textDocument/completion,
	// Helix) lists up to this many different completions. A menu at a
	// new place then costs what an explicit ghost-text request does, as
	// the client's request does not say whether the user asked; typing
	// through its first item reuses the alternatives that still match
	// (completion.Cache.lookupAlternatives).
	MenuAlternatives int `json:"menuAlternatives"`
}

// DefaultConfig returns the configuration used when the client sends none.
func DefaultConfig() Config {
	s := completion.DefaultSettings()
	return Config{
		Device:           "cpu",
		MaxTokens:        s.MaxTokens,
		ContextTokens:    s.ContextTokens,
		Schedule:         "confidence",
		DebounceMs:       0,
		TimeBudgetMs:     int(s.TimeBudget / time.Millisecond),
		Speculate:        true,
		WarmStart:        true,
		Lookup:           true,
		LookupFiles:      true,
		BlockBody:        true,
		Alternatives:     3,
		MenuAlternatives: 1,
	}
}

// merge returns c updated by the JSON settings in raw.
func (c Config) merge(raw any) (Config, error) {
	if raw == nil {
		return c, nil
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return c, fmt.Errorf("lsp: configuration: %w", err)
	}
	var wrapped struct {
		Unmask json.RawMessage `json:"unmask"`
	}
	if json.Unmarshal(data, &wrapped) == nil && len(wrapped.Unmask) > 0 && string(wrapped.Unmask) != "null" {
		data = wrapped.Unmask
	}
	next := c
	if err := json.Unmarshal(data, &next); err != nil {
		return c, fmt.Errorf("lsp: configuration: %w", err)
	}
	if err := next.validate(); err != nil {
		return c, err
	}
	return next, nil
}

func (c Config) validate() error {
	switch {
	case c.MaxTokens < 1 || c.MaxTokens > 4096:
		return fmt.Errorf("lsp: configuration: maxTokens %d outside 1..4096", c.MaxTokens)
	case c.ContextTokens < 16:
		return fmt.Errorf("lsp: configuration: contextTokens %d below 16", c.ContextTokens)
	case c.DebounceMs < 0 || c.TimeBudgetMs < 0:
		return fmt.Errorf("lsp: configuration: negative debounceMs or timeBudgetMs")
	case c.Alternatives < 0 || c.Alternatives > 8:
		return fmt.Errorf("lsp: configuration: alternatives %d outside 0..8", c.Alternatives)
	case c.MenuAlternatives < 0 || c.MenuAlternatives > 8:
		return fmt.Errorf("lsp: configuration: menuAlternatives %d outside 0..8", c.MenuAlternatives)
	case c.Threshold < 0 || c.Threshold > 1:
		return fmt.Errorf("lsp: configuration: threshold %v outside 0..1", c.Threshold)
	}
	switch c.Device {
	case "", "cpu", "cuda":
	default:
		return fmt.Errorf("lsp: configuration: unknown device %q (want cpu or cuda)", c.Device)
	}
	switch c.Schedule {
	case "", "confidence", "count", "margin", "entropy":
	default:
		return fmt.Errorf("lsp: configuration: unknown schedule %q", c.Schedule)
	}
	return nil
}

// modelChanged reports whether going from c to next needs a model reload.
func (c Config) modelChanged(next Config) bool {
	return c.Model != next.Model || c.Device != next.Device || c.Engine != next.Engine
}

// enabled reports whether completions are on for a languageId.
func (c Config) enabled(languageID string) bool {
	return len(c.Languages) == 0 || slices.Contains(c.Languages, "*") || slices.Contains(c.Languages, languageID)
}

// settings converts c to completion settings: one answer a request; the
// inline completion handler asks for c.Alternatives when invoked.
func (c Config) settings() completion.Settings {
	return completion.Settings{
		MaxTokens:     c.MaxTokens,
		ContextTokens: c.ContextTokens,
		Schedule:      c.Schedule,
		Threshold:     c.Threshold,
		TimeBudget:    time.Duration(c.TimeBudgetMs) * time.Millisecond,
		// Languages the user listed are completed whatever the model
		// knows (completion.ErrLanguage).
		AnyLanguage: len(c.Languages) > 0,
		Speculate:   c.Speculate,
		ColdOnly:    !c.WarmStart,
		NoLookup:    !c.Lookup,
		NoFiles:     !c.LookupFiles,
		NoBody:      !c.BlockBody,
		Debounce:    time.Duration(c.DebounceMs) * time.Millisecond,
	}
}
