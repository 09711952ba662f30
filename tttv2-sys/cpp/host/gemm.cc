// Cache-blocked, packed, multi-threaded SGEMM (GotoBLAS / BLIS algorithm: Goto & van de Geijn,
// "Anatomy of High-Performance Matrix Multiplication", ACM TOMS 2008; Van Zee & van de Geijn,
// "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", ACM TOMS 2015).
//
// Loop nest per thread (each thread owns a slice of N, or of M when N is narrow):
//   jc (NC columns of B/C)  ->  pc (KC of K, pack B block KCxNC into NR-wide panels)
//   -> ic (MC rows, pack A block MCxKC into MR-tall panels)
//   -> jr (NR) -> ir (MR) -> micro-kernel MR x NR over KC.
// The AVX2+FMA code lives in functions with __attribute__((target("avx2,fma"))) and is chosen at
// run time, so the translation unit must be compiled WITHOUT -march=native / -mavx2.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TTTV2_X86 1
#else
#define TTTV2_X86 0
#endif

namespace tttv2::host {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// Blocking for a Zen3-class core (32 KiB L1d, 512 KiB L2, shared L3). KC x NR B micro-panel
// (16 KiB) stays in L1, the MC x KC A block (~200 KiB) in L2, the KC x NC B block in L3.
// Small-M path (a thread's rows fit one MC block, e.g. decode-style M = 32): the A slice
// (all rows x KC_S) is packed once per K slice and B is streamed through KC_S x NC_S blocks
// packed row by row, so the source rows of B are read as long contiguous runs.
struct Blocking {
  int mc, kc, nc, kc_s, nc_s;
};
constexpr Blocking kDefaultBlocking{198, 256, 3072, 128, 1024};
std::atomic<int> g_mc{kDefaultBlocking.mc}, g_kc{kDefaultBlocking.kc}, g_nc{kDefaultBlocking.nc},
    g_kc_s{kDefaultBlocking.kc_s}, g_nc_s{kDefaultBlocking.nc_s};

std::atomic<bool> g_force_scalar{false};

// ---------------------------------------------------------------------------------------------
// Aligned scratch buffers
// ---------------------------------------------------------------------------------------------
struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buf = std::unique_ptr<float, AlignedFree>;

// Packing buffers are recycled across calls (a few MiB at most) so that large calls do not pay
// for fresh zero pages every time.
struct Scratch {
  Buf a, b;
  size_t a_n = 0, b_n = 0;
};

Buf alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return Buf(static_cast<float*>(p));
}

std::mutex g_scratch_mu;
std::vector<Scratch> g_scratch_pool;  // guarded by g_scratch_mu
constexpr size_t kMaxPooled = 8;

Scratch get_scratch(size_t a_n, size_t b_n) {
  Scratch s;
  {
    std::lock_guard<std::mutex> lk(g_scratch_mu);
    if (!g_scratch_pool.empty()) {
      s = std::move(g_scratch_pool.back());
      g_scratch_pool.pop_back();
    }
  }
  if (s.a_n < a_n) {
    s.a.reset();
    s.a = alloc_floats(a_n);
    s.a_n = a_n;
  }
  if (s.b_n < b_n) {
    s.b.reset();
    s.b = alloc_floats(b_n);
    s.b_n = b_n;
  }
  return s;
}

void put_scratch(Scratch&& s) {
  std::lock_guard<std::mutex> lk(g_scratch_mu);
  if (g_scratch_pool.size() < kMaxPooled) g_scratch_pool.push_back(std::move(s));
}

// ---------------------------------------------------------------------------------------------
// Packing (portable; the compiler vectorises the copies)
// ---------------------------------------------------------------------------------------------
// A block (mc x kc, row-major with lda) -> panels of MR rows: panel p holds, for each k,
// MR consecutive values A[p*MR + i][k]; rows past mc are zero.
void pack_A(int mc, int kc, const float* A, size_t lda, float* dst) {
  for (int p = 0; p < mc; p += MR) {
    const int mr = std::min(MR, mc - p);
    const float* a = A + static_cast<size_t>(p) * lda;
    if (mr == MR) {
      const float* r0 = a;
      const float* r1 = a + lda;
      const float* r2 = a + 2 * lda;
      const float* r3 = a + 3 * lda;
      const float* r4 = a + 4 * lda;
      const float* r5 = a + 5 * lda;
      for (int k = 0; k < kc; ++k) {
        dst[0] = r0[k];
        dst[1] = r1[k];
        dst[2] = r2[k];
        dst[3] = r3[k];
        dst[4] = r4[k];
        dst[5] = r5[k];
        dst += MR;
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        int i = 0;
        for (; i < mr; ++i) dst[i] = a[i * lda + k];
        for (; i < MR; ++i) dst[i] = 0.0f;
        dst += MR;
      }
    }
  }
}

// B block (kc x nc, row-major with ldb) -> panels of NR columns: panel p holds, for each k,
// NR consecutive values B[k][p*NR + j]; columns past nc are zero.
void pack_B(int kc, int nc, const float* B, size_t ldb, float* dst) {
  // Full panels: walk B row by row (long contiguous reads for the hardware prefetcher).
  const int full = nc / NR * NR;
  if (full > 0) {
    const size_t panel_stride = static_cast<size_t>(kc) * NR;
    for (int k = 0; k < kc; ++k) {
      const float* brow = B + k * ldb;
      float* d = dst + static_cast<size_t>(k) * NR;
      for (int p = 0; p < full; p += NR) {
        std::memcpy(d, brow + p, NR * sizeof(float));
        d += panel_stride;
      }
    }
  }
  dst += static_cast<size_t>(full) * kc;
  for (int p = full; p < nc; p += NR) {
    const int nr = std::min(NR, nc - p);
    const float* b = B + p;
    if (nr == NR) {
      for (int k = 0; k < kc; ++k) {
        std::memcpy(dst, b + k * ldb, NR * sizeof(float));
        dst += NR;
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        int j = 0;
        for (; j < nr; ++j) dst[j] = b[k * ldb + j];
        for (; j < NR; ++j) dst[j] = 0.0f;
        dst += NR;
      }
    }
  }
}

// Write an MR x NR accumulator tile (row-major, stride NR) into C (partial tiles allowed).
inline void store_tile(const float* acc, float* C, size_t ldc, bool beta, int mr, int nr) {
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* t = acc + i * NR;
    if (beta) {
      for (int j = 0; j < nr; ++j) c[j] += t[j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = t[j];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels: C[mr x nr] (=|+=) Apanel(MR x kc) * Bpanel(kc x NR)
// ---------------------------------------------------------------------------------------------
using KernelFn = void (*)(int kc, const float* a, const float* b, float* C, size_t ldc, bool beta, int mr,
                          int nr);

void kernel_scalar(int kc, const float* a, const float* b, float* C, size_t ldc, bool beta, int mr, int nr) {
  float acc[MR * NR];
  for (int i = 0; i < MR * NR; ++i) acc[i] = 0.0f;
  for (int k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      float* row = acc + i * NR;
      for (int j = 0; j < NR; ++j) row[j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  store_tile(acc, C, ldc, beta, mr, nr);
}

#if TTTV2_X86
__attribute__((target("avx2,fma"))) void kernel_avx2(int kc, const float* a, const float* b, float* C, size_t ldc,
                                                     bool beta, int mr, int nr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

  // Prefetch the C tile we will update.
  for (int i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + 15), _MM_HINT_T0);
  }

#define TTTV2_STEP(off_a, off_b)                                   \
  do {                                                             \
    const __m256 b0 = _mm256_load_ps(b + (off_b));                 \
    const __m256 b1 = _mm256_load_ps(b + (off_b) + 8);             \
    __m256 av = _mm256_broadcast_ss(a + (off_a) + 0);              \
    c00 = _mm256_fmadd_ps(av, b0, c00);                            \
    c01 = _mm256_fmadd_ps(av, b1, c01);                            \
    av = _mm256_broadcast_ss(a + (off_a) + 1);                     \
    c10 = _mm256_fmadd_ps(av, b0, c10);                            \
    c11 = _mm256_fmadd_ps(av, b1, c11);                            \
    av = _mm256_broadcast_ss(a + (off_a) + 2);                     \
    c20 = _mm256_fmadd_ps(av, b0, c20);                            \
    c21 = _mm256_fmadd_ps(av, b1, c21);                            \
    av = _mm256_broadcast_ss(a + (off_a) + 3);                     \
    c30 = _mm256_fmadd_ps(av, b0, c30);                            \
    c31 = _mm256_fmadd_ps(av, b1, c31);                            \
    av = _mm256_broadcast_ss(a + (off_a) + 4);                     \
    c40 = _mm256_fmadd_ps(av, b0, c40);                            \
    c41 = _mm256_fmadd_ps(av, b1, c41);                            \
    av = _mm256_broadcast_ss(a + (off_a) + 5);                     \
    c50 = _mm256_fmadd_ps(av, b0, c50);                            \
    c51 = _mm256_fmadd_ps(av, b1, c51);                            \
  } while (0)

  int k = 0;
  for (; k + 4 <= kc; k += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NR + 16), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NR + 32), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NR + 48), _MM_HINT_T0);
    TTTV2_STEP(0, 0);
    TTTV2_STEP(MR, NR);
    TTTV2_STEP(2 * MR, 2 * NR);
    TTTV2_STEP(3 * MR, 3 * NR);
    a += 4 * MR;
    b += 4 * NR;
  }
  for (; k < kc; ++k) {
    TTTV2_STEP(0, 0);
    a += MR;
    b += NR;
  }
#undef TTTV2_STEP

  if (mr == MR && nr == NR) {
#define TTTV2_ROW(i, x0, x1)                                                     \
  do {                                                                           \
    float* cr = C + (i) * ldc;                                                   \
    if (beta) {                                                                  \
      x0 = _mm256_add_ps(x0, _mm256_loadu_ps(cr));                               \
      x1 = _mm256_add_ps(x1, _mm256_loadu_ps(cr + 8));                           \
    }                                                                            \
    _mm256_storeu_ps(cr, x0);                                                    \
    _mm256_storeu_ps(cr + 8, x1);                                                \
  } while (0)
    TTTV2_ROW(0, c00, c01);
    TTTV2_ROW(1, c10, c11);
    TTTV2_ROW(2, c20, c21);
    TTTV2_ROW(3, c30, c31);
    TTTV2_ROW(4, c40, c41);
    TTTV2_ROW(5, c50, c51);
#undef TTTV2_ROW
  } else {
    alignas(32) float acc[MR * NR];
    _mm256_store_ps(acc + 0 * NR, c00);
    _mm256_store_ps(acc + 0 * NR + 8, c01);
    _mm256_store_ps(acc + 1 * NR, c10);
    _mm256_store_ps(acc + 1 * NR + 8, c11);
    _mm256_store_ps(acc + 2 * NR, c20);
    _mm256_store_ps(acc + 2 * NR + 8, c21);
    _mm256_store_ps(acc + 3 * NR, c30);
    _mm256_store_ps(acc + 3 * NR + 8, c31);
    _mm256_store_ps(acc + 4 * NR, c40);
    _mm256_store_ps(acc + 4 * NR + 8, c41);
    _mm256_store_ps(acc + 5 * NR, c50);
    _mm256_store_ps(acc + 5 * NR + 8, c51);
    store_tile(acc, C, ldc, beta, mr, nr);
  }
}

// R-row variant (R < MR) for the bottom edge of M, so short panels do not pay for 6 rows.
template <int R>
__attribute__((target("avx2,fma"))) void kernel_avx2_rows(int kc, const float* a, const float* b, float* C,
                                                          size_t ldc, bool beta, int mr, int nr) {
  __m256 x0[R], x1[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    x0[r] = _mm256_setzero_ps();
    x1[r] = _mm256_setzero_ps();
  }
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      x0[r] = _mm256_fmadd_ps(av, b0, x0[r]);
      x1[r] = _mm256_fmadd_ps(av, b1, x1[r]);
    }
    a += MR;
    b += NR;
  }
  alignas(32) float acc[MR * NR];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(acc + r * NR, x0[r]);
    _mm256_store_ps(acc + r * NR + 8, x1[r]);
  }
  store_tile(acc, C, ldc, beta, mr < R ? mr : R, nr);
}

void kernel_avx2_dispatch(int kc, const float* a, const float* b, float* C, size_t ldc, bool beta, int mr,
                          int nr) {
  switch (mr) {
    case 1: kernel_avx2_rows<1>(kc, a, b, C, ldc, beta, mr, nr); break;
    case 2: kernel_avx2_rows<2>(kc, a, b, C, ldc, beta, mr, nr); break;
    case 3: kernel_avx2_rows<3>(kc, a, b, C, ldc, beta, mr, nr); break;
    case 4: kernel_avx2_rows<4>(kc, a, b, C, ldc, beta, mr, nr); break;
    case 5: kernel_avx2_rows<5>(kc, a, b, C, ldc, beta, mr, nr); break;
    default: kernel_avx2(kc, a, b, C, ldc, beta, mr, nr); break;
  }
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool cpu_has_avx2_fma() { return false; }
#endif

KernelFn select_kernel() {
#if TTTV2_X86
  static const bool has = cpu_has_avx2_fma();
  if (has && !g_force_scalar.load(std::memory_order_relaxed)) return kernel_avx2_dispatch;
#endif
  return kernel_scalar;
}

// ---------------------------------------------------------------------------------------------
// Blocked driver for one thread's sub-problem.
// ---------------------------------------------------------------------------------------------
struct Problem {
  uint32_t M, N, K;
  const float* A;
  size_t lda;
  const float* B;
  size_t ldb;
  float* C;
  size_t ldc;
  bool accumulate;
  KernelFn kernel;
  Blocking blk;
};

void zero_or_keep(const Problem& p, uint32_t m0, uint32_t m1, uint32_t n0, uint32_t n1) {
  if (p.accumulate) return;
  for (uint32_t i = m0; i < m1; ++i) std::memset(p.C + i * p.ldc + n0, 0, (n1 - n0) * sizeof(float));
}

void gemm_block(const Problem& p, uint32_t m0, uint32_t m1, uint32_t n0, uint32_t n1, float* bufA, float* bufB) {
  if (m0 >= m1 || n0 >= n1) return;
  const int MC = p.blk.mc, KC = p.blk.kc, NC = p.blk.nc, KC_S = p.blk.kc_s, NC_S = p.blk.nc_s;
  if (p.K == 0) {
    zero_or_keep(p, m0, m1, n0, n1);
    return;
  }
  if (m1 - m0 <= static_cast<uint32_t>(MC)) {
    // Small M: A slice (all rows x KC_S) packed once, B streamed through an L2-sized buffer.
    const int mc = static_cast<int>(m1 - m0);
    for (uint32_t pc = 0; pc < p.K; pc += static_cast<uint32_t>(KC_S)) {
      const int kc = static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(KC_S), p.K - pc));
      const bool beta = p.accumulate || pc != 0;
      pack_A(mc, kc, p.A + m0 * p.lda + pc, p.lda, bufA);
      for (uint32_t jc = n0; jc < n1; jc += static_cast<uint32_t>(NC_S)) {
        const int nc = static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(NC_S), n1 - jc));
        pack_B(kc, nc, p.B + pc * p.ldb + jc, p.ldb, bufB);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          const float* bp = bufB + static_cast<size_t>(jr) * kc;
          float* cbase = p.C + m0 * p.ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            p.kernel(kc, bufA + static_cast<size_t>(ir) * kc, bp, cbase + ir * p.ldc, p.ldc, beta, mr, nr);
          }
        }
      }
    }
    return;
  }
  for (uint32_t jc = n0; jc < n1; jc += static_cast<uint32_t>(NC)) {
    const int nc = static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(NC), n1 - jc));
    for (uint32_t pc = 0; pc < p.K; pc += static_cast<uint32_t>(KC)) {
      const int kc = static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(KC), p.K - pc));
      const bool beta = p.accumulate || pc != 0;
      pack_B(kc, nc, p.B + pc * p.ldb + jc, p.ldb, bufB);
      for (uint32_t ic = m0; ic < m1; ic += static_cast<uint32_t>(MC)) {
        const int mc = static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(MC), m1 - ic));
        pack_A(mc, kc, p.A + ic * p.lda + pc, p.lda, bufA);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          const float* bp = bufB + static_cast<size_t>(jr) * kc;
          float* cbase = p.C + ic * p.ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            p.kernel(kc, bufA + static_cast<size_t>(ir) * kc, bp, cbase + ir * p.ldc, p.ldc, beta, mr, nr);
          }
        }
      }
    }
  }
}

size_t bufA_floats(const Blocking& b, uint32_t rows) {
  const size_t mc = std::min<size_t>(b.mc, (rows + MR - 1) / MR * MR);
  return mc * std::max(b.kc, b.kc_s);
}
size_t bufB_floats(const Blocking& b, uint32_t cols) {
  const size_t nc = std::min<size_t>(std::max(b.nc, b.nc_s), (cols + NR - 1) / NR * NR);
  return nc * std::max(b.kc, b.kc_s);
}

}  // namespace

bool sgemm_has_avx2() { return select_kernel() != kernel_scalar; }

namespace detail {
void sgemm_force_scalar(bool force) { g_force_scalar.store(force, std::memory_order_relaxed); }
void sgemm_set_blocking(int mc, int kc, int nc, int kc_s, int nc_s) {
  if (mc <= 0 || kc <= 0 || nc <= 0 || kc_s <= 0 || nc_s <= 0 || mc % MR != 0 || nc % NR != 0 || nc_s % NR != 0) {
    throw std::invalid_argument("sgemm_set_blocking: sizes must be positive, mc % 6 == 0, nc % 16 == 0");
  }
  g_mc = mc;
  g_kc = kc;
  g_nc = nc;
  g_kc_s = kc_s;
  g_nc_s = nc_s;
}
int sgemm_small_kc() { return g_kc_s.load(); }
void sgemm_reset_blocking() {
  sgemm_set_blocking(kDefaultBlocking.mc, kDefaultBlocking.kc, kDefaultBlocking.nc, kDefaultBlocking.kc_s,
                     kDefaultBlocking.nc_s);
}
}  // namespace detail

namespace {
void sgemm_impl(uint32_t M, uint32_t N, uint32_t K, const float* A, uint32_t lda, const float* B, uint32_t ldb,
                float* C, uint32_t ldc, bool accumulate, unsigned num_threads) {
  if (M == 0 || N == 0) return;
  if (C == nullptr) throw std::invalid_argument("sgemm: C is null");
  if (ldc < N) throw std::invalid_argument("sgemm: ldc < N");
  if (K != 0) {
    if (A == nullptr || B == nullptr) throw std::invalid_argument("sgemm: A or B is null");
    if (lda < K) throw std::invalid_argument("sgemm: lda < K");
    if (ldb < N) throw std::invalid_argument("sgemm: ldb < N");
  }
  Problem p{M, N, K, A, lda, B, ldb, C, ldc, accumulate, select_kernel(),
            Blocking{g_mc.load(), g_kc.load(), g_nc.load(), g_kc_s.load(), g_nc_s.load()}};

  unsigned nt = num_threads != 0 ? num_threads : std::thread::hardware_concurrency();
  if (nt == 0) nt = 1;
  // Keep small problems single-threaded (thread start-up ~tens of microseconds).
  const double flops = 2.0 * M * N * static_cast<double>(K);
  const unsigned max_useful = static_cast<unsigned>(std::max(1.0, flops / 4.0e6));
  nt = std::min(nt, max_useful);
  nt = std::min(nt, 64u);

  // Partition: split N (in NR multiples) when it is wide enough, else split M (in MR multiples).
  const uint32_t n_panels = (N + NR - 1) / NR;
  const uint32_t m_panels = (M + MR - 1) / MR;
  const bool split_n = n_panels >= 4 * nt || n_panels >= m_panels;
  const uint32_t units = split_n ? n_panels : m_panels;
  nt = std::min<unsigned>(nt, std::max<uint32_t>(1, units));

  struct Range {
    uint32_t m0, m1, n0, n1;
  };
  std::vector<Range> ranges;
  for (unsigned t = 0; t < nt; ++t) {
    const uint32_t u0 = static_cast<uint32_t>(static_cast<uint64_t>(units) * t / nt);
    const uint32_t u1 = static_cast<uint32_t>(static_cast<uint64_t>(units) * (t + 1) / nt);
    if (split_n) {
      ranges.push_back({0, M, std::min(N, u0 * NR), std::min(N, u1 * NR)});
    } else {
      ranges.push_back({std::min(M, u0 * MR), std::min(M, u1 * MR), 0, N});
    }
  }

  auto run = [&p](const Range& r) {
    Scratch s = get_scratch(bufA_floats(p.blk, r.m1 - r.m0), bufB_floats(p.blk, r.n1 - r.n0));
    gemm_block(p, r.m0, r.m1, r.n0, r.n1, s.a.get(), s.b.get());
    put_scratch(std::move(s));
  };

  if (ranges.size() == 1) {
    run(ranges[0]);
    return;
  }
  // Worker threads; ranges whose thread cannot be started run on the calling thread.
  // Exceptions inside workers (only bad_alloc is possible) are captured and rethrown here.
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(ranges.size());
  std::vector<size_t> local{0};
  for (size_t t = 1; t < ranges.size(); ++t) {
    try {
      threads.emplace_back([&, t] {
        try {
          run(ranges[t]);
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    } catch (...) {
      local.push_back(t);
    }
  }
  for (size_t t : local) {
    try {
      run(ranges[t]);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  }
  for (auto& th : threads) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

void sgemm(uint32_t M, uint32_t N, uint32_t K, const float* A, uint32_t lda, const float* B, uint32_t ldb,
           float* C, uint32_t ldc, bool accumulate, unsigned num_threads) {
  try {
    sgemm_impl(M, N, K, A, lda, B, ldb, C, ldc, accumulate, num_threads);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("sgemm: out of memory for packing buffers");
  }
}

}  // namespace tttv2::host
