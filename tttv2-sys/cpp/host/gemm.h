// tttv2 host GEMM: single-precision C = A*B (+C), row-major with leading dimensions.
// BLIS/GotoBLAS structure: NC/KC/MC cache blocking, packed A and B panels, a 6x16 AVX2+FMA
// micro-kernel (selected at run time with __builtin_cpu_supports) and a portable scalar fallback.
// Multi-threaded with std::thread. Throws only std::invalid_argument for bad arguments.
#pragma once

#include <cstdint>

namespace tttv2::host {

// C[M x N] = A[M x K] * B[K x N]            (accumulate == false)
// C[M x N] = A[M x K] * B[K x N] + C        (accumulate == true)
// Row-major; element (i, j) of A is A[i * lda + j] (lda >= K), of B is B[i * ldb + j] (ldb >= N),
// of C is C[i * ldc + j] (ldc >= N). num_threads == 0 means std::thread::hardware_concurrency().
// K == 0 gives C = 0 (or leaves C unchanged when accumulating). C must not alias A or B.
void sgemm(uint32_t M, uint32_t N, uint32_t K, const float* A, uint32_t lda, const float* B, uint32_t ldb,
           float* C, uint32_t ldc, bool accumulate, unsigned num_threads = 0);

// True when sgemm dispatches to the AVX2+FMA micro-kernel on this machine.
bool sgemm_has_avx2();

namespace detail {
// Test hook: force the portable scalar kernel (true) or restore run-time dispatch (false).
void sgemm_force_scalar(bool force);
// Tuning hook: cache-block sizes (mc % 6 == 0, nc and nc_s % 16 == 0). Takes effect for calls
// that start afterwards.
void sgemm_set_blocking(int mc, int kc, int nc, int kc_s, int nc_s);
void sgemm_reset_blocking();
// The K slice of the small-M path (KC_S): the length of each FMA chain before it is added to C.
// gemv.cc's small-M matmul slices K the same way so that it reproduces sgemm bit for bit.
int sgemm_small_kc();
}  // namespace detail

}  // namespace tttv2::host
