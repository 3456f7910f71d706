package gpu

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/unmask/unmask/model"
)

// TestLoadReferenceWeights: each weight of the backend holds the tensor its
// slot names, in the type the options ask for — matrices bf16 (rounded to
// nearest even) or f32, vectors f32 — and a tied head is the embedding.
func TestLoadReferenceWeights(t *testing.T) {
	for _, dir := range fixtures {
		ws, err := model.OpenWeightsDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := ws.Config()
		n := c.TensorNames()
		for _, wt := range []string{"f32", "bf16"} {
			b, err := LoadReference(os.DirFS(dir), Options{Weights: wt})
			if err != nil {
				t.Fatalf("%s %s: %v", dir, wt, err)
			}
			name := dir + " " + wt
			checkVec := func(tensor string, v vec) {
				t.Helper()
				want, err := ws.Float32(tensor, len(v.h))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for i := range want {
					if v.h[v.off+i] != want[i] {
						t.Fatalf("%s: %s[%d] = %g, want %g", name, tensor, i, v.h[v.off+i], want[i])
					}
				}
			}
			checkMat := func(base string, w *weight, out, in int, bias bool) {
				t.Helper()
				if w.out != out || w.in != in || w.bf16 != (wt == "bf16") {
					t.Fatalf("%s: %s is %dx%d bf16=%v, want %dx%d in %s", name, base, w.out, w.in, w.bf16, out, in, wt)
				}
				want, err := ws.Float32(base+".weight", out, in)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if w.bf16 {
					if w.h32 != nil || len(w.h16) != out*in {
						t.Fatalf("%s: %s: %d bf16 and %d f32 values, want %d bf16", name, base, len(w.h16), len(w.h32), out*in)
					}
					for i, f := range want {
						if w.h16[i] != toBF16(f) {
							t.Fatalf("%s: %s[%d] = %#04x, want %#04x (%g rounded)", name, base, i, w.h16[i], toBF16(f), f)
						}
					}
				} else {
					if w.h16 != nil || len(w.h32) != out*in {
						t.Fatalf("%s: %s: %d bf16 and %d f32 values, want %d f32", name, base, len(w.h16), len(w.h32), out*in)
					}
					for i, f := range want {
						if w.h32[i] != f {
							t.Fatalf("%s: %s[%d] = %g, want %g", name, base, i, w.h32[i], f)
						}
					}
				}
				if (w.bias != nil) != bias {
					t.Fatalf("%s: %s has a bias: %v, want %v", name, base, w.bias != nil, bias)
				}
				if bias {
					checkVec(base+".bias", *w.bias)
				}
			}
			qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
			checkMat(n.Embed, b.embed, c.Vocab, c.Hidden, false)
			for i, L := range b.layers {
				checkVec(fmt.Sprintf(n.AttnNorm, i)+".weight", L.attnNorm)
				checkMat(fmt.Sprintf(n.Q, i), L.q, qd, c.Hidden, c.QKVBias)
				checkMat(fmt.Sprintf(n.K, i), L.k, kvd, c.Hidden, c.QKVBias)
				checkMat(fmt.Sprintf(n.V, i), L.v, kvd, c.Hidden, c.QKVBias)
				checkMat(fmt.Sprintf(n.O, i), L.o, c.Hidden, qd, c.OutBias)
				checkVec(fmt.Sprintf(n.MLPNorm, i)+".weight", L.mlpNorm)
				checkMat(fmt.Sprintf(n.Gate, i), L.gate, c.Intermediate, c.Hidden, c.MLPBias)
				checkMat(fmt.Sprintf(n.Up, i), L.up, c.Intermediate, c.Hidden, c.MLPBias)
				checkMat(fmt.Sprintf(n.Down, i), L.down, c.Hidden, c.Intermediate, c.MLPBias)
			}
			checkVec(n.Norm+".weight", b.norm)
			if c.Tied {
				if b.head != b.embed {
					t.Errorf("%s: tied head is not the embedding", name)
				}
			} else {
				checkMat(n.Head, b.head, c.Vocab, c.Hidden, c.MLPBias && c.Family == model.FamilyLLaDA)
			}
			b.Close()
		}
		ws.Close()
	}
}

// fixtureFS copies a fixture folder into memory for tests to break.
func fixtureFS(t *testing.T, dir string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, name := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: b}
	}
	return fsys
}

// editHeader rewrites a safetensors header, keeping the data.
func editHeader(t *testing.T, b []byte, f func(h map[string]map[string]any)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(b)
	var h map[string]map[string]any
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	f(h)
	nh, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(nh)))
	return append(append(out, nh...), b[8+n:]...)
}

// TestLoadReferenceErrors: a broken checkpoint is an error naming the file
// and tensor, in either weight type: model.ErrSafetensors for the files
// (package model reads them), ErrCheckpoint for shapes this engine cannot
// run.
func TestLoadReferenceErrors(t *testing.T) {
	const up, norm = "model.layers.1.mlp.up_proj.weight", "model.norm.weight"
	st := func(f func(t *testing.T, b []byte) []byte) func(*testing.T, fstest.MapFS) {
		return func(t *testing.T, fsys fstest.MapFS) {
			fsys["model.safetensors"].Data = f(t, fsys["model.safetensors"].Data)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*testing.T, fstest.MapFS)
		is   error
		want []string
	}{
		{"truncated", st(func(t *testing.T, b []byte) []byte { return b[:len(b)-10] }),
			model.ErrSafetensors, []string{"model.safetensors", "truncated"}},
		{"header past the end", st(func(t *testing.T, b []byte) []byte {
			return binary.LittleEndian.AppendUint64(nil, 1<<40)
		}), model.ErrSafetensors, []string{"model.safetensors", "header length"}},
		{"wrong shape", st(func(t *testing.T, b []byte) []byte {
			return editHeader(t, b, func(h map[string]map[string]any) { h[up]["shape"] = []int{32, 48} })
		}), model.ErrSafetensors, []string{"model.safetensors", up, "shape [32 48]", "want [48 32]"}},
		{"missing tensor", st(func(t *testing.T, b []byte) []byte {
			return editHeader(t, b, func(h map[string]map[string]any) { delete(h, norm) })
		}), model.ErrSafetensors, []string{norm, "missing from", "model.safetensors"}},
		{"integer matrix", st(func(t *testing.T, b []byte) []byte {
			return editHeader(t, b, func(h map[string]map[string]any) { h[up]["dtype"] = "I32" })
		}), model.ErrSafetensors, []string{"model.safetensors", up, "I32"}},
		{"index escapes the folder", func(t *testing.T, fsys fstest.MapFS) {
			fsys["model.safetensors.index.json"] = &fstest.MapFile{Data: []byte(`{"weight_map":{"model.norm.weight":"../model.safetensors"}}`)}
		}, model.ErrSafetensors, []string{"model.safetensors.index.json", norm, "shard name"}},
		{"odd intermediate size", func(t *testing.T, fsys fstest.MapFS) {
			fsys["config.json"].Data = bytes.Replace(fsys["config.json"].Data, []byte(`"intermediate_size": 48`), []byte(`"intermediate_size": 47`), 1)
		}, ErrCheckpoint, []string{"intermediate 47"}},
		{"no config", func(t *testing.T, fsys fstest.MapFS) { delete(fsys, "config.json") },
			fs.ErrNotExist, []string{"config.json"}},
	} {
		for _, wt := range []string{"f32", "bf16"} {
			fsys := fixtureFS(t, fixtures[0])
			tc.edit(t, fsys)
			b, err := LoadReference(fsys, Options{Weights: wt})
			if err == nil {
				b.Close()
				t.Errorf("%s (%s): LoadReference succeeded, want an error", tc.name, wt)
				continue
			}
			if !errors.Is(err, tc.is) || !strings.HasPrefix(err.Error(), "gpu: ") {
				t.Errorf("%s (%s): error %v, want a gpu error wrapping %v", tc.name, wt, err, tc.is)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s (%s): error %q does not mention %q", tc.name, wt, err, s)
				}
			}
		}
	}
}

func TestToBF16(t *testing.T) {
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3f80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81},
		{float32(math.Inf(-1)), 0xff80},
	} {
		if got := toBF16(tc.f); got != tc.want {
			t.Errorf("toBF16(%g) = %#x, want %#x", tc.f, got, tc.want)
		}
	}
	if got := toBF16(float32(math.NaN())); bf16f(got) == bf16f(got) {
		t.Errorf("toBF16(NaN) = %#x is not NaN", got)
	}
}
