// Package gpu runs the transformer of package model on a CUDA device, for
// the `unmask engine --device cuda` process (build tag cuda).
//
// The forward pass (engine.go) is written once against an executor of
// operations — embedding, RMSNorm, matrix product, RoPE, attention with the
// causal, context-causal and bidirectional masks, SwiGLU, top-k with entropy
// — and runs on two executors:
//
//   - the plain-Go reference (host.go, LoadReference), built everywhere and
//     tested against the CPU engine of package model on its fixtures;
//   - the CUDA executor (cuda.go, build tag cuda, Load) through
//     gorgonia.org/cu's driver API: weights uploaded once (bf16 by default),
//     the KV cache on the device, our kernels (kernels.cu, compiled to PTX
//     and embedded) and cuBLAS, loaded at run time by soname
//     (libcublas.so.13, .12, .11) so the binary links only libcuda.so.1.
//     Only top-k ids, log-probabilities and entropies leave the device.
//
// gorgonia.org/cu's package init calls cuInit and exits the process when
// there is no GPU, so the cuda build is linked only into the engine process
// (cmd/unmask with -tags cuda), never into a default build; the language
// server reaches it through package engine/rpc and falls back to its CPU
// engine.
//
// # Toolkits
//
// The cuda build compiles against CUDA 11.x and 12.x headers (Debian
// bookworm's nvidia-cuda-dev 11.8 in CI). gorgonia.org/cu v0.9.6 does not
// compile against CUDA 13 headers (cuCtxCreate takes four arguments there);
// the binary built against 11.8 runs on CUDA 13 drivers, since it needs only
// the driver API of libcuda.so.1 and loads cuBLAS by whichever soname is
// present. The kernels are PTX for compute_80 (nvcc 11.8), which the driver
// JIT-compiles for sm_80, sm_90 and later.
package gpu

//go:generate nvcc -ptx -arch=compute_80 -std=c++17 -o kernels.ptx kernels.cu
