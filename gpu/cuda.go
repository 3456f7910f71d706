//go:build cuda

package gpu

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/unmask/unmask/model"
)

// kernelsPTX is kernels.cu compiled by `go generate` (nvcc 11.8, compute_80).
//
//go:embed kernels.ptx
var kernelsPTX string

// Load loads a checkpoint (a Hugging Face folder, as package model reads it)
// from fsys onto CUDA device 0: weights are uploaded once, in opts.Weights'
// type. The files are read into memory first; LoadDir maps them instead.
func Load(fsys fs.FS, opts Options) (*Backend, error) {
	return load(func() (*model.Weights, error) { return model.OpenWeights(fsys) }, opts)
}

// LoadDir is Load for a checkpoint folder on disk, memory-mapped: a
// tensor's pages are read as it is uploaded, so a 16 GB checkpoint does not
// first take 16 GB of host memory.
func LoadDir(dir string, opts Options) (*Backend, error) {
	return load(func() (*model.Weights, error) { return model.OpenWeightsDir(dir) }, opts)
}

func load(open func() (*model.Weights, error), opts Options) (*Backend, error) {
	bf, err := opts.bf16()
	if err != nil {
		return nil, err
	}
	switch opts.Matmul {
	case "", "auto", "kernel", "cublas":
	default:
		return nil, fmt.Errorf("gpu: matmul %q: want auto, kernel or cublas", opts.Matmul)
	}
	w, err := open()
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	// Every tensor is on the device once newBackend returns.
	defer w.Close()
	e, err := newCUDAExec(opts.Matmul)
	if err != nil {
		return nil, err
	}
	var b *Backend
	err = e.do(func() error {
		var err error
		b, err = newBackend(w, bf, e, e.uploadWeight, nil)
		return err
	})
	if err != nil {
		e.shutdown()
		return nil, err
	}
	b.release = e.shutdown
	return b, nil
}

// DeviceInfo describes the device and libraries a CUDA backend runs on.
type DeviceInfo struct {
	Name          string
	Capability    [2]int
	Driver        int    // cuDriverGetVersion
	Cublas        string // soname loaded, "" when none
	CublasVersion int
	MemTotal      int64
}

// Device reports the device a CUDA backend runs on (zero for the reference).
func (b *Backend) Device() DeviceInfo {
	if e, ok := b.x.(*cudaExec); ok {
		return e.info
	}
	return DeviceInfo{}
}

// cudaExec runs the operations on one CUDA device. Every call into CUDA
// happens on one OS thread that holds the device's primary context (a CUDA
// context is per thread); do hands it work, so steps of different sessions
// take turns there in arrival order.
type cudaExec struct {
	work chan func()
	dev  cu.Device
	mod  cu.Module
	info DeviceInfo
	mode string // "auto", "kernel", "cublas"
	blas *cublas

	fnEmbedBF16, fnEmbedF32, fnRMSNorm, fnMatmulBF16, fnMatmulF32 cu.Function
	fnToBF16, fnAddBias, fnRope, fnAttention, fnSiluMul, fnScale  cu.Function
	fnTopK, fnTopKSmall                                           cu.Function

	// scratch on the device, grown on demand
	ids                  scratch // int32 token ids
	tkIDs, tkLogp, tkEnt scratch
	xb                   scratch // bf16 activations for cuBLAS
	xbSrc                uint64  // device address xb is a copy of (0: none)
	xbN                  int64   // elements copied

	allocs map[uintptr]struct{} // everything MemAlloc'd, freed at shutdown
	lost   error                // set (on the device thread) by a sticky error
	args   [16]uint64           // kernel parameters, one 8-byte slot each
	argp   [16]unsafe.Pointer
}

type scratch struct {
	p     cu.DevicePtr
	bytes int64
}

func newCUDAExec(mode string) (*cudaExec, error) {
	if mode == "" {
		mode = "auto"
	}
	e := &cudaExec{work: make(chan func()), mode: mode, allocs: map[uintptr]struct{}{}}
	for i := range e.argp {
		e.argp[i] = unsafe.Pointer(&e.args[i])
	}
	ready := make(chan error, 1)
	go e.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return e, nil
}

// loop is the device thread.
func (e *cudaExec) loop(ready chan<- error) {
	runtime.LockOSThread() // the context is current on this thread only
	if err := e.init(); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for fn := range e.work {
		fn()
	}
}

func (e *cudaExec) init() error {
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("gpu: counting devices: %w", err)
	}
	if n == 0 {
		return errors.New("gpu: no CUDA device")
	}
	e.dev = cu.Device(0)
	ctx, err := e.dev.RetainPrimaryCtx()
	if err != nil {
		return fmt.Errorf("gpu: primary context: %w", err)
	}
	if err := cu.SetCurrentContext(ctx); err != nil {
		return fmt.Errorf("gpu: set context: %w", err)
	}
	e.info.Name, _ = e.dev.Name()
	e.info.Capability[0], e.info.Capability[1], _ = e.dev.ComputeCapability()
	e.info.Driver = cu.Version()
	_, e.info.MemTotal, _ = cu.MemInfo()
	if e.mod, err = cu.LoadData(kernelsPTX); err != nil {
		return fmt.Errorf("gpu: loading kernels (PTX JIT): %w", err)
	}
	for _, f := range []struct {
		fn   *cu.Function
		name string
	}{
		{&e.fnEmbedBF16, "embed_bf16"}, {&e.fnEmbedF32, "embed_f32"}, {&e.fnRMSNorm, "rmsnorm"},
		{&e.fnMatmulBF16, "matmul_bf16"}, {&e.fnMatmulF32, "matmul_f32"}, {&e.fnToBF16, "to_bf16"},
		{&e.fnAddBias, "add_bias"}, {&e.fnRope, "rope"}, {&e.fnAttention, "attention"},
		{&e.fnSiluMul, "silu_mul"}, {&e.fnScale, "scale"}, {&e.fnTopK, "topk_entropy"},
		{&e.fnTopKSmall, "topk_entropy_small"},
	} {
		if *f.fn, err = e.mod.Function(f.name); err != nil {
			return fmt.Errorf("gpu: kernel %s: %w", f.name, err)
		}
	}
	if e.mode != "kernel" {
		b, err := openCublas()
		if err != nil && e.mode == "cublas" {
			return err
		}
		if err == nil {
			e.blas = b
			e.info.Cublas, e.info.CublasVersion = b.soname, b.version
		}
	}
	return nil
}

func (e *cudaExec) do(fn func() error) error {
	done := make(chan error, 1)
	e.work <- func() {
		if e.lost != nil {
			done <- e.lost
			return
		}
		err := fn()
		if sticky(err) {
			e.lost = fmt.Errorf("%w: %w", ErrDeviceLost, err)
			err = e.lost
		}
		done <- err
	}
	return <-done
}

// ErrDeviceLost reports a sticky CUDA error: the context is unusable and
// every later call fails, so the engine process should exit and be started
// again (its language servers restart it).
var ErrDeviceLost = errors.New("gpu: device lost")

// sticky reports the CUDA errors that corrupt the context for good.
func sticky(err error) bool {
	if err == nil {
		return false
	}
	for _, s := range []error{cu.IllegalAddress, cu.LaunchFailed, cu.HardwareStackError, cu.IllegalInstruction,
		cu.MisalignedAddress, cu.InvalidAddressSpace, cu.EccUncorrectable, cu.Assert, cu.LaunchTimeout} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// shutdown frees everything and releases the context. It must not be called
// from the device thread.
func (e *cudaExec) shutdown() error {
	err := e.do(func() error {
		if e.blas != nil {
			e.blas.close()
			e.blas = nil
		}
		for p := range e.allocs {
			cu.MemFree(cu.DevicePtr(p))
		}
		e.allocs = nil
		return e.dev.ReleasePrimaryCtx()
	})
	close(e.work)
	return err
}

func (e *cudaExec) malloc(bytes int64) (cu.DevicePtr, error) {
	p, err := cu.MemAlloc(max(bytes, 4))
	if err != nil {
		return 0, fmt.Errorf("gpu: allocating %d bytes: %w", bytes, err)
	}
	e.allocs[uintptr(p)] = struct{}{}
	return p, nil
}

func (e *cudaExec) alloc(n int) (vec, error) {
	p, err := e.malloc(int64(n) * 4)
	if err != nil {
		return vec{}, err
	}
	if err := cu.MemsetD32(p, 0, int64(max(n, 1))); err != nil {
		return vec{}, fmt.Errorf("gpu: clearing %d floats: %w", n, err)
	}
	return vec{d: uintptr(p)}, nil
}

func (e *cudaExec) free(v vec) {
	if _, ok := e.allocs[v.d]; ok {
		cu.MemFree(cu.DevicePtr(v.d))
		delete(e.allocs, v.d)
	}
}

func (v vec) ptr() uint64 { return uint64(v.d) + 4*uint64(v.off) }

func (e *cudaExec) upload(v vec, src []float32) error {
	if len(src) == 0 {
		return nil
	}
	e.xbSrc = 0
	return cu.MemcpyHtoD(cu.DevicePtr(v.ptr()), unsafe.Pointer(&src[0]), int64(len(src))*4)
}

// uploadWeight copies a matrix to the device once and drops the host copy.
func (e *cudaExec) uploadWeight(w *weight) error {
	n := int64(w.out) * int64(w.in)
	var src unsafe.Pointer
	size := int64(4)
	if w.bf16 {
		size = 2
		src = unsafe.Pointer(&w.h16[0])
	} else {
		src = unsafe.Pointer(&w.h32[0])
	}
	p, err := e.malloc(n * size)
	if err != nil {
		return err
	}
	if err := cu.MemcpyHtoD(p, src, n*size); err != nil {
		return fmt.Errorf("gpu: uploading %dx%d weights: %w", w.out, w.in, err)
	}
	w.d = uintptr(p)
	w.h16, w.h32 = nil, nil
	return nil
}

func (e *cudaExec) grow(s *scratch, bytes int64) error {
	if s.bytes >= bytes {
		return nil
	}
	if s.p != 0 {
		cu.MemFree(s.p)
		delete(e.allocs, uintptr(s.p))
	}
	bytes = max(bytes, 2*s.bytes)
	p, err := e.malloc(bytes)
	if err != nil {
		s.p, s.bytes = 0, 0
		return err
	}
	s.p, s.bytes = p, bytes
	return nil
}

// launch starts fn with the given parameters, each passed in an 8-byte
// slot (cu's Launch copies 8 bytes per parameter; the kernel reads the
// parameter's own size, little-endian).
func (e *cudaExec) launch(fn cu.Function, gx, gy, bx int, args ...uint64) error {
	e.xbSrc = 0 // any kernel may write the source of the bf16 copy
	return e.launchKeep(fn, gx, gy, bx, args...)
}

// launchKeep is launch for kernels known not to write the bf16 copy's
// source (the bias added to a product's output).
func (e *cudaExec) launchKeep(fn cu.Function, gx, gy, bx int, args ...uint64) error {
	copy(e.args[:], args)
	return fn.Launch(gx, gy, 1, bx, 1, 1, 0, cu.NoStream, e.argp[:len(args)])
}

func i32(v int) uint64     { return uint64(uint32(int32(v))) }
func f32(v float32) uint64 { return uint64(math.Float32bits(v)) }
func i64(v int64) uint64   { return uint64(v) }
func b32(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func ceil(a, b int) int { return (a + b - 1) / b }

func (e *cudaExec) embed(x vec, table *weight, ids []int32, scale float32) error {
	if err := e.grow(&e.ids, int64(len(ids))*4); err != nil {
		return err
	}
	if err := cu.MemcpyHtoD(e.ids.p, unsafe.Pointer(&ids[0]), int64(len(ids))*4); err != nil {
		return err
	}
	fn := e.fnEmbedF32
	if table.bf16 {
		fn = e.fnEmbedBF16
	}
	return e.launch(fn, len(ids), 1, 256, x.ptr(), uint64(table.d), uint64(e.ids.p), i32(table.in), f32(scale))
}

func (e *cudaExec) rmsnorm(dst, x, w vec, T, H int, eps float64) error {
	return e.launch(e.fnRMSNorm, T, 1, 256, dst.ptr(), x.ptr(), w.ptr(), i32(H), f32(float32(eps)))
}

func (e *cudaExec) matmul(y, x vec, w *weight, T int, accumulate bool) error {
	var bias uint64
	if w.bias != nil {
		bias = w.bias.ptr()
	}
	if e.blas != nil && (e.mode == "cublas" || T >= CublasMinRows) {
		xin := x.ptr()
		if w.bf16 {
			n := int64(T) * int64(w.in)
			// q, k and v (and gate and up) multiply the same normed rows:
			// their bf16 copy is made once, and stays valid while only
			// cuBLAS products (which write other buffers) run after it.
			if e.xbSrc != x.ptr() || e.xbN != n {
				if err := e.grow(&e.xb, n*2); err != nil {
					return err
				}
				if err := e.launch(e.fnToBF16, ceil(int(n), 256), 1, 256, uint64(e.xb.p), x.ptr(), i64(n)); err != nil {
					return err
				}
				e.xbSrc, e.xbN = x.ptr(), n
			}
			xin = uint64(e.xb.p)
		}
		beta := float32(0)
		if accumulate {
			beta = 1
		}
		if y.ptr() <= e.xbSrc && e.xbSrc < y.ptr()+4*uint64(T)*uint64(w.out) {
			e.xbSrc = 0 // the product overwrites the copy's source
		}
		if err := e.blas.gemm(uintptr(y.ptr()), uintptr(xin), w.d, w.bf16, T, w.out, w.in, beta); err != nil {
			return err
		}
		if bias != 0 {
			return e.launchKeep(e.fnAddBias, ceil(T*w.out, 256), 1, 256, y.ptr(), bias, i32(T), i32(w.out))
		}
		return nil
	}
	fn := e.fnMatmulF32
	if w.bf16 {
		fn = e.fnMatmulBF16
	}
	return e.launch(fn, ceil(T, 8), ceil(w.out, 8), 256, y.ptr(), x.ptr(), uint64(w.d), bias, i32(T), i32(w.out), i32(w.in), b32(accumulate))
}

func (e *cudaExec) rope(v, cos, sin vec, p0, T, heads, hd, stride int) error {
	return e.launch(e.fnRope, T, 1, min(1024, max(32, heads*hd/2)), v.ptr(), cos.ptr(), sin.ptr(), i32(p0), i32(heads), i32(hd), i32(stride))
}

func (e *cudaExec) attention(out, q, keys, vals vec, p0, T int, causal bool, heads, kvHeads, hd int) error {
	scale := float32(1 / math.Sqrt(float64(hd)))
	return e.launch(e.fnAttention, T, heads, 32, out.ptr(), q.ptr(), keys.ptr(), vals.ptr(), i32(p0), i32(T), b32(causal), i32(heads), i32(kvHeads), i32(hd), f32(scale))
}

func (e *cudaExec) siluMul(g, u vec, n int) error {
	return e.launch(e.fnSiluMul, ceil(n, 256), 1, 256, g.ptr(), u.ptr(), i64(int64(n)))
}

func (e *cudaExec) scale(v vec, s float32, n int) error {
	return e.launch(e.fnScale, ceil(n, 256), 1, 256, v.ptr(), f32(s), i64(int64(n)))
}

func (e *cudaExec) topk(logits vec, rows, V, k int, ids []int32, logp, ent []float32) error {
	for _, s := range []*scratch{&e.tkIDs, &e.tkLogp} {
		if err := e.grow(s, int64(rows*k)*4); err != nil {
			return err
		}
	}
	if err := e.grow(&e.tkEnt, int64(rows)*4); err != nil {
		return err
	}
	// k <= 8 (the default top-k) takes one pass over the vocabulary.
	fn, threads := e.fnTopK, 256
	if k <= 8 {
		fn, threads = e.fnTopKSmall, 512
	}
	if err := e.launch(fn, rows, 1, threads, logits.ptr(), i32(V), i32(k), uint64(e.tkIDs.p), uint64(e.tkLogp.p), uint64(e.tkEnt.p)); err != nil {
		return err
	}
	// Synchronous copies on the default stream: they wait for the step.
	if err := cu.MemcpyDtoH(unsafe.Pointer(&ids[0]), e.tkIDs.p, int64(rows*k)*4); err != nil {
		return fmt.Errorf("gpu: step: %w", err)
	}
	if err := cu.MemcpyDtoH(unsafe.Pointer(&logp[0]), e.tkLogp.p, int64(rows*k)*4); err != nil {
		return err
	}
	return cu.MemcpyDtoH(unsafe.Pointer(&ent[0]), e.tkEnt.p, int64(rows)*4)
}

// download copies a device vec to the host (tests).
func (e *cudaExec) download(dst []float32, v vec) error {
	if len(dst) == 0 {
		return nil
	}
	return cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), cu.DevicePtr(v.ptr()), int64(len(dst))*4)
}
