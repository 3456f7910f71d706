package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
)

// serveInfill serves a fake backend whose whole-infill requests are answered
// by fn.
func serveInfill(t *testing.T, fn InfillFunc) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "e.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(newFake(1), nil)
	if fn != nil {
		srv.SetInfill(fn)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return dial(t, "unix:"+path)
}

func TestInfillStreamsPartials(t *testing.T) {
	c := serveInfill(t, func(ctx context.Context, req InfillRequest, onStep func(InfillPartial)) (InfillResult, error) {
		var set struct{ MaxTokens int }
		if err := json.Unmarshal(req.Settings, &set); err != nil {
			return InfillResult{}, err
		}
		text := req.LookupPrefix + req.Prefix + "|" + req.Suffix + req.LookupSuffix + strings.Join(req.LookupOthers, "")
		for i := 1; i <= min(3, len(text)); i++ {
			onStep(InfillPartial{Text: text[:i], Step: i, Committed: i, Masked: set.MaxTokens - i})
		}
		return InfillResult{Text: text, Stop: "eos", Stats: json.RawMessage(`{"Forwards":3}`)}, nil
	})
	var got []InfillPartial
	res, err := c.Infill(context.Background(), InfillRequest{Prefix: "ab", Suffix: "cd", Settings: json.RawMessage(`{"MaxTokens":10}`)},
		func(p InfillPartial) { got = append(got, p) })
	if err != nil {
		t.Fatal(err)
	}
	want := []InfillPartial{{"a", 1, 1, 9}, {"ab", 2, 2, 8}, {"ab|", 3, 3, 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("partials %+v, want %+v", got, want)
	}
	if res.Text != "ab|cd" || res.Stop != "eos" || string(res.Stats) != `{"Forwards":3}` {
		t.Errorf("result %+v", res)
	}
	// Without a callback the request still works; the lookup text travels.
	if res, err := c.Infill(context.Background(), InfillRequest{Prefix: "x", LookupPrefix: "w", LookupSuffix: "y", LookupOthers: []string{"1", "2"}, Settings: json.RawMessage(`{}`)}, nil); err != nil || res.Text != "wx|y12" {
		t.Errorf("Infill without partials = %+v, %v", res, err)
	}
}

func TestInfillCancel(t *testing.T) {
	sawCancel := make(chan error, 1)
	c := serveInfill(t, func(ctx context.Context, req InfillRequest, onStep func(InfillPartial)) (InfillResult, error) {
		onStep(InfillPartial{Text: "a", Step: 1})
		select {
		case <-ctx.Done():
			sawCancel <- ctx.Err()
			return InfillResult{}, ctx.Err()
		case <-time.After(10 * time.Second):
			sawCancel <- nil
			return InfillResult{Text: "late"}, nil
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.Infill(ctx, InfillRequest{Prefix: "p"}, func(InfillPartial) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Infill = %v, want context.Canceled", err)
	}
	if err := <-sawCancel; !errors.Is(err, context.Canceled) {
		t.Errorf("the engine's decoder saw %v, want its context cancelled", err)
	}
}

func TestInfillNotServed(t *testing.T) {
	c := serveInfill(t, nil)
	if _, err := c.Infill(context.Background(), InfillRequest{Prefix: "p"}, nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("Infill on an engine without a decoder = %v, want ErrProtocol", err)
	}
}

// A whole infill request keeps the background mark of its context in the
// engine, and one without it runs in the foreground.
func TestInfillBackground(t *testing.T) {
	c := serveInfill(t, func(ctx context.Context, req InfillRequest, onStep func(InfillPartial)) (InfillResult, error) {
		if engine.Background(ctx) {
			return InfillResult{Text: "background"}, nil
		}
		return InfillResult{Text: "foreground"}, nil
	})
	bg, _ := engine.WithBackground(context.Background())
	for _, tc := range []struct {
		ctx  context.Context
		want string
	}{{context.Background(), "foreground"}, {bg, "background"}} {
		if res, err := c.Infill(tc.ctx, InfillRequest{Prefix: "p"}, nil); err != nil || res.Text != tc.want {
			t.Errorf("Infill = %+v, %v, want %s", res, err, tc.want)
		}
	}
}
