package rpc

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
)

// backgroundCalls makes a prefill and a denoise with a plain context, with a
// WithBackground one, with one derived from it, and with the marked one
// after promote; wantMarks is what the backend must see.
func backgroundCalls(t *testing.T, s engine.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bg, promote := engine.WithBackground(ctx)
	// A context derived from a marked one keeps the mark, as the decoder's
	// per-request deadlines do.
	derived, cancelDerived := context.WithCancel(bg)
	defer cancelDerived()
	for _, c := range []struct {
		ctx     context.Context
		promote bool // promote before the calls
	}{{ctx: ctx}, {ctx: bg}, {ctx: derived}, {ctx: bg, promote: true}} {
		if c.promote {
			promote()
		}
		if _, err := s.Prefill(c.ctx, []int32{996, 1, 2, 997, 995}); err != nil {
			t.Fatal(err)
		}
		if err := s.Denoise(c.ctx, []int32{995, 999, 999}, 0, engine.NewPredictions(3, 8)); err != nil {
			t.Fatal(err)
		}
	}
}

var wantMarks = []string{
	"prefill", "denoise", // plain
	"prefill background", "denoise background", // WithBackground
	"prefill background", "denoise background", // derived from it
	"prefill", "denoise", // after promote
}

func TestBackgroundReachesEngine(t *testing.T) {
	b := newFake(1)
	c := dial(t, serveSocket(t, b))
	s, err := c.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backgroundCalls(t, s)
	if got := b.takeMarks(); !slices.Equal(got, wantMarks) {
		t.Errorf("engine saw %q, want %q", got, wantMarks)
	}
}

// The fallback passes ctx through unchanged, to the engine and, after a
// failover, to the local backend (its re-prefill included).
func TestFallbackPassesBackground(t *testing.T) {
	local, remote := newFake(1), newFake(2)
	ps := &pipeStarter{b: remote}
	_, s, ctx := fallbackUp(t, local, ps.start, fastOptions(nil), 10*time.Second)
	defer s.Close()
	backgroundCalls(t, s)
	if got := remote.takeMarks(); !slices.Equal(got, wantMarks) {
		t.Errorf("engine saw %q, want %q", got, wantMarks)
	}
	if got := local.takeMarks(); len(got) != 0 {
		t.Errorf("local backend saw %q while the engine was up", got)
	}

	// The engine dies under a background denoise: the local backend
	// rebuilds the context and reruns the step, both in the background.
	bg, _ := engine.WithBackground(ctx)
	entered, release := remote.hold()
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- s.Denoise(bg, []int32{995, holdToken, 999}, 0, engine.NewPredictions(3, 8)) }()
	<-entered
	ps.kill()
	if err := <-errc; err != nil {
		t.Fatalf("Denoise when the engine died = %v, want the local backend's answer", err)
	}
	want := []string{"prefill background", "denoise background"}
	if got := local.takeMarks(); !slices.Equal(got, want) {
		t.Errorf("local backend saw %q after the failover, want %q", got, want)
	}
}

// A client that predates the background field sends none: the engine serves
// its calls in the foreground. A foreground call of ours sends none either,
// so an engine that predates the field reads it as before.
func TestBackgroundFieldOptional(t *testing.T) {
	for _, c := range []struct {
		name, json string
		v          interface{ isBackground() bool }
		want       bool
	}{
		{"prefill without the field", `{"session":1,"keep":2,"tokens":[3,4]}`, &prefillParams{}, false},
		{"denoise without the field", `{"session":1,"block":[3,4],"from":0,"n":2}`, &denoiseParams{}, false},
		{"prefill background", `{"session":1,"keep":2,"tokens":[3,4],"background":true}`, &prefillParams{}, true},
		{"denoise background", `{"session":1,"block":[3,4],"from":0,"n":2,"background":true}`, &denoiseParams{}, true},
	} {
		if err := json.Unmarshal([]byte(c.json), c.v); err != nil {
			t.Errorf("%s: json.Unmarshal(%q) = %v", c.name, c.json, err)
			continue
		}
		if got := c.v.isBackground(); got != c.want {
			t.Errorf("%s: background = %v, want %v", c.name, got, c.want)
		}
	}
	for _, p := range []any{
		prefillParams{Session: 1, Keep: 2, Tokens: []int32{3, 4}},
		denoiseParams{Session: 1, Block: []int32{3, 4}, N: 2},
	} {
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(js, &fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := fields["background"]; ok {
			t.Errorf("json.Marshal(%+v) = %s, want no background field in the foreground", p, js)
		}
	}
}

func (p *prefillParams) isBackground() bool { return p.Background }
func (p *denoiseParams) isBackground() bool { return p.Background }
