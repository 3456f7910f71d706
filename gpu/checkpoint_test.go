package gpu

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// safetensors builds a file from a header and a body.
func safetensors(header string, body []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), body...)
}

func TestParseSafetensorsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than the header length"},
		{"header past the end", binary.LittleEndian.AppendUint64(nil, 100), "header of 100 bytes"},
		{"bad json", safetensors("{", nil), "header"},
		{"bad dtype", safetensors(`{"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), "dtype I8"},
		{"offsets past the body", safetensors(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), "offsets"},
		{"size mismatch", safetensors(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "offsets"},
		{"negative shape", safetensors(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil), "shape"},
		{"reversed offsets", safetensors(`{"w":{"dtype":"BF16","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)), "offsets"},
	} {
		ck := &checkpoint{tensors: map[string]hostTensor{}}
		err := ck.parse("m.safetensors", tc.data, false)
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parse = %v, want ErrCheckpoint mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestParseSafetensorsTypes(t *testing.T) {
	f32 := []float32{1.5, -2.25, 3.1415927, 1e-3}
	var body []byte
	for _, v := range f32 {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
	}
	f16 := []uint16{0x3c00, 0xc000, 0x0001, 0x7c00} // 1, -2, smallest subnormal, +Inf
	for _, h := range f16 {
		body = binary.LittleEndian.AppendUint16(body, h)
	}
	bf := []uint16{0x3f80, 0xc0a0} // 1, -5
	for _, h := range bf {
		body = binary.LittleEndian.AppendUint16(body, h)
	}
	hdr, _ := json.Marshal(map[string]any{
		"__metadata__": map[string]string{"format": "pt"},
		"m32":          map[string]any{"dtype": "F32", "shape": []int{2, 2}, "data_offsets": []int{0, 16}},
		"v16":          map[string]any{"dtype": "F16", "shape": []int{4}, "data_offsets": []int{16, 24}},
		"mbf":          map[string]any{"dtype": "BF16", "shape": []int{1, 2}, "data_offsets": []int{24, 28}},
	})
	for _, asBF16 := range []bool{false, true} {
		ck := &checkpoint{tensors: map[string]hostTensor{}}
		if err := ck.parse("m.safetensors", safetensors(string(hdr), body), asBF16); err != nil {
			t.Fatal(err)
		}
		m32, err := ck.tensor("m32", 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range f32 {
			if asBF16 {
				if m32.bf16 == nil || m32.bf16[i] != toBF16(v) {
					t.Errorf("bf16 m32[%d] = %v, want %#x", i, m32.bf16, toBF16(v))
				}
			} else if m32.f32[i] != v {
				t.Errorf("m32[%d] = %g, want %g", i, m32.f32[i], v)
			}
		}
		v16, _ := ck.tensor("v16", 4) // vectors stay f32
		for i, want := range []float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1))} {
			if v16.f32[i] != want {
				t.Errorf("bf16=%v: f16 v16[%d] = %g, want %g", asBF16, i, v16.f32[i], want)
			}
		}
		mbf, _ := ck.tensor("mbf", 1, 2)
		if asBF16 && (mbf.bf16[0] != 0x3f80 || mbf.bf16[1] != 0xc0a0) {
			t.Errorf("bf16 kept as bits: %#x", mbf.bf16)
		}
		if !asBF16 && (mbf.f32[0] != 1 || mbf.f32[1] != -5) {
			t.Errorf("bf16 widened: %v", mbf.f32)
		}
		if _, err := ck.tensor("m32", 4); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("tensor with the wrong shape = %v", err)
		}
		if _, err := ck.tensor("nope", 1); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("missing tensor = %v", err)
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

func FuzzParseSafetensors(f *testing.F) {
	f.Add(safetensors(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(safetensors(`{"w":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, bf := range []bool{false, true} {
			ck := &checkpoint{tensors: map[string]hostTensor{}}
			if err := ck.parse("f", data, bf); err != nil && !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("parse error %v does not wrap ErrCheckpoint", err)
			}
		}
	})
}
