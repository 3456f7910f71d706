package model

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openBoth opens dir with OpenWeightsDir (memory-mapped) and OpenWeights
// (read through an fs.FS), for tests that hold both to the same answers.
func openBoth(dir string) map[string]func() (*Weights, error) {
	return map[string]func() (*Weights, error){
		"dir": func() (*Weights, error) { return OpenWeightsDir(dir) },
		"fs":  func() (*Weights, error) { return OpenWeights(os.DirFS(dir)) },
	}
}

// TestWeights reads every tensor of each family's synthetic checkpoint
// (Dream's sharded, the others single files; F32, F16 and BF16) by its
// family's TensorNames, as float32s and as BF16 bits.
func TestWeights(t *testing.T) {
	for _, fc := range familyCases {
		dir, src := writeFamily(t, fc)
		for how, open := range openBoth(dir) {
			w, err := open()
			if err != nil {
				t.Fatalf("%s %s: %v", fc.name, how, err)
			}
			cfg := w.Config()
			if cfg.Family != fc.family {
				t.Errorf("%s %s: Config().Family = %q, want %q", fc.name, how, cfg.Family, fc.family)
			}
			for name, want := range modelTensors(src) {
				f, err := w.Float32(name, want.shape...)
				if err != nil {
					t.Fatalf("%s %s: Float32(%q): %v", fc.name, how, name, err)
				}
				b, err := w.BF16(name, want.shape...)
				if err != nil {
					t.Fatalf("%s %s: BF16(%q): %v", fc.name, how, name, err)
				}
				if len(f) != len(want.data) || len(b) != len(want.data) {
					t.Fatalf("%s %s: %q: %d floats, %d bf16, want %d", fc.name, how, name, len(f), len(b), len(want.data))
				}
				for i, v := range want.data {
					if f[i] != v {
						t.Fatalf("%s %s: Float32(%q)[%d] = %g, want %g", fc.name, how, name, i, f[i], v)
					}
					if b[i] != f32ToBF16(v) {
						t.Fatalf("%s %s: BF16(%q)[%d] = %#04x, want %#04x", fc.name, how, name, i, b[i], f32ToBF16(v))
					}
				}
			}
			n := cfg.TensorNames()
			if err := w.Close(); err != nil {
				t.Errorf("%s %s: Close: %v", fc.name, how, err)
			}
			if _, err := w.Float32(n.Norm+".weight", 48); err == nil || !strings.Contains(err.Error(), "after Close") {
				t.Errorf("%s %s: Float32 after Close = %v, want an error", fc.name, how, err)
			}
		}
	}
}

// A rawTensor is one tensor's stored bytes.
type rawTensor struct {
	name  string
	dt    dtype
	shape []int
	data  []byte
}

// rawSafetensors lays the tensors out in order after a header padded so
// that the data section starts at a file offset of start mod 8: 0 as the
// reference writer pads it, odd to leave every tensor unaligned.
func rawSafetensors(start int, ts ...rawTensor) []byte {
	hdr := map[string]any{}
	var data []byte
	for _, t := range ts {
		hdr[t.name] = map[string]any{"dtype": string(t.dt), "shape": t.shape, "data_offsets": []int{len(data), len(data) + len(t.data)}}
		data = append(data, t.data...)
	}
	h, _ := json.Marshal(hdr)
	for (8+len(h))%8 != start%8 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

func u16s(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func isNaNBF16(h uint16) bool { return h&0x7f80 == 0x7f80 && h&0x7f != 0 }

// TestWeightsBF16Bits: BF16 gives a BF16 tensor's stored bits unchanged
// (signed zero, subnormal, infinity, NaN payloads) and rounds F32 and F16
// to nearest even; Float32 widens the same bits exactly. Aligned tensors
// are views of the file, unaligned ones copies: both must agree.
func TestWeightsBF16Bits(t *testing.T) {
	bf := []uint16{0x3f80, 0xc0a0, 0x8000, 0x0001, 0x7f80, 0xff80, 0x7fc1, 0xffff}
	f32 := []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0xff800000, 0xff80}, // -Inf
		{0x7f7fffff, 0x7f80}, // the largest float rounds to +Inf, as torch does
		{0x00000001, 0x0000}, // the smallest subnormal rounds to zero
		{0x7fc00001, 0x7fc0}, // NaN stays NaN
	}
	f16 := []struct {
		bits uint16
		f    float32
		want uint16
	}{
		{0x3c00, 1, 0x3f80},
		{0xc000, -2, 0xc000},
		{0x0001, 0x1p-24, 0x3380}, // subnormal half, normal bfloat16
		{0x7c00, float32(math.Inf(1)), 0x7f80},
	}
	var f32Bits []uint32
	for _, c := range f32 {
		f32Bits = append(f32Bits, c.bits)
	}
	var f16Bits []uint16
	for _, c := range f16 {
		f16Bits = append(f16Bits, c.bits)
	}
	for _, start := range []int{0, 1} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(fmt.Sprintf(familyCases[0].config, 48, 97)), 0o644)
		st := rawSafetensors(start,
			rawTensor{"f32", dtF32, []int{2, 4}, u32s(f32Bits...)},
			rawTensor{"bf16", dtBF16, []int{2, 4}, u16s(bf...)},
			rawTensor{"f16", dtF16, []int{4}, u16s(f16Bits...)},
			rawTensor{"empty", dtBF16, []int{0, 4}, nil},
		)
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), st, 0o644); err != nil {
			t.Fatal(err)
		}
		for how, open := range openBoth(dir) {
			name := fmt.Sprintf("%s, data at offset %d mod 8", how, start)
			w, err := open()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			gotBF, err := w.BF16("bf16", 2, 4)
			if err != nil {
				t.Fatalf("%s: BF16(bf16): %v", name, err)
			}
			gotF, err := w.Float32("bf16", 2, 4)
			if err != nil {
				t.Fatalf("%s: Float32(bf16): %v", name, err)
			}
			for i, h := range bf {
				if gotBF[i] != h {
					t.Errorf("%s: BF16(bf16)[%d] = %#04x, want the stored %#04x", name, i, gotBF[i], h)
				}
				if got := math.Float32bits(gotF[i]); got != uint32(h)<<16 {
					t.Errorf("%s: Float32(bf16)[%d] = %#08x, want %#08x", name, i, got, uint32(h)<<16)
				}
			}
			gotBF, err = w.BF16("f32", 2, 4)
			if err != nil {
				t.Fatalf("%s: BF16(f32): %v", name, err)
			}
			gotF, err = w.Float32("f32", 2, 4)
			if err != nil {
				t.Fatalf("%s: Float32(f32): %v", name, err)
			}
			for i, c := range f32 {
				if got := math.Float32bits(gotF[i]); got != c.bits {
					t.Errorf("%s: Float32(f32)[%d] = %#08x, want %#08x", name, i, got, c.bits)
				}
				if isNaNBF16(c.want) && !isNaNBF16(gotBF[i]) || !isNaNBF16(c.want) && gotBF[i] != c.want {
					t.Errorf("%s: BF16(f32)[%d] of %#08x = %#04x, want %#04x", name, i, c.bits, gotBF[i], c.want)
				}
			}
			gotBF, err = w.BF16("f16", 4)
			if err != nil {
				t.Fatalf("%s: BF16(f16): %v", name, err)
			}
			gotF, err = w.Float32("f16", 4)
			if err != nil {
				t.Fatalf("%s: Float32(f16): %v", name, err)
			}
			for i, c := range f16 {
				if gotF[i] != c.f || gotBF[i] != c.want {
					t.Errorf("%s: f16 %#04x: Float32 %g, BF16 %#04x; want %g, %#04x", name, c.bits, gotF[i], gotBF[i], c.f, c.want)
				}
			}
			if got, err := w.BF16("empty", 0, 4); err != nil || len(got) != 0 {
				t.Errorf("%s: BF16(empty) = %v, %v; want no values", name, got, err)
			}
			w.Close()
		}
	}
}

// TestWeightsErrors: every broken checkpoint or wrong request is an
// ErrSafetensors naming the file and tensor, never a panic.
func TestWeightsErrors(t *testing.T) {
	single, sharded := familyCases[0], familyCases[1]
	if single.sharded || !sharded.sharded {
		t.Fatal("familyCases[0] must be a single file, familyCases[1] sharded")
	}
	file := func(dir string) string { return filepath.Join(dir, "model.safetensors") }
	index := func(t *testing.T, dir string, f func(wm map[string]string)) {
		b, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var ix struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &ix); err != nil {
			t.Fatal(err)
		}
		f(ix.WeightMap)
		b, _ = json.Marshal(ix)
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const norm = "model.norm.weight"
	cases := []struct {
		name string
		fc   familyCase
		edit func(t *testing.T, dir string) // nil: the checkpoint as written
		read func(w *Weights) error         // nil: opening must fail
		want []string
	}{
		{"truncated file", single, func(t *testing.T, dir string) {
			b, _ := os.ReadFile(file(dir))
			os.WriteFile(file(dir), b[:len(b)-6], 0o644)
		}, nil, []string{"model.safetensors", "truncated"}},
		{"shape mismatch, Float32", single, nil, func(w *Weights) error {
			_, err := w.Float32(norm, 47)
			return err
		}, []string{"model.safetensors", norm, "[48]", "want [47]"}},
		{"shape mismatch, BF16", single, nil, func(w *Weights) error {
			_, err := w.BF16(norm, 1, 48)
			return err
		}, []string{"model.safetensors", norm, "[48]", "want [1 48]"}},
		{"missing tensor", single, nil, func(w *Weights) error {
			_, err := w.Float32("model.nope.weight", 48)
			return err
		}, []string{`"model.nope.weight"`, "missing from", "model.safetensors"}},
		{"integer dtype, Float32", single, func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) { h[norm].(map[string]any)["dtype"] = "I32" })
		}, func(w *Weights) error {
			_, err := w.Float32(norm, 48)
			return err
		}, []string{"model.safetensors", norm, "I32"}},
		{"integer dtype, BF16", single, func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) { h[norm].(map[string]any)["dtype"] = "U32" })
		}, func(w *Weights) error {
			_, err := w.BF16(norm, 48)
			return err
		}, []string{"model.safetensors", norm, "U32"}},
		{"sharded: missing tensor names both shards", sharded, nil, func(w *Weights) error {
			_, err := w.BF16("model.nope.weight", 48)
			return err
		}, []string{`"model.nope.weight"`, "model-00001-of-00002.safetensors, ", "model-00002-of-00002.safetensors"}},
		{"sharded: index names the other shard", sharded, func(t *testing.T, dir string) {
			index(t, dir, func(wm map[string]string) {
				if wm[norm] == "model-00001-of-00002.safetensors" {
					wm[norm] = "model-00002-of-00002.safetensors"
				} else {
					wm[norm] = "model-00001-of-00002.safetensors"
				}
			})
		}, nil, []string{norm, "index says"}},
		{"sharded: index lists a tensor no shard holds", sharded, func(t *testing.T, dir string) {
			index(t, dir, func(wm map[string]string) { wm["model.extra.weight"] = "model-00001-of-00002.safetensors" })
		}, nil, []string{"model-00001-of-00002.safetensors", `"model.extra.weight"`, "listed in the index is missing"}},
		{"sharded: truncated shard", sharded, func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model-00002-of-00002.safetensors")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, nil, []string{"model-00002-of-00002.safetensors", "truncated"}},
	}
	for _, tc := range cases {
		dir, _ := writeFamily(t, tc.fc)
		if tc.edit != nil {
			tc.edit(t, dir)
		}
		for how, open := range openBoth(dir) {
			w, err := open()
			if tc.read == nil {
				if err == nil {
					w.Close()
					t.Errorf("%s (%s): opening succeeded, want an error", tc.name, how)
					continue
				}
			} else {
				if err != nil {
					t.Fatalf("%s (%s): %v", tc.name, how, err)
				}
				err = tc.read(w)
				w.Close()
			}
			if !errors.Is(err, ErrSafetensors) {
				t.Errorf("%s (%s): error %v, want ErrSafetensors", tc.name, how, err)
				continue
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s (%s): error %q does not mention %q", tc.name, how, err, s)
				}
			}
		}
	}
}

// TestWeightsSummary counts each family's synthetic checkpoint: every
// tensor's numbers once, its bytes by dtype.
func TestWeightsSummary(t *testing.T) {
	for _, fc := range familyCases {
		dir, src := writeFamily(t, fc)
		var want int64
		for _, tt := range modelTensors(src) {
			want += int64(len(tt.data))
		}
		w, err := OpenWeightsDir(dir)
		if err != nil {
			t.Fatalf("%s: %v", fc.name, err)
		}
		s := w.Summary()
		w.Close()
		var byType, bytes int64
		for dt, n := range s.DTypes {
			byType += n
			bytes += n * int64(dtypeSizes[dtype(dt)])
		}
		if s.Parameters != want || byType != want || s.Bytes != bytes {
			t.Errorf("%s: Summary() = %+v, want %d parameters in %d bytes", fc.name, s, want, bytes)
		}
	}
	if s := (&Weights{}).Summary(); s.Parameters != 0 {
		t.Errorf("no checkpoint: Summary() = %+v", s)
	}
}
