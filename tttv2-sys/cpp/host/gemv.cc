// Matmul against a prepared (compact, slab-major) right operand. See gemv.h.
//
// Work items are (slab, row block) pairs: 128 columns x at most kRowBlockGroups * 6 rows, so the
// item's dest and L1 partial (rows x 128 f32) stay in L1/L2 whatever M is. Loop nest per item:
//   in0 block (K blocking of the program config) -> K step (16 or the block) -> 128-deep slice
//   -> row group (R <= 6 rows) -> panel group (P 16-column panels) -> micro-kernel over the slice.
// Per K step the weight's 16 x 128 block is loaded once and reused from L1 by every row group of
// the row block. With one row block (decode, M <= 32) each thread owns a contiguous run of slabs
// and reads its part of the weight front to back once per call; with several (prefill) the items
// are handed out dynamically, slab-major.
// Like gemm.cc, the AVX2 code is in target("avx2,fma") functions chosen at run time.
#include "gemv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <thread>

#include "gemm.h"
#include "numerics.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TTTV2_X86 1
#else
#define TTTV2_X86 0
#endif

namespace tttv2::host {

namespace {

inline uint32_t f2u(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float u2f(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// Position of column c (0..15) of a group inside the stored group (bf16 storage); the permutation
// swaps the middle two quads and is its own inverse.
inline uint32_t perm16(uint32_t c) { return (c >= 4 && c < 12) ? (c ^ 12) : c; }

}  // namespace

PackedB pack_b(uint32_t K, uint32_t N, const std::function<void(uint32_t, float*)>& row) {
  PackedB p;
  p.K = K;
  p.N = N;
  p.slabs = (N + kSlabCols - 1) / kSlabCols;
  if (K == 0 || N == 0) return p;
  size_t total = 0;
  for (uint32_t s = 0; s < p.slabs; ++s) total += size_t(K) * p.width(s);
  std::vector<float> r(N);
  try {
    // Pass 1 (bf16 storage, optimistic): every value must have zero low 16 bits.
    p.bf16 = true;
    p.h.assign(total, 0);
    for (uint32_t k = 0; k < K && p.bf16; ++k) {
      row(k, r.data());
      for (uint32_t s = 0; s < p.slabs; ++s) {
        const uint32_t c0 = s * kSlabCols, w = p.width(s), cn = std::min(N - c0, kSlabCols);
        uint16_t* dst = &p.h[size_t(s) * K * kSlabCols + size_t(k) * w];
        for (uint32_t c = 0; c < cn; ++c) {
          const uint32_t u = f2u(r[c0 + c]);
          if (u & 0xFFFFu) {
            p.bf16 = false;
            break;
          }
          dst[(c & ~15u) + perm16(c & 15u)] = uint16_t(u >> 16);
        }
        if (!p.bf16) break;
      }
    }
    if (p.bf16) return p;
    // Pass 2: f32 storage, natural column order.
    p.h.clear();
    p.h.shrink_to_fit();
    p.f.assign(total, 0.0f);
    for (uint32_t k = 0; k < K; ++k) {
      row(k, r.data());
      for (uint32_t s = 0; s < p.slabs; ++s) {
        const uint32_t c0 = s * kSlabCols, w = p.width(s), cn = std::min(N - c0, kSlabCols);
        std::memcpy(&p.f[size_t(s) * K * kSlabCols + size_t(k) * w], &r[c0], cn * sizeof(float));
      }
    }
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("pack_b: out of memory for the prepared weight");
  }
  return p;
}

namespace {
void round_bf16_fast(float* p, size_t n);
}  // namespace

void round_groups(float* p, size_t groups, BlockFmt fmt) {
  switch (fmt) {
    case BlockFmt::F32: return;
    case BlockFmt::BF16: round_bf16_fast(p, groups * 16); return;
    case BlockFmt::BFP8:
    case BlockFmt::BFP4: break;
  }
  // A tile is 64 face rows of 16 values, stored face after face, row after row (numerics.h), so
  // 64 consecutive groups form one tile and each gets its own shared exponent.
  constexpr size_t kGroupsPerTile = kTileElems / 16;
  const size_t full = groups / kGroupsPerTile;
  if (full) {
    if (fmt == BlockFmt::BFP8) quantize_bfp8_b_inplace(p, full);
    else quantize_bfp4_b_inplace(p, full);
  }
  const size_t rest = groups - full * kGroupsPerTile;
  if (rest) {
    float tile[kTileElems] = {};
    float* q = p + full * kTileElems;
    std::memcpy(tile, q, rest * 16 * sizeof(float));
    if (fmt == BlockFmt::BFP8) quantize_bfp8_b_inplace(tile, 1);
    else quantize_bfp4_b_inplace(tile, 1);
    std::memcpy(q, tile, rest * 16 * sizeof(float));
  }
}

namespace {

// One micro-kernel call: for R rows and P 16-column panels, for each sub-step of `sub` values of
// K in [0, kc) (the last one may be shorter):
//   acc = sum over the sub-step of a[r][k] * w[k][col]   (one FMA chain per output, from zero,
//         k ascending)
//   d[p][r][:] += acc, then rounded to bf16 if round == kRoundEach, or round == kRoundLast and it
//   is the last sub-step.
// Bf16 dest (sub = 16, kRoundEach) thus runs a whole in0 block per call with the dest tile hot in
// L1 (one call per 16-deep step would pay the call and the dest reload per 16 values of K).
// a: the row group's packed activations at k0, value (k, r) at a[k * R + r] (packed per call so
// that the rows, K floats apart in the tensor, do not all fall into the same L1 set); w: the slab
// at row k0 (bf16 bits or f32), row stride ldw; d: the slab's dest laid out [panel][row][16],
// panel stride dps.
enum RoundMode : int { kRoundNone = 0, kRoundEach = 1, kRoundLast = 2 };
struct KArgs {
  int kc;
  int sub;
  const float* a;
  const void* w;
  size_t ldw;
  float* d;
  size_t dps;
  int round;  // RoundMode
  uint32_t mask;
};
using KernelFn = void (*)(const KArgs&);

// Portable kernel: the same per-output operations as gemm.cc's kernel_scalar (multiply, add).
template <int R, int P, bool U16, bool MASK>
void kern_scalar(const KArgs& g) {
  for (int k0 = 0; k0 < g.kc; k0 += g.sub) {
  const int k1 = std::min(g.kc, k0 + g.sub);
  const bool rnd = g.round == kRoundEach || (g.round == kRoundLast && k1 == g.kc);
  float acc[R][P * 16] = {};
  for (int k = k0; k < k1; ++k) {
    float wv[P * 16];
    for (int c = 0; c < P * 16; ++c) {
      uint32_t u;
      if (U16) u = uint32_t(static_cast<const uint16_t*>(g.w)[size_t(k) * g.ldw + (c & ~15) + perm16(c & 15)]) << 16;
      else u = f2u(static_cast<const float*>(g.w)[size_t(k) * g.ldw + c]);
      if (MASK) u &= g.mask;
      wv[c] = u2f(u);
    }
    for (int r = 0; r < R; ++r) {
      const float ar = g.a[k * R + r];
      for (int c = 0; c < P * 16; ++c) acc[r][c] += ar * wv[c];
    }
  }
  for (int p = 0; p < P; ++p)
    for (int r = 0; r < R; ++r) {
      float* d = g.d + p * g.dps + r * 16;
      for (int c = 0; c < 16; ++c) {
        d[c] += acc[r][p * 16 + c];
        if (rnd) d[c] = round_to_bf16(d[c]);
      }
    }
  }
}

#if TTTV2_X86
// bf16 round-to-nearest-even of 8 floats, exactly numerics.cc's f32_to_bf16_bits (+ widening):
// add 0x7FFF plus the kept LSB, clear the low half; every NaN becomes 0x7FC00000.
__attribute__((target("avx2,fma"))) inline __m256 rne_bf16(__m256 x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i t = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb));
  t = _mm256_and_si256(t, _mm256_set1_epi32(int(0xFFFF0000u)));
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
  return _mm256_castsi256_ps(_mm256_blendv_epi8(t, _mm256_set1_epi32(0x7FC00000), nan));
}

__attribute__((target("avx2,fma"))) void round_bf16_avx2(float* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, rne_bf16(_mm256_loadu_ps(p + i)));
  for (; i < n; ++i) p[i] = round_to_bf16(p[i]);
}

template <int R, int P, bool U16, bool MASK>
__attribute__((target("avx2,fma"))) void kern_avx2(const KArgs& g) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(int(g.mask)));
  const float* a = g.a;
  for (int k0 = 0; k0 < g.kc; k0 += g.sub) {
    const int k1 = std::min(g.kc, k0 + g.sub);
    __m256 acc[R][P][2];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) acc[r][p][0] = acc[r][p][1] = _mm256_setzero_ps();
    for (int k = k0; k < k1; ++k) {
      __m256 w[P][2];
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        if (U16) {
          const __m256i v =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(g.w) + size_t(k) * g.ldw + p * 16));
          w[p][0] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v));
          w[p][1] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v));
        } else {
          const float* f = static_cast<const float*>(g.w) + size_t(k) * g.ldw + p * 16;
          w[p][0] = _mm256_loadu_ps(f);
          w[p][1] = _mm256_loadu_ps(f + 8);
        }
        if (MASK) {
          w[p][0] = _mm256_and_ps(w[p][0], mask);
          w[p][1] = _mm256_and_ps(w[p][1], mask);
        }
      }
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + k * R + r);
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          acc[r][p][0] = _mm256_fmadd_ps(av, w[p][0], acc[r][p][0]);
          acc[r][p][1] = _mm256_fmadd_ps(av, w[p][1], acc[r][p][1]);
        }
      }
    }
    // dest += acc, then (bf16 dest) round; the accumulators are dead once added, so the rounding
    // constants have registers to spare.
    const bool rnd = g.round == kRoundEach || (g.round == kRoundLast && k1 == g.kc);
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        float* d = g.d + p * g.dps + r * 16;
        __m256 lo = _mm256_add_ps(acc[r][p][0], _mm256_loadu_ps(d));
        __m256 hi = _mm256_add_ps(acc[r][p][1], _mm256_loadu_ps(d + 8));
        if (rnd) {
          lo = rne_bf16(lo);
          hi = rne_bf16(hi);
        }
        _mm256_storeu_ps(d, lo);
        _mm256_storeu_ps(d + 8, hi);
      }
  }
}
#endif

// bf16 rounding of the partials (identical results on both branches; the scalar one is
// numerics.cc's).
void round_bf16_fast(float* p, size_t n) {
#if TTTV2_X86
  static const bool avx2 = sgemm_has_avx2();
  if (avx2) {
    round_bf16_avx2(p, n);
    return;
  }
#endif
  round_to_bf16_inplace(p, n);
}

// Panels per micro-kernel call for R rows: enough independent FMA chains (>= 8 vectors) to hide
// the FMA latency, at most 12 accumulators (16 ymm registers).
constexpr int panels_for(int R) { return R == 1 ? 4 : (R <= 3 ? 2 : 1); }

struct Kernels {
  KernelFn k[7][2][2][2];  // [rows][wide(P>1)? ][u16][mask]
};

template <int R, bool WIDE, bool U16, bool MASK>
KernelFn pick(bool avx2) {
  constexpr int P = WIDE ? panels_for(R) : 1;
#if TTTV2_X86
  if (avx2) return kern_avx2<R, P, U16, MASK>;
#else
  (void)avx2;
#endif
  return kern_scalar<R, P, U16, MASK>;
}

template <int R>
void fill_row(Kernels& t, bool avx2) {
  t.k[R][0][0][0] = pick<R, false, false, false>(avx2);
  t.k[R][0][0][1] = pick<R, false, false, true>(avx2);
  t.k[R][0][1][0] = pick<R, false, true, false>(avx2);
  t.k[R][0][1][1] = pick<R, false, true, true>(avx2);
  t.k[R][1][0][0] = pick<R, true, false, false>(avx2);
  t.k[R][1][0][1] = pick<R, true, false, true>(avx2);
  t.k[R][1][1][0] = pick<R, true, true, false>(avx2);
  t.k[R][1][1][1] = pick<R, true, true, true>(avx2);
}

Kernels make_kernels(bool avx2) {
  Kernels t{};
  fill_row<1>(t, avx2);
  fill_row<2>(t, avx2);
  fill_row<3>(t, avx2);
  fill_row<4>(t, avx2);
  fill_row<5>(t, avx2);
  fill_row<6>(t, avx2);
  return t;
}

struct Job {
  uint32_t M, K, N;
  uint32_t rb;  // rows per row block (a multiple of 6 unless it is M)
  const float* a1;  // packed: row group g (rows 6g.., R_g of them) at g * 6 * K, (k, r) at k * R_g + r
  const float* a2;
  const PackedB* b1;
  const PackedB* b2;
  uint32_t b2_mask;
  PreparedNumerics nm;
  float* out;
  const Kernels* kt;
  uint32_t kcs;  // sgemm's small-M K slice
};

// dest (+)= a·b over K range [k0, k0 + kw) for the row block's rows and the slab's panels, in
// sub-steps of `sub` values of K (each an FMA chain from zero added to dest), rounding dest to bf16
// as `round` (RoundMode) says. One kernel call per row group x panel group covers the whole range.
void mac_pass(const Job& j, uint32_t s, uint32_t rb0, uint32_t rbn, const float* a, const PackedB& b, uint32_t mask,
              bool use_mask, uint32_t k0, uint32_t kw, uint32_t sub, int round, float* dest) {
  const uint32_t w = b.width(s), panels = w / 16;
  const size_t dps = size_t(rbn) * 16;
  const bool u16 = b.bf16;
  const char* base = u16 ? reinterpret_cast<const char*>(b.h.data() + size_t(s) * j.K * kSlabCols)
                         : reinterpret_cast<const char*>(b.f.data() + size_t(s) * j.K * kSlabCols);
  const size_t esz = u16 ? 2 : 4;
  for (uint32_t r0 = rb0; r0 < rb0 + rbn; r0 += 6) {
    const int R = int(std::min<uint32_t>(6, rb0 + rbn - r0));
    const uint32_t P = uint32_t(panels_for(R));
    KArgs g{int(kw), int(sub), a + size_t(r0) * j.K + size_t(k0) * R, nullptr, w, nullptr, dps, round, mask};
    uint32_t p = 0;
    for (; p + P <= panels; p += P) {
      g.w = base + (size_t(k0) * w + p * 16) * esz;
      g.d = dest + p * dps + (r0 - rb0) * 16;
      j.kt->k[R][P > 1][u16][use_mask](g);
    }
    for (; p < panels; ++p) {
      g.w = base + (size_t(k0) * w + p * 16) * esz;
      g.d = dest + p * dps + (r0 - rb0) * 16;
      j.kt->k[R][0][u16][use_mask](g);
    }
  }
}

// Zeroes the columns past N of the slab's last panel (they never reach the output, but
// block-float rounding must see them as the zero padding round_block gives them).
void zero_pad_cols(const Job& j, uint32_t s, uint32_t rbn, float* buf) {
  const uint32_t c0 = s * kSlabCols, valid = std::min(j.N - c0, kSlabCols), w = j.b1->width(s);
  if (valid == w) return;
  const uint32_t p = valid / 16, from = valid % 16;
  for (uint32_t r = 0; r < rbn; ++r) std::fill(buf + (size_t(p) * rbn + r) * 16 + from, buf + (size_t(p) * rbn + r + 1) * 16, 0.0f);
}

void round_slab(const Job& j, uint32_t s, uint32_t rbn, float* buf, BlockFmt fmt) {
  if (fmt == BlockFmt::F32) return;
  const uint32_t panels = j.b1->width(s) / 16;
  if (fmt == BlockFmt::BFP8 || fmt == BlockFmt::BFP4) zero_pad_cols(j, s, rbn, buf);
  round_groups(buf, size_t(panels) * rbn, fmt);
}

// One slab x row block (rows rb0 .. rb0 + rbn - 1): compute_region's block structure
// (ops_matmul.cc) on the slab's columns. dest / interm are laid out [panel][row][16].
void run_slab(const Job& j, uint32_t s, uint32_t rb0, uint32_t rbn, float* dest, float* interm) {
  const PreparedNumerics& nm = j.nm;
  const uint32_t w = j.b1->width(s), n = w / 16 * rbn * 16;
  const uint32_t nblocks = (j.K + nm.kblock - 1) / nm.kblock;
  const uint32_t step = nm.fp32_dest ? nm.kblock : 16;
  const bool hifi3 = j.a2 != nullptr;
  for (uint32_t b = 0; b < nblocks; ++b) {
    const uint32_t kb0 = b * nm.kblock, kb1 = std::min(j.K, kb0 + nm.kblock);
    const bool last = b + 1 == nblocks;
    if (b == 0 || nm.l1_acc) std::fill(dest, dest + n, 0.0f);
    else std::memcpy(dest, interm, n * sizeof(float));
    if (!hifi3 && (nm.fp32_dest || j.kcs >= 16)) {
      // compute_region's mac per K step (one 128-deep slice per sgemm call, then the bf16 round),
      // for the whole block in one pass: with fp32 dest the step is the block, cut into kcs-deep
      // slices; with bf16 dest every 16-deep step is one slice, rounded after it.
      mac_pass(j, s, rb0, rbn, j.a1, *j.b1, 0xFFFFFFFFu, false, kb0, kb1 - kb0, nm.fp32_dest ? j.kcs : 16,
               nm.fp32_dest ? kRoundNone : kRoundEach, dest);
    } else {
      for (uint32_t k = kb0; k < kb1; k += step) {
        const uint32_t kw = std::min(step, kb1 - k);
        // compute_region's mac: sgemm calls for a1·b1, then for a2·b2 (HiFi3), then the bf16 round.
        const int rnd = nm.fp32_dest ? kRoundNone : kRoundLast;
        mac_pass(j, s, rb0, rbn, j.a1, *j.b1, 0xFFFFFFFFu, false, k, kw, j.kcs, hifi3 ? kRoundNone : rnd, dest);
        if (hifi3) mac_pass(j, s, rb0, rbn, j.a2, *j.b2, j.b2_mask, j.b2_mask != 0xFFFFFFFFu, k, kw, j.kcs, rnd, dest);
      }
    }
    if (nm.l1_acc && b > 0) {
      for (uint32_t i = 0; i < n; ++i) interm[i] += dest[i];
      if (!last || nm.fused_tail) round_slab(j, s, rbn, interm, nm.interm);
      if (last) std::memcpy(dest, interm, n * sizeof(float));
    } else if (!last) {
      std::memcpy(interm, dest, n * sizeof(float));
      round_slab(j, s, rbn, interm, nm.interm);
    }
  }
  // dest [panel][row][16] -> out rows.
  const uint32_t c0 = s * kSlabCols, valid = std::min(j.N - c0, kSlabCols);
  for (uint32_t r = 0; r < rbn; ++r)
    for (uint32_t p = 0; p * 16 < valid; ++p) {
      const uint32_t cn = std::min(16u, valid - p * 16);
      std::memcpy(j.out + size_t(rb0 + r) * j.N + c0 + p * 16, dest + (size_t(p) * rbn + r) * 16, cn * sizeof(float));
    }
}

// Work items [i0, i1) (item i = slab i / row blocks, row block i % row blocks), or, with `next`,
// items taken one at a time from the shared counter.
void run_items(const Job& j, uint32_t i0, uint32_t i1, std::atomic<uint32_t>* next) {
  const uint32_t nrb = (j.M + j.rb - 1) / j.rb;
  std::vector<float> dest(size_t(j.rb) * kSlabCols), interm(size_t(j.rb) * kSlabCols);
  auto item = [&](uint32_t i) {
    const uint32_t s = i / nrb, rb0 = (i % nrb) * j.rb;
    run_slab(j, s, rb0, std::min(j.rb, j.M - rb0), dest.data(), interm.data());
  };
  if (next) {
    for (uint32_t i = next->fetch_add(1); i < i1; i = next->fetch_add(1)) item(i);
  } else {
    for (uint32_t i = i0; i < i1; ++i) item(i);
  }
}

}  // namespace

void gemm_prepared(uint32_t M, uint32_t K, uint32_t N, const float* a1, const float* a2, const PackedB& b1,
                   const PackedB* b2, uint32_t b2_mask, const PreparedNumerics& nm, float* out, unsigned threads) {
  if (M == 0 || N == 0) return;
  if (b1.K != K || b1.N != N) throw std::invalid_argument("gemm_prepared: the prepared operand has another shape");
  if (a2 && (!b2 || b2->K != K || b2->N != N)) throw std::invalid_argument("gemm_prepared: HiFi3 needs a second operand");
  if (nm.kblock == 0) throw std::invalid_argument("gemm_prepared: kblock must be non-zero");
  if (K == 0) {
    std::fill(out, out + size_t(M) * N, 0.0f);
    return;
  }
  // The same kernel family sgemm would use (sgemm_has_avx2 honours sgemm_force_scalar).
  static const Kernels avx2_kernels = make_kernels(true), scalar_kernels = make_kernels(false);
  const bool avx2 = TTTV2_X86 && sgemm_has_avx2();
  const int kcs = detail::sgemm_small_kc();
  // Activations packed per row group of 6: group g holds rows 6g .. 6g + R - 1 as (k, r) at
  // g * 6 * K + k * R + r, the order the micro-kernels broadcast them in.
  auto pack_a = [&](const float* a) {
    std::vector<float> p(size_t(M) * K);
    for (uint32_t r0 = 0; r0 < M; r0 += 6) {
      const uint32_t R = std::min<uint32_t>(6, M - r0);
      float* dst = p.data() + size_t(r0) * K;
      for (uint32_t k = 0; k < K; ++k)
        for (uint32_t r = 0; r < R; ++r) dst[size_t(k) * R + r] = a[size_t(r0 + r) * K + k];
    }
    return p;
  };
  std::vector<float> pa1, pa2;
  try {
    pa1 = pack_a(a1);
    if (a2) pa2 = pack_a(a2);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("gemm_prepared: out of memory");
  }
  // Row blocks: M <= 32 is one block (the decode layout); larger M is cut into blocks of at most
  // kRowBlockGroups row groups, of near-equal size, each a multiple of 6 rows.
  uint32_t rb = M;
  if (M > kSmallMaxRows) {
    const uint32_t groups = (M + 5) / 6, nrb = (groups + kRowBlockGroups - 1) / kRowBlockGroups;
    rb = (groups + nrb - 1) / nrb * 6;
  }
  const uint32_t nrb = (M + rb - 1) / rb, items = b1.slabs * nrb;
  Job j{M, K, N, rb, pa1.data(), a2 ? pa2.data() : nullptr, &b1, b2, b2_mask, nm, out, avx2 ? &avx2_kernels : &scalar_kernels,
        uint32_t(kcs > 0 ? kcs : 128)};
  unsigned nt = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  // Small weights stay on one thread (starting a thread costs tens of microseconds).
  if (uint64_t(K) * N < (uint64_t(1) << 18)) nt = 1;
  nt = std::min<unsigned>(nt, items);
  try {
    if (nt <= 1) {
      run_items(j, 0, items, nullptr);
      return;
    }
    std::atomic<uint32_t> next{0};
    std::vector<std::exception_ptr> errs(nt);
    auto worker = [&](unsigned t) {
      try {
        if (nrb == 1) run_items(j, uint32_t(uint64_t(items) * t / nt), uint32_t(uint64_t(items) * (t + 1) / nt), nullptr);
        else run_items(j, 0, items, &next);
      } catch (...) {
        errs[t] = std::current_exception();
      }
    };
    std::vector<std::thread> ths;
    std::vector<unsigned> local;
    for (unsigned t = 1; t < nt; ++t) {
      try {
        ths.emplace_back(worker, t);
      } catch (...) {
        local.push_back(t);  // could not start a thread: run its share here
      }
    }
    worker(0);
    for (unsigned t : local) worker(t);
    for (auto& th : ths) th.join();
    for (auto& e : errs)
      if (e) std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("gemm_prepared: out of memory");
  }
}

}  // namespace tttv2::host
