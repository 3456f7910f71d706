package model

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"unsafe"
)

// ErrSafetensors reports a safetensors file that is malformed, truncated or
// does not hold what the config implies.
var ErrSafetensors = errors.New("model: bad safetensors")

// maxHeaderLen bounds the JSON header (the reference implementation uses 100 MB).
const maxHeaderLen = 100 << 20

// A dtype is a safetensors element type.
type dtype string

const (
	dtF32  dtype = "F32"
	dtF16  dtype = "F16"
	dtBF16 dtype = "BF16"
)

// dtypeSizes lists every dtype the format defines, so that a file holding
// tensors we never read (I64 buffers, say) still validates.
var dtypeSizes = map[dtype]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// A tensorInfo is one header entry, its offsets relative to the data section.
type tensorInfo struct {
	Name  string
	DType dtype
	Shape []int
	Begin uint64
	End   uint64
	data  []byte // the tensor's bytes, a view into the file
}

// A stFile is one parsed safetensors file: a header and a data section.
type stFile struct {
	name    string // for error messages
	tensors map[string]*tensorInfo
}

// parseSafetensors validates a whole safetensors file held in buf: the
// header length, the JSON header, every dtype, shape and offset (inside the
// data section, size = product of the shape times the dtype size, no two
// tensors overlapping). Tensor data are views into buf.
func parseSafetensors(name string, buf []byte) (*stFile, error) {
	if len(buf) < 8 {
		return nil, fmt.Errorf("%w: %s: %d bytes, shorter than the 8-byte header length", ErrSafetensors, name, len(buf))
	}
	n := binary.LittleEndian.Uint64(buf[:8])
	if n > maxHeaderLen || n > uint64(len(buf)-8) {
		return nil, fmt.Errorf("%w: %s: header length %d exceeds the file (%d bytes) or the 100 MB limit", ErrSafetensors, name, n, len(buf))
	}
	hdr := buf[8 : 8+n]
	data := buf[8+n:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrSafetensors, name, err)
	}
	f := &stFile{name: name, tensors: make(map[string]*tensorInfo, len(raw))}
	list := make([]*tensorInfo, 0, len(raw))
	for key, val := range raw {
		if key == "__metadata__" {
			var md map[string]string
			if err := json.Unmarshal(val, &md); err != nil {
				return nil, fmt.Errorf("%w: %s: __metadata__: %v", ErrSafetensors, name, err)
			}
			continue
		}
		var e struct {
			DType   *string   `json:"dtype"`
			Shape   *[]int64  `json:"shape"`
			Offsets *[]uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(val, &e); err != nil {
			return nil, fmt.Errorf("%w: %s: tensor %q: %v", ErrSafetensors, name, key, err)
		}
		if e.DType == nil || e.Shape == nil || e.Offsets == nil {
			return nil, fmt.Errorf("%w: %s: tensor %q: needs dtype, shape and data_offsets", ErrSafetensors, name, key)
		}
		size, ok := dtypeSizes[dtype(*e.DType)]
		if !ok {
			return nil, fmt.Errorf("%w: %s: tensor %q: unknown dtype %q", ErrSafetensors, name, key, *e.DType)
		}
		if len(*e.Offsets) != 2 {
			return nil, fmt.Errorf("%w: %s: tensor %q: data_offsets has %d entries, want 2", ErrSafetensors, name, key, len(*e.Offsets))
		}
		begin, end := (*e.Offsets)[0], (*e.Offsets)[1]
		if begin > end || end > uint64(len(data)) {
			return nil, fmt.Errorf("%w: %s: tensor %q: data_offsets [%d, %d] outside the %d-byte data section (truncated file?)", ErrSafetensors, name, key, begin, end, len(data))
		}
		elems := uint64(1)
		shape := make([]int, len(*e.Shape))
		for i, d := range *e.Shape {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("%w: %s: tensor %q: dimension %d", ErrSafetensors, name, key, d)
			}
			hi, lo := bits.Mul64(elems, uint64(d))
			if hi != 0 {
				return nil, fmt.Errorf("%w: %s: tensor %q: shape %v overflows", ErrSafetensors, name, key, *e.Shape)
			}
			elems = lo
			shape[i] = int(d)
		}
		hi, nbytes := bits.Mul64(elems, size)
		if hi != 0 || nbytes != end-begin {
			return nil, fmt.Errorf("%w: %s: tensor %q: shape %v of %s needs %d bytes, data_offsets give %d", ErrSafetensors, name, key, shape, *e.DType, elems*size, end-begin)
		}
		t := &tensorInfo{Name: key, DType: dtype(*e.DType), Shape: shape, Begin: begin, End: end, data: data[begin:end:end]}
		f.tensors[key] = t
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Begin != list[j].Begin {
			return list[i].Begin < list[j].Begin
		}
		return list[i].Name < list[j].Name
	})
	for i := 1; i < len(list); i++ {
		if list[i].Begin < list[i-1].End {
			return nil, fmt.Errorf("%w: %s: tensors %q and %q overlap", ErrSafetensors, name, list[i-1].Name, list[i].Name)
		}
	}
	return f, nil
}

// floats returns the tensor as float32s: a view of the file's bytes for an
// aligned F32 tensor (no copy: valid while the file's Weights are open),
// widened copies of F16 and BF16.
func (t *tensorInfo) floats(file string) ([]float32, error) {
	n := len(t.data) / 2
	switch t.DType {
	case dtF32:
		n = len(t.data) / 4
		if n == 0 {
			return nil, nil
		}
		if uintptr(unsafe.Pointer(&t.data[0]))%4 == 0 && littleEndian {
			return unsafe.Slice((*float32)(unsafe.Pointer(&t.data[0])), n), nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
		}
		return out, nil
	case dtBF16:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.data[2*i:])) << 16)
		}
		return out, nil
	case dtF16:
		out := make([]float32, n)
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(t.data[2*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s: tensor %q: dtype %s (want F32, F16 or BF16)", ErrSafetensors, file, t.Name, t.DType)
}

// bf16Bits returns a BF16 tensor's bits: a view of the file's bytes when
// aligned, as floats does for F32, else a copy.
func (t *tensorInfo) bf16Bits() []uint16 {
	n := len(t.data) / 2
	if n == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&t.data[0]))%2 == 0 && littleEndian {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&t.data[0])), n)
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(t.data[2*i:])
	}
	return out
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// f16ToF32 widens an IEEE half, subnormals, infinities and NaNs included.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = man * 2^-24
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// f32ToBF16 rounds to nearest even (what torch does), for tests and writers.
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
