// Package model is the CPU engine: it reads Hugging Face checkpoint folders
// (config.json plus safetensors, single or sharded, F32/F16/BF16,
// memory-mapped) and runs the Qwen2/LLaMA-family transformer in pure Go
// with assembly matrix and exp kernels on amd64 with AVX2/FMA or AVX-512
// and assembly matrix kernels on arm64 (NEON); elsewhere (older amd64,
// other architectures, UNMASK_KERNEL=go) the matrix products run on a
// tiled plain Go kernel (matmulGo). *Model implements engine.Backend.
//
// OpenWeights and OpenWeightsDir read a checkpoint's config and tensors
// without building a Model: package gpu loads through them, so one reader
// (safetensors.go) checks the untrusted files.
//
// Families: ours (Qwen2 names plus unmask_* config fields, context-causal
// attention), Qwen2 and LLaMA (causal), Dream / DiffuCoder / Dream-Coder and
// Open-dCoder (Qwen2 names, bidirectional, shifted logits), LLaDA (its own
// tensor names, bidirectional, same-position logits). config.go says how
// each is recognised and how it is verified.
//
// A session (NewSession) owns a KV cache and every work buffer, allocated
// once; Prefill reuses the longest common prefix with what the cache holds,
// Denoise runs a block against it without changing it, Truncate cuts it
// back. Causal and context-causal checkpoints keep their context's keys and
// values; bidirectional ones recompute context and block together at each
// Denoise, as their attention requires.
//
// Every fast kernel has a plain Go reference beside it (matmulRef,
// expShiftRef, ...) and tests that hold them together; the whole forward
// pass is held to transformers' Qwen2 and LLaMA and to a PyTorch module in
// LLaDA's layout by testdata/golden.json (testdata/gen_fixtures.py).
package model
