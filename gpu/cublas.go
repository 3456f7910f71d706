//go:build cuda

package gpu

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stdint.h>

// cuBLAS is loaded at run time by soname, so the binary links only
// libcuda.so.1 and runs with whichever cuBLAS the machine has (CUDA 11, 12
// or 13). The entry points used keep their C ABI across those versions;
// enum values are passed as ints.
typedef int (*um_create_t)(void**);
typedef int (*um_destroy_t)(void*);
typedef int (*um_gemmex_t)(void*, int, int, int, int, int, const void*, const void*, int, int,
                            const void*, int, int, const void*, void*, int, int, int, int);
typedef int (*um_sgemm_t)(void*, int, int, int, int, int, const float*, const float*, int,
                          const float*, int, const float*, float*, int);
typedef int (*um_getversion_t)(void*, int*);

typedef struct {
	void* lib;
	um_create_t create;
	um_destroy_t destroy;
	um_gemmex_t gemmex;
	um_sgemm_t sgemm;
	um_getversion_t version;
} um_cublas;

static const char* um_cublas_open(um_cublas* c, const char* soname) {
	c->lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!c->lib) return dlerror();
	c->create = (um_create_t)dlsym(c->lib, "cublasCreate_v2");
	c->destroy = (um_destroy_t)dlsym(c->lib, "cublasDestroy_v2");
	c->gemmex = (um_gemmex_t)dlsym(c->lib, "cublasGemmEx");
	c->sgemm = (um_sgemm_t)dlsym(c->lib, "cublasSgemm_v2");
	c->version = (um_getversion_t)dlsym(c->lib, "cublasGetVersion_v2");
	if (!c->create || !c->destroy || !c->gemmex || !c->sgemm || !c->version) {
		dlclose(c->lib);
		c->lib = 0;
		return "missing cuBLAS entry points";
	}
	return 0;
}

static int um_cublas_create(um_cublas* c, void** h) { return c->create(h); }
static int um_cublas_destroy(um_cublas* c, void* h) { return c->destroy(h); }
static int um_cublas_version(um_cublas* c, void* h, int* v) { return c->version(h, v); }

// Device addresses travel as integers: they are not Go memory.
static int um_gemmex(um_cublas* c, void* h, int ta, int tb, int m, int n, int k, const float* alpha,
                     uintptr_t A, int at, int lda, uintptr_t B, int bt, int ldb, const float* beta,
                     uintptr_t C, int ct, int ldc, int compute, int algo) {
	return c->gemmex(h, ta, tb, m, n, k, alpha, (const void*)A, at, lda, (const void*)B, bt, ldb, beta,
	                 (void*)C, ct, ldc, compute, algo);
}

static int um_sgemm(um_cublas* c, void* h, int ta, int tb, int m, int n, int k, const float* alpha,
                    uintptr_t A, int lda, uintptr_t B, int ldb, const float* beta, uintptr_t C, int ldc) {
	return c->sgemm(h, ta, tb, m, n, k, alpha, (const float*)A, lda, (const float*)B, ldb, beta,
	                (float*)C, ldc);
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// cuBLAS constants (cublas_api.h, library_types.h); stable since CUDA 11.
const (
	cublasOpN         = 0
	cublasOpT         = 1
	cudaR32F          = 0
	cudaR16BF         = 14
	cublasCompute32F  = 68
	cublasGemmDefault = -1
)

// cublasSonames are tried in order: the newest first.
var cublasSonames = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"}

// A cublas is a cuBLAS handle on the current context, loaded with dlopen.
type cublas struct {
	c       *C.um_cublas
	h       unsafe.Pointer
	soname  string
	version int
}

// openCublas loads the first cuBLAS it finds and creates a handle on the
// calling thread's current context (cuBLAS adopts the driver context).
func openCublas() (*cublas, error) {
	c := (*C.um_cublas)(C.calloc(1, C.size_t(unsafe.Sizeof(C.um_cublas{}))))
	var errs []string
	for _, so := range cublasSonames {
		cs := C.CString(so)
		msg := C.um_cublas_open(c, cs)
		C.free(unsafe.Pointer(cs))
		if msg != nil {
			errs = append(errs, C.GoString(msg))
			continue
		}
		b := &cublas{c: c, soname: so}
		if st := C.um_cublas_create(c, &b.h); st != 0 {
			C.free(unsafe.Pointer(c))
			return nil, fmt.Errorf("gpu: %s: cublasCreate status %d", so, int(st))
		}
		var v C.int
		if C.um_cublas_version(c, b.h, &v) == 0 {
			b.version = int(v)
		}
		return b, nil
	}
	C.free(unsafe.Pointer(c))
	return nil, fmt.Errorf("gpu: no cuBLAS library: %s", strings.Join(errs, "; "))
}

func (b *cublas) close() {
	if b.h != nil {
		C.um_cublas_destroy(b.c, b.h)
		b.h = nil
	}
	C.free(unsafe.Pointer(b.c))
}

// gemm computes, in row-major terms, y[T][N] = x[T][K] W[N][K]^T (+ y when
// beta is 1). cuBLAS is column-major: y^T = W^T' x^T, i.e. op(A)=A^T with A
// the weights seen as a K x N column-major matrix.
func (b *cublas) gemm(y, x, w uintptr, bf16 bool, T, N, K int, beta float32) error {
	alpha := float32(1)
	var st C.int
	if bf16 {
		st = C.um_gemmex(b.c, b.h, cublasOpT, cublasOpN, C.int(N), C.int(T), C.int(K),
			(*C.float)(unsafe.Pointer(&alpha)),
			C.uintptr_t(w), cudaR16BF, C.int(K),
			C.uintptr_t(x), cudaR16BF, C.int(K),
			(*C.float)(unsafe.Pointer(&beta)),
			C.uintptr_t(y), cudaR32F, C.int(N), cublasCompute32F, cublasGemmDefault)
	} else {
		st = C.um_sgemm(b.c, b.h, cublasOpT, cublasOpN, C.int(N), C.int(T), C.int(K),
			(*C.float)(unsafe.Pointer(&alpha)),
			C.uintptr_t(w), C.int(K),
			C.uintptr_t(x), C.int(K),
			(*C.float)(unsafe.Pointer(&beta)),
			C.uintptr_t(y), C.int(N))
	}
	if st != 0 {
		return fmt.Errorf("gpu: cuBLAS gemm %dx%dx%d: status %d", T, N, K, int(st))
	}
	return nil
}
