package rpc

import (
	"context"
	"reflect"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// TestModelOverTheWire serves package model's CPU engine on its fixtures
// (context-causal and bidirectional) and checks that every answer through the
// protocol is bit-identical to the engine's own.
func TestModelOverTheWire(t *testing.T) {
	for _, dir := range []string{"../../model/testdata/tiny-qwen2", "../../model/testdata/tiny-llada"} {
		served, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		local, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, serveSocket(t, served))
		info := local.Info()
		if got := c.Info(); got != info {
			t.Errorf("%s: Info() = %+v, want %+v", dir, got, info)
		}
		opts := engine.SessionOptions{MaxContext: 64, MaxBlock: 24}
		rs, err := c.NewSession(opts)
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := local.NewSession(opts)
		rb, lb := rs.(interface{ Bytes() int64 }), ls.(interface{ Bytes() int64 })
		if rb.Bytes() != lb.Bytes() || rb.Bytes() == 0 {
			t.Errorf("%s: remote session Bytes() = %d, the engine's session holds %d", dir, rb.Bytes(), lb.Bytes())
		}
		ctx := context.Background()
		mask := info.MaskID
		toks := []int32{3, 17, 42, 5, 9, 77, 12, 8}
		for step, n := range []int{len(toks), 5, len(toks)} {
			r1, err1 := rs.Prefill(ctx, toks[:n])
			r2, err2 := ls.Prefill(ctx, toks[:n])
			if r1 != r2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s step %d: Prefill = (%d, %v), want (%d, %v)", dir, step, r1, err1, r2, err2)
			}
			block := []int32{toks[n-1], mask, 20, mask, mask, mask}
			a, b := engine.NewPredictions(5, 8), engine.NewPredictions(5, 8)
			if err := rs.Denoise(ctx, block, 1, a); err != nil {
				t.Fatalf("%s step %d: Denoise: %v", dir, step, err)
			}
			if err := ls.Denoise(ctx, block, 1, b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s step %d: predictions over the wire differ:\n got %v\nwant %v", dir, step, a, b)
			}
		}
		if err := rs.Truncate(2); err != nil {
			t.Errorf("%s: Truncate: %v", dir, err)
		}
		if got := rs.Tokens(); !reflect.DeepEqual(got, toks[:2]) {
			t.Errorf("%s: Tokens() after Truncate = %v", dir, got)
		}
		rs.Close()
		ls.Close()
		local.Close()
	}
}
