// tttv2 host matmul against a prepared right operand: C[M x N] (any M: the decode "GEMV" shapes,
// M <= kSmallMaxRows, and prefill) against a K x N right operand prepared once (PackedB) and kept
// compact, with the same dest / intermediate rounding structure as ops_matmul.cc's
// compute_region (see gemm_prepared below).
// Throws only std::invalid_argument (bad arguments) and std::runtime_error (out of memory,
// thread start failure is handled by running on the calling thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace tttv2::host {

// Logical rows of the small-M (decode) case: batch <= 32 users, one tile row on device. Up to this
// many rows are computed as one row block, with a static split of the slabs between threads.
constexpr uint32_t kSmallMaxRows = 32;
// Larger M is cut into row blocks of at most this many 6-row groups (48 rows: the block's dest and
// L1 partial, 2 x 48 x 128 f32 = 48 KiB, stay in L1/L2 while the weight's 16 x 128 block of a K
// step is reused from L1 by all 8 row groups).
constexpr uint32_t kRowBlockGroups = 8;
// Columns per slab: the unit of the N split between threads and of the weight layout.
constexpr uint32_t kSlabCols = 128;

// A K x N right operand in the small-M layout:
//  * columns are cut into slabs of kSlabCols (the last one narrower, rounded up to 16 with zero
//    columns); slab s is stored contiguously, row k of it at  s * K * kSlabCols + k * width(s),
//    so one thread streams one slab front to back (one sequential read of the weight);
//  * values are stored as bf16 bits when every value is exactly a bf16 (2 bytes per element),
//    else as f32. In bf16 storage each 16-column group is permuted as
//    [c0..c3, c8..c11, c4..c7, c12..c15] so that AVX2 unpacklo/unpackhi_epi16 with zero (which
//    work per 128-bit lane) widen it to columns 0..7 and 8..15 in two shuffles.
struct PackedB {
  uint32_t K = 0, N = 0, slabs = 0;
  bool bf16 = false;
  std::vector<uint16_t> h;  // bf16 storage
  std::vector<float> f;     // f32 storage
  uint32_t width(uint32_t s) const {
    const uint32_t c0 = s * kSlabCols, w = N - c0 < kSlabCols ? N - c0 : kSlabCols;
    return (w + 15) / 16 * 16;
  }
  size_t bytes() const { return h.size() * sizeof(uint16_t) + f.size() * sizeof(float); }
};

// Builds a PackedB from a row provider: row(k, dst) writes the N values of row k. The provider is
// called once per row to check bf16 exactness and, if any value is not a bf16, once more.
PackedB pack_b(uint32_t K, uint32_t N, const std::function<void(uint32_t, float*)>& row);

// Intermediate formats of the partials between K blocks.
enum class BlockFmt : uint8_t { F32, BF16, BFP8, BFP4 };

struct PreparedNumerics {
  bool fp32_dest;    // fp32_dest_acc_en: dest is fp32; else bf16, rounded after every 16-deep K step
  bool l1_acc;       // packer_l1_acc as the factory enables it
  bool fused_tail;   // bias or activation after the K loop (rounds the last L1 partial)
  BlockFmt interm;   // format of the partials between in0 blocks
  uint32_t kblock;   // K elements per in0 block (K for the simple MultiCore kernel)
};

// out[M x N] (row-major, ld N) = the dest contents after the last K block, exactly as
// compute_region leaves them (bias, activation and output rounding are the caller's):
//   per in0 block: dest starts at 0 or the reloaded partial; per K step (16 deep with bf16 dest,
//   the whole block with fp32 dest) dest += a1·b1 (+ a2·b2 for HiFi3), then dest is rounded to
//   bf16 unless fp32 dest; at block boundaries the partial is rounded to `interm` (or
//   L1-accumulated).
// a1, a2: M x K row-major (a2 null unless HiFi3). b2: the HiFi3 second right operand; it may be
// the same PackedB as b1 with b2_mask applied to its bits (SrcA hi = b1 & 0xFFF80000 when that is
// exact), else its own PackedB with b2_mask = 0xFFFFFFFF.
// The inner products are f32 FMA chains from zero over each 128-deep slice of a K step, added to
// dest — the same operations, in the same order per output element, as sgemm's AVX2 kernel
// performs for compute_region (which calls sgemm once per 128-deep slice, KC_S), so the two agree
// bit for bit on AVX2 machines (the portable fallback mirrors sgemm's scalar kernel the same way).
// Each output element depends only on its row of a and its column of b (block-float partials
// are rounded per 16-value face row), so the row blocks / slab split do not change results.
// threads == 0: hardware_concurrency.
void gemm_prepared(uint32_t M, uint32_t K, uint32_t N, const float* a1, const float* a2, const PackedB& b1,
                   const PackedB* b2, uint32_t b2_mask, const PreparedNumerics& nm, float* out, unsigned threads = 0);

// Rounds n consecutive 16-value groups (n*16 floats) to `fmt` exactly as quantizing them as face
// rows of 32x32 tiles would (block-float shared exponents are per 16-value face row).
void round_groups(float* p, size_t groups, BlockFmt fmt);

}  // namespace tttv2::host
