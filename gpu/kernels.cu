// Kernels of the CUDA engine (package gpu). Compiled to PTX by `go generate`
// (nvcc 11.8: nvcc -ptx -arch=compute_80), committed beside this file as
// kernels.ptx and embedded in the binary; the driver JIT-compiles it for the
// GPU at hand (sm_80, sm_90 and later), so the binary needs only libcuda.so.1.
//
// Layouts (row-major, f32 activations): x [T][H], q [T][heads*hd], key/value
// cache [pos][kvHeads*hd], weights [out][in] as torch.nn.Linear stores them,
// in bf16 (uint16 here) or f32. Each kernel has a plain Go reference in
// reference.go; gpu tests hold them together.

typedef unsigned short bf16;

__device__ __forceinline__ float bf16f(bf16 h) { return __uint_as_float(((unsigned)h) << 16); }

__device__ __forceinline__ float warpSum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warpMax(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// embed: x[t] = table[ids[t]] * scale (scale 0 = 1). grid T, block 256.
template <typename W>
__device__ void embedT(float* x, const W* table, const int* ids, int H, float scale) {
    int t = blockIdx.x;
    const W* row = table + (long long)ids[t] * H;
    float s = scale == 0.f ? 1.f : scale;
    for (int i = threadIdx.x; i < H; i += blockDim.x) {
        float v;
        if constexpr (sizeof(W) == 2) v = bf16f(row[i]); else v = (float)row[i];
        x[(long long)t * H + i] = scale == 0.f ? v : v * s;
    }
}
extern "C" __global__ void embed_bf16(float* x, const bf16* table, const int* ids, int H, float scale) { embedT(x, table, ids, H, scale); }
extern "C" __global__ void embed_f32(float* x, const float* table, const int* ids, int H, float scale) { embedT(x, table, ids, H, scale); }

// rmsnorm: dst[t] = w * x[t] / sqrt(mean(x[t]^2) + eps). grid T, block 256.
extern "C" __global__ void rmsnorm(float* dst, const float* x, const float* w, int H, float eps) {
    __shared__ float part[32];
    int t = blockIdx.x;
    const float* xr = x + (long long)t * H;
    float ss = 0.f;
    for (int i = threadIdx.x; i < H; i += blockDim.x) ss += xr[i] * xr[i];
    ss = warpSum(ss);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.f;
        v = warpSum(v);
        if (threadIdx.x == 0) part[0] = v;
    }
    __syncthreads();
    float r = (float)(1.0 / sqrt((double)(part[0] / (float)H) + (double)eps));
    for (int i = threadIdx.x; i < H; i += blockDim.x) dst[(long long)t * H + i] = w[i] * (xr[i] * r);
}

// matmul: y[t][n] (+)= sum_k x[t][k] * W[n][k] + b[n], for t < T, n < N.
// One warp per output column and 8 rows; the warp's lanes stride over k, so
// a weight row is read coalesced and reused for 8 rows from registers. This
// is the reference-precision path (f32 activations, f32 accumulation); large
// products go to cuBLAS when it is present. grid (ceil(T/8), ceil(N/8)),
// block 256: row groups vary fastest, so the blocks that read the same
// weight rows run together and all but the first read them from L2.
// K must be even.
#define MM_ROWS 8
template <typename W>
__device__ void matmulT(float* y, const float* x, const W* w, const float* b, int T, int N, int K, int accumulate) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int n = blockIdx.y * 8 + warp;
    int t0 = blockIdx.x * MM_ROWS;
    if (n >= N) return;
    float acc[MM_ROWS];
#pragma unroll
    for (int r = 0; r < MM_ROWS; r++) acc[r] = 0.f;
    const W* wr = w + (long long)n * K;
    int rows = min(MM_ROWS, T - t0);
    for (int k = lane * 2; k < K; k += 64) {
        float w0, w1;
        if constexpr (sizeof(W) == 2) {
            unsigned pair = *(const unsigned*)(wr + k);
            w0 = __uint_as_float(pair << 16);
            w1 = __uint_as_float(pair & 0xffff0000u);
        } else {
            float2 p = *(const float2*)(wr + k);
            w0 = p.x; w1 = p.y;
        }
#pragma unroll
        for (int r = 0; r < MM_ROWS; r++) {
            if (r < rows) {
                float2 xv = *(const float2*)(x + (long long)(t0 + r) * K + k);
                acc[r] += xv.x * w0 + xv.y * w1;
            }
        }
    }
#pragma unroll
    for (int r = 0; r < MM_ROWS; r++) acc[r] = warpSum(acc[r]);
    if (lane == 0) {
        float bias = b ? b[n] : 0.f;
        for (int r = 0; r < rows; r++) {
            float* yp = y + (long long)(t0 + r) * N + n;
            float v = acc[r] + bias;
            *yp = accumulate ? *yp + v : v;
        }
    }
}
extern "C" __global__ void matmul_bf16(float* y, const float* x, const bf16* w, const float* b, int T, int N, int K, int accumulate) { matmulT(y, x, w, b, T, N, K, accumulate); }
extern "C" __global__ void matmul_f32(float* y, const float* x, const float* w, const float* b, int T, int N, int K, int accumulate) { matmulT(y, x, w, b, T, N, K, accumulate); }

// to_bf16: dst[i] = bf16(src[i]), round to nearest even (cuBLAS inputs).
extern "C" __global__ void to_bf16(bf16* dst, const float* src, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned u = __float_as_uint(src[i]);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) { dst[i] = (bf16)((u >> 16) | 0x40); return; }
    u += 0x7fffu + ((u >> 16) & 1u);
    dst[i] = (bf16)(u >> 16);
}

// add_bias: y[t][n] += b[n] (after a cuBLAS product). grid ceil(T*N/256).
extern "C" __global__ void add_bias(float* y, const float* b, int T, int N) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)T * N) return;
    y[i] += b[i % N];
}

// rope: rotate rows of v ([T][heads*hd], row stride `stride`) in place with
// the cos/sin tables of their positions ([pos][hd/2]), rows at pos p0+t.
// Halves convention (rotate_half). grid T, block heads*hd/2 (<= 1024).
extern "C" __global__ void rope(float* v, const float* cosT, const float* sinT, int p0, int heads, int hd, int stride) {
    int t = blockIdx.x;
    int half = hd >> 1;
    for (int j = threadIdx.x; j < heads * half; j += blockDim.x) {
        int h = j / half, i = j % half;
        float* row = v + (long long)t * stride + h * hd;
        float c = cosT[(long long)(p0 + t) * half + i], s = sinT[(long long)(p0 + t) * half + i];
        float a = row[i], b = row[i + half];
        row[i] = a * c - b * s;
        row[i + half] = b * c + a * s;
    }
}

// attention: out[t][h] = softmax(q[t][h] . K[0..last] / sqrt(hd)) V, with
// last = p0+t when causal, else p0+T-1 (the block attends to itself
// bidirectionally and to all the context). One warp per (row, head), online
// softmax over chunks of 32 positions (flash-style: memory does not grow
// with the context). hd <= 256. grid (T, heads), block 32.
extern "C" __global__ void attention(float* out, const float* q, const float* keys, const float* vals,
                                     int p0, int T, int causal, int heads, int kvHeads, int hd, float scale) {
    int t = blockIdx.x, h = blockIdx.y, lane = threadIdx.x;
    int qd = heads * hd, kvd = kvHeads * hd;
    int kvh = h / (heads / kvHeads);
    const float* qr = q + (long long)t * qd + h * hd;
    __shared__ __align__(16) float qs[256];
    for (int i = lane; i < hd; i += 32) qs[i] = qr[i];
    __syncwarp();
    int last = causal ? p0 + t : p0 + T - 1;
    float m = -INFINITY, l = 0.f;
    float acc[8];
#pragma unroll
    for (int i = 0; i < 8; i++) acc[i] = 0.f;
    for (int c0 = 0; c0 <= last; c0 += 32) {
        int p = c0 + lane;
        float s = -INFINITY;
        if (p <= last) {
            const float* kr = keys + (long long)p * kvd + kvh * hd;
            float d = 0.f;
            if ((hd & 3) == 0) { // 16-byte loads: key rows start at multiples of hd floats
                const float4* k4 = (const float4*)kr;
                const float4* q4 = (const float4*)qs;
                for (int i = 0; i < (hd >> 2); i++) {
                    float4 a = q4[i], b = k4[i];
                    d += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
                }
            } else {
                for (int i = 0; i < hd; i++) d += qs[i] * kr[i];
            }
            s = d * scale;
        }
        float cm = warpMax(s);
        float nm = fmaxf(m, cm);
        float corr = m == -INFINITY ? 0.f : __expf(m - nm);
        float e = p <= last ? __expf(s - nm) : 0.f;
        l = l * corr + warpSum(e);
#pragma unroll
        for (int i = 0; i < 8; i++) acc[i] *= corr;
        int cnt = min(32, last - c0 + 1);
        for (int j = 0; j < cnt; j++) {
            float wj = __shfl_sync(0xffffffffu, e, j);
            const float* vr = vals + (long long)(c0 + j) * kvd + kvh * hd;
#pragma unroll
            for (int i = 0; i < 8; i++)
                if (lane + 32 * i < hd) acc[i] += wj * vr[lane + 32 * i];
        }
        m = nm;
    }
    float inv = 1.f / l;
    float* o = out + (long long)t * qd + h * hd;
#pragma unroll
    for (int i = 0; i < 8; i++)
        if (lane + 32 * i < hd) o[lane + 32 * i] = acc[i] * inv;
}

// silu_mul: g[i] = silu(g[i]) * u[i] (SwiGLU). grid ceil(n/256).
extern "C" __global__ void silu_mul(float* g, const float* u, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = g[i];
    g[i] = v / (1.f + __expf(-v)) * u[i];
}

// scale: v[i] *= s (LLaDA's logit scale). grid ceil(n/256).
extern "C" __global__ void scale(float* v, float s, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) v[i] *= s;
}

// topk_entropy: for each row of logits ([rows][V]), the k most probable ids
// (ties: lower id first, as the CPU engine) with log-probabilities, and the
// entropy in nats; only these leave the device. k <= 32. grid rows, block 256.
#define TK_THREADS 256
#define TK_MAX 32
extern "C" __global__ void topk_entropy(const float* logits, int V, int k, int* ids, float* logp, float* ent) {
    __shared__ float sv[TK_THREADS];
    __shared__ int si[TK_THREADS];
    __shared__ double sd[TK_THREADS];
    __shared__ float cv[TK_MAX];
    __shared__ int ci[TK_MAX];
    int row = blockIdx.x, tid = threadIdx.x;
    const float* lg = logits + (long long)row * V;

    // max
    float mx = -INFINITY;
    for (int i = tid; i < V; i += TK_THREADS) mx = fmaxf(mx, lg[i]);
    sv[tid] = mx;
    __syncthreads();
    for (int s = TK_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) sv[tid] = fmaxf(sv[tid], sv[tid + s]);
        __syncthreads();
    }
    mx = sv[0];
    __syncthreads();
    // sum e^(l-m) and sum e^(l-m)(l-m)
    float ps = 0.f, psl = 0.f;
    for (int i = tid; i < V; i += TK_THREADS) {
        float d = lg[i] - mx;
        float e = expf(d);
        ps += e;
        psl += e * d;
    }
    sd[tid] = ps;
    __syncthreads();
    for (int s = TK_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) sd[tid] += sd[tid + s];
        __syncthreads();
    }
    double S = sd[0];
    __syncthreads();
    sd[tid] = psl;
    __syncthreads();
    for (int s = TK_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) sd[tid] += sd[tid + s];
        __syncthreads();
    }
    double SL = sd[0];
    double lse = log(S);

    // k rounds of a block arg-max, each excluding what earlier rounds took
    // (at most k ids, kept in shared memory).
    for (int r = 0; r < k; r++) {
        float bv = -INFINITY;
        int bi = 0x7fffffff;
        for (int i = tid; i < V; i += TK_THREADS) {
            float v = lg[i];
            if (v > bv || (v == bv && i < bi)) {
                bool taken = false;
                for (int j = 0; j < r; j++) taken |= ci[j] == i;
                if (!taken) { bv = v; bi = i; }
            }
        }
        sv[tid] = bv;
        si[tid] = bi;
        __syncthreads();
        for (int s = TK_THREADS / 2; s > 0; s >>= 1) {
            if (tid < s) {
                float ov = sv[tid + s];
                int oi = si[tid + s];
                if (ov > sv[tid] || (ov == sv[tid] && oi < si[tid])) { sv[tid] = ov; si[tid] = oi; }
            }
            __syncthreads();
        }
        if (tid == 0) { cv[r] = sv[0]; ci[r] = si[0]; }
        __syncthreads();
    }
    if (tid < k) {
        ids[row * k + tid] = ci[tid];
        logp[row * k + tid] = cv[tid] - mx - (float)lse;
    }
    if (tid == 0) {
        double h = lse - SL / S;
        ent[row] = h < 0 ? 0.f : (float)h;
    }
}

// topk_entropy_small is topk_entropy for k <= 8 in one pass over the
// logits: each thread keeps its own best k (ties: lower id first) while it
// sums the softmax, then k rounds of a block arg-max run over the threads'
// candidates in shared memory instead of over the vocabulary. grid rows,
// block 512.
#define TS_THREADS 512
#define TS_K 8
extern "C" __global__ void topk_entropy_small(const float* logits, int V, int k, int* ids, float* logp, float* ent) {
    __shared__ float cand_v[TS_THREADS * TS_K];
    __shared__ int cand_i[TS_THREADS * TS_K];
    __shared__ float rv[TS_THREADS];
    __shared__ int ri[TS_THREADS];
    __shared__ double rd[TS_THREADS];
    __shared__ float outv[TS_K];
    __shared__ int outi[TS_K];
    int row = blockIdx.x, tid = threadIdx.x;
    const float* lg = logits + (long long)row * V;

    // Pass 1: max and the thread's own top k.
    float bv[TS_K];
    int bi[TS_K];
#pragma unroll
    for (int j = 0; j < TS_K; j++) { bv[j] = -INFINITY; bi[j] = 0x7fffffff; }
    float mx = -INFINITY;
    for (int i = tid; i < V; i += TS_THREADS) {
        float v = lg[i];
        mx = fmaxf(mx, v);
        // Keep the best TS_K (the first k are used). i ascends, so strict
        // comparisons keep an earlier id ahead of an equal later value.
        if (v > bv[TS_K - 1]) {
            bv[TS_K - 1] = v;
            bi[TS_K - 1] = i;
#pragma unroll
            for (int j = TS_K - 1; j > 0; j--) {
                if (bv[j] > bv[j - 1]) {
                    float tv = bv[j]; bv[j] = bv[j - 1]; bv[j - 1] = tv;
                    int ti = bi[j]; bi[j] = bi[j - 1]; bi[j - 1] = ti;
                }
            }
        }
    }
    rv[tid] = mx;
    __syncthreads();
    for (int s = TS_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) rv[tid] = fmaxf(rv[tid], rv[tid + s]);
        __syncthreads();
    }
    mx = rv[0];
    // Pass 2: the sums for log-sum-exp and entropy.
    float ps = 0.f, psl = 0.f;
    for (int i = tid; i < V; i += TS_THREADS) {
        float d = lg[i] - mx;
        float e = expf(d);
        ps += e;
        psl += e * d;
    }
    rd[tid] = ps;
    __syncthreads();
    for (int s = TS_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) rd[tid] += rd[tid + s];
        __syncthreads();
    }
    double S = rd[0];
    __syncthreads();
    rd[tid] = psl;
    __syncthreads();
    for (int s = TS_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) rd[tid] += rd[tid + s];
        __syncthreads();
    }
    double SL = rd[0];
    double lse = log(S);

    // Merge: k rounds of arg-max over every thread's candidates.
#pragma unroll
    for (int j = 0; j < TS_K; j++) {
        cand_v[tid * TS_K + j] = bv[j];
        cand_i[tid * TS_K + j] = bi[j];
    }
    __syncthreads();
    for (int r = 0; r < k; r++) {
        float best = -INFINITY;
        int bidx = 0x7fffffff, slot = -1;
        for (int c = tid; c < TS_THREADS * TS_K; c += TS_THREADS) {
            float v = cand_v[c];
            int id = cand_i[c];
            if (v > best || (v == best && id < bidx)) { best = v; bidx = id; slot = c; }
        }
        rv[tid] = best;
        ri[tid] = slot;
        __syncthreads();
        for (int s = TS_THREADS / 2; s > 0; s >>= 1) {
            if (tid < s) {
                int a = ri[tid], b = ri[tid + s];
                float va = rv[tid], vb = rv[tid + s];
                int ia = a < 0 ? 0x7fffffff : cand_i[a], ib = b < 0 ? 0x7fffffff : cand_i[b];
                if (vb > va || (vb == va && ib < ia)) { rv[tid] = vb; ri[tid] = b; }
            }
            __syncthreads();
        }
        if (tid == 0) {
            int slot0 = ri[0];
            outv[r] = rv[0];
            outi[r] = slot0 < 0 ? -1 : cand_i[slot0];
            if (slot0 >= 0) { cand_v[slot0] = -INFINITY; cand_i[slot0] = 0x7fffffff; }
        }
        __syncthreads();
    }
    if (tid < k) {
        ids[row * k + tid] = outi[tid];
        logp[row * k + tid] = outv[tid] - mx - (float)lse;
    }
    if (tid == 0) {
        double h = lse - SL / S;
        ent[row] = h < 0 ? 0.f : (float)h;
    }
}
