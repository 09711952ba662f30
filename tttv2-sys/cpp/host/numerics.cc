// Implementation of numerics.h. Independent implementation of the formats described in the
// tt-metal files cited in numerics.h / README.md (no tt-metal code is used).
#include "numerics.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <stdexcept>
#include <string>
#include <thread>

#include "gemm.h"

namespace tttv2::host {

namespace {

inline uint32_t f2u(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float u2f(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// bfloat16 (tt_metal/impl/data_format/bfloat16.cpp: fp32_to_bf16_bits_round_to_nearest_even)
// ---------------------------------------------------------------------------------------------
uint16_t f32_to_bf16_bits(float x) {
  uint32_t u = f2u(x);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) {
    return 0x7FC0;  // canonical quiet NaN, as tt-metal
  }
  // Add 0x7FFF plus the LSB of the kept part: ties go to the even neighbour. Carries into the
  // exponent give the correctly rounded next binade, and 0x7F7F8000.. rounds to +inf.
  uint32_t lsb = (u >> 16) & 1u;
  return static_cast<uint16_t>((u + 0x7FFFu + lsb) >> 16);
}

float bf16_bits_to_f32(uint16_t b) { return u2f(static_cast<uint32_t>(b) << 16); }

float round_to_bf16(float x) { return bf16_bits_to_f32(f32_to_bf16_bits(x)); }

void round_to_bf16_inplace(float* data, size_t n) {
  if (n != 0 && data == nullptr) throw std::invalid_argument("round_to_bf16_inplace: null data");
  for (size_t i = 0; i < n; ++i) data[i] = round_to_bf16(data[i]);
}

uint16_t f32_to_bf16_bits_truncate(float x) { return static_cast<uint16_t>(f2u(x) >> 16); }

// ---------------------------------------------------------------------------------------------
// TILE layout (tile = 4 faces of 16x16; face order TL, TR, BL, BR; row-major inside a face)
// ---------------------------------------------------------------------------------------------
namespace {
void check_tile_dims(uint32_t rows, uint32_t cols, const void* in, const void* out, const char* fn) {
  if (rows % kTileDim != 0 || cols % kTileDim != 0) {
    throw std::invalid_argument(std::string(fn) + ": rows and cols must be multiples of 32 (got " +
                                std::to_string(rows) + "x" + std::to_string(cols) + ")");
  }
  if (static_cast<size_t>(rows) * cols != 0 && (in == nullptr || out == nullptr)) {
    throw std::invalid_argument(std::string(fn) + ": null pointer");
  }
}
}  // namespace

void tilize(const float* row_major, uint32_t rows, uint32_t cols, float* tiled) {
  check_tile_dims(rows, cols, row_major, tiled, "tilize");
  const uint32_t tiles_c = cols / kTileDim;
  float* out = tiled;
  for (uint32_t tr = 0; tr < rows / kTileDim; ++tr) {
    for (uint32_t tc = 0; tc < tiles_c; ++tc) {
      for (uint32_t f = 0; f < 4; ++f) {
        const size_t r0 = static_cast<size_t>(tr) * kTileDim + (f >> 1) * kFaceDim;
        const size_t c0 = static_cast<size_t>(tc) * kTileDim + (f & 1) * kFaceDim;
        for (uint32_t i = 0; i < kFaceDim; ++i) {
          std::memcpy(out, row_major + (r0 + i) * cols + c0, kFaceDim * sizeof(float));
          out += kFaceDim;
        }
      }
    }
  }
}

void untilize(const float* tiled, uint32_t rows, uint32_t cols, float* row_major) {
  check_tile_dims(rows, cols, tiled, row_major, "untilize");
  const uint32_t tiles_c = cols / kTileDim;
  const float* in = tiled;
  for (uint32_t tr = 0; tr < rows / kTileDim; ++tr) {
    for (uint32_t tc = 0; tc < tiles_c; ++tc) {
      for (uint32_t f = 0; f < 4; ++f) {
        const size_t r0 = static_cast<size_t>(tr) * kTileDim + (f >> 1) * kFaceDim;
        const size_t c0 = static_cast<size_t>(tc) * kTileDim + (f & 1) * kFaceDim;
        for (uint32_t i = 0; i < kFaceDim; ++i) {
          std::memcpy(row_major + (r0 + i) * cols + c0, in, kFaceDim * sizeof(float));
          in += kFaceDim;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Block float. Algorithm as in tt_metal/impl/data_format/blockfloat_common.cpp
// (get_max_exp, convert_u32_to_bfp<.., truncate=false>, pack_as_bfp_tiles) and the unpackers in
// bfloat8.cpp / bfloat4.cpp, with is_exp_a = false (the "_b" formats, 8-bit shared exponent):
//  * shared exponent = max of the raw 8-bit fp32 exponent fields of the 16 values of a face row
//    (zeros/denormals contribute 0, inf/NaN contribute 255).
//  * per value: exponent field 0 (zero or denormal) -> code 0 (flush). Otherwise take the 24-bit
//    significand (hidden 1 made explicit), shift right by (shared_exp - exp), then round to
//    `mant_bits` bits (the explicit leading 1 included) with round-to-nearest, ties-to-even on
//    the kept LSB; a round-up that overflows saturates to all ones (no re-normalisation).
//  * sign is stored only if the rounded mantissa is non-zero.
//  * code = sign << mant_bits | mantissa.
// ---------------------------------------------------------------------------------------------
uint8_t bfp_encode_value(uint32_t bits, uint32_t shared_exp, int mant_bits) {
  const uint32_t exp = (bits >> 23) & 0xFFu;
  if (exp == 0) return 0;
  uint32_t m = (bits & 0x007FFFFFu) | 0x00800000u;
  const uint32_t diff = shared_exp > exp ? shared_exp - exp : 0;
  m = diff >= 32 ? 0 : (m >> diff);
  const int shift = 24 - mant_bits;
  const uint32_t round_mask = (1u << shift) - 1u;
  const uint32_t half = 1u << (shift - 1);
  const uint32_t rem = m & round_mask;
  uint32_t q = m >> shift;
  if (rem > half || (rem == half && (q & 1u))) ++q;
  const uint32_t qmax = (1u << mant_bits) - 1u;
  if (q > qmax) q = qmax;
  const uint32_t sign = q != 0 ? (bits >> 31) : 0u;
  return static_cast<uint8_t>((sign << mant_bits) | q);
}

// Decode (bfloat8.cpp / bfloat4.cpp unpackers): zero mantissa -> sign-only zero; otherwise
// normalise so the top mantissa bit becomes the hidden bit, exponent = shared_exp - shift;
// if shift > shared_exp the value is flushed to +0 (tt-metal "flush denormals to zero").
uint32_t bfp_decode_value(uint8_t code, uint32_t shared_exp, int mant_bits) {
  const uint32_t mmask = (1u << mant_bits) - 1u;
  const uint32_t sign = (static_cast<uint32_t>(code) >> mant_bits) & 1u;
  uint32_t man = code & mmask;
  if (man == 0) return sign << 31;
  // shift = number of left shifts that bring the leading one to bit (mant_bits - 1)
  const uint32_t lead = 31u - static_cast<uint32_t>(__builtin_clz(man));
  const uint32_t shift = static_cast<uint32_t>(mant_bits - 1) - lead;
  if (shift > shared_exp) return 0;
  man = (man << (shift + 1)) & mmask;  // drop the (now hidden) leading one
  const uint32_t exp = shared_exp - shift;
  return (sign << 31) | (exp << 23) | (man << (23 - mant_bits));
}

namespace {

// One tile: 64 face rows of 16 values. Exponent section: 16 words, row r's exponent in byte
// (r % 4) of word r / 4 (byte 0 = least significant). Mantissa section follows immediately
// (no padding: 64 exponent bytes already satisfy the 16-byte L1 alignment tt-metal pads to).
// Inside a mantissa word, value j of the group sits at bits [j*w, j*w + w) with w = 8 (bfp8)
// or 4 (bfp4), i.e. the first value in the least significant bits.
template <int MANT_BITS>
void pack_bfp_tiles(const float* tiled, size_t num_tiles, uint32_t* out) {
  constexpr int kCodeBits = MANT_BITS + 1;  // 8 or 4
  constexpr int kPerWord = 32 / kCodeBits;  // 4 or 8
  constexpr int kWordsPerRow = 16 / kPerWord;
  constexpr size_t kWordsPerTile = 16 + 64 * kWordsPerRow;
  for (size_t t = 0; t < num_tiles; ++t) {
    const uint32_t* src = reinterpret_cast<const uint32_t*>(tiled + t * kTileElems);
    uint32_t* exp_words = out + t * kWordsPerTile;
    uint32_t* man_words = exp_words + 16;
    for (int w = 0; w < 16; ++w) exp_words[w] = 0;
    for (int r = 0; r < 64; ++r) {
      uint32_t row[16];
      std::memcpy(row, src + r * 16, sizeof row);
      uint32_t shared = 0;
      for (int j = 0; j < 16; ++j) {
        const uint32_t e = (row[j] >> 23) & 0xFFu;
        shared = e > shared ? e : shared;
      }
      exp_words[r >> 2] |= shared << (8 * (r & 3));
      for (int w = 0; w < kWordsPerRow; ++w) {
        uint32_t word = 0;
        for (int j = 0; j < kPerWord; ++j) {
          const uint32_t code = bfp_encode_value(row[w * kPerWord + j], shared, MANT_BITS);
          word |= code << (j * kCodeBits);
        }
        man_words[r * kWordsPerRow + w] = word;
      }
    }
  }
}

template <int MANT_BITS>
void unpack_bfp_tiles(const uint32_t* packed, size_t num_tiles, float* out) {
  constexpr int kCodeBits = MANT_BITS + 1;
  constexpr int kPerWord = 32 / kCodeBits;
  constexpr int kWordsPerRow = 16 / kPerWord;
  constexpr size_t kWordsPerTile = 16 + 64 * kWordsPerRow;
  constexpr uint32_t kCodeMask = (1u << kCodeBits) - 1u;
  for (size_t t = 0; t < num_tiles; ++t) {
    const uint32_t* exp_words = packed + t * kWordsPerTile;
    const uint32_t* man_words = exp_words + 16;
    float* dst = out + t * kTileElems;
    for (int r = 0; r < 64; ++r) {
      const uint32_t shared = (exp_words[r >> 2] >> (8 * (r & 3))) & 0xFFu;
      for (int w = 0; w < kWordsPerRow; ++w) {
        const uint32_t word = man_words[r * kWordsPerRow + w];
        for (int j = 0; j < kPerWord; ++j) {
          const uint32_t bits =
              bfp_decode_value(static_cast<uint8_t>((word >> (j * kCodeBits)) & kCodeMask), shared, MANT_BITS);
          std::memcpy(dst + r * 16 + w * kPerWord + j, &bits, sizeof bits);
        }
      }
    }
  }
}

// Parallel over tiles for large tensors (pure function of each tile, so results are identical).
// If a thread cannot be started, its share runs on the calling thread.
template <typename F>
void parallel_tiles(size_t num_tiles, F&& fn) {
  unsigned nt = std::thread::hardware_concurrency();
  if (nt == 0) nt = 1;
  if (nt > 8) nt = 8;
  if (num_tiles < 256 || nt == 1) {
    fn(size_t{0}, num_tiles);
    return;
  }
  const size_t per = (num_tiles + nt - 1) / nt;
  std::vector<std::thread> threads;
  std::vector<std::pair<size_t, size_t>> local;
  local.emplace_back(0, std::min(num_tiles, per));
  for (unsigned i = 1; i < nt; ++i) {
    const size_t b = i * per, e = std::min(num_tiles, b + per);
    if (b >= e) break;
    try {
      threads.emplace_back([&fn, b, e] { fn(b, e); });
    } catch (...) {
      local.emplace_back(b, e);
    }
  }
  for (auto& r : local) fn(r.first, r.second);
  for (auto& th : threads) th.join();
}

template <typename T>
std::vector<T> alloc_vec(size_t n, const char* fn) {
  try {
    return std::vector<T>(n);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(std::string(fn) + ": out of memory");
  } catch (const std::length_error&) {
    throw std::invalid_argument(std::string(fn) + ": size too large");
  }
}

void check_bfp_args(const void* in, const void* out, size_t num_tiles, const char* fn) {
  if (num_tiles != 0 && (in == nullptr || out == nullptr)) {
    throw std::invalid_argument(std::string(fn) + ": null pointer");
  }
}

}  // namespace

std::vector<uint32_t> pack_bfp8_b(const float* tiled, size_t num_tiles) {
  std::vector<uint32_t> out = alloc_vec<uint32_t>(num_tiles * kBfp8WordsPerTile, "pack_bfp8_b");
  check_bfp_args(tiled, out.data(), num_tiles, "pack_bfp8_b");
  uint32_t* o = out.data();
  parallel_tiles(num_tiles, [&](size_t b, size_t e) {
    pack_bfp_tiles<7>(tiled + b * kTileElems, e - b, o + b * kBfp8WordsPerTile);
  });
  return out;
}

void unpack_bfp8_b(const uint32_t* packed, size_t num_tiles, float* tiled_out) {
  check_bfp_args(packed, tiled_out, num_tiles, "unpack_bfp8_b");
  parallel_tiles(num_tiles, [&](size_t b, size_t e) {
    unpack_bfp_tiles<7>(packed + b * kBfp8WordsPerTile, e - b, tiled_out + b * kTileElems);
  });
}

std::vector<uint32_t> pack_bfp4_b(const float* tiled, size_t num_tiles) {
  std::vector<uint32_t> out = alloc_vec<uint32_t>(num_tiles * kBfp4WordsPerTile, "pack_bfp4_b");
  check_bfp_args(tiled, out.data(), num_tiles, "pack_bfp4_b");
  uint32_t* o = out.data();
  parallel_tiles(num_tiles, [&](size_t b, size_t e) {
    pack_bfp_tiles<3>(tiled + b * kTileElems, e - b, o + b * kBfp4WordsPerTile);
  });
  return out;
}

void unpack_bfp4_b(const uint32_t* packed, size_t num_tiles, float* tiled_out) {
  check_bfp_args(packed, tiled_out, num_tiles, "unpack_bfp4_b");
  parallel_tiles(num_tiles, [&](size_t b, size_t e) {
    unpack_bfp_tiles<3>(packed + b * kBfp4WordsPerTile, e - b, tiled_out + b * kTileElems);
  });
}

void quantize_bfp8_b_inplace(float* tiled, size_t num_tiles) {
  check_bfp_args(tiled, tiled, num_tiles, "quantize_bfp8_b_inplace");
  parallel_tiles(num_tiles, [&](size_t b, size_t e) {
    uint32_t buf[kBfp8WordsPerTile];
    for (size_t t = b; t < e; ++t) {
      pack_bfp_tiles<7>(tiled + t * kTileElems, 1, buf);
      unpack_bfp_tiles<7>(buf, 1, tiled + t * kTileElems);
    }
  });
}

void quantize_bfp4_b_inplace(float* tiled, size_t num_tiles) {
  check_bfp_args(tiled, tiled, num_tiles, "quantize_bfp4_b_inplace");
  parallel_tiles(num_tiles, [&](size_t b, size_t e) {
    uint32_t buf[kBfp4WordsPerTile];
    for (size_t t = b; t < e; ++t) {
      pack_bfp_tiles<3>(tiled + t * kTileElems, 1, buf);
      unpack_bfp_tiles<3>(buf, 1, tiled + t * kTileElems);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Math fidelity. Masks: tt_metal/tt-llk/tests/python_tests/helpers/golden_generators.py
// (FidelityMasking, WH/BH table; tf32 mantissa with hidden bit at bit 10):
//   phase 0: SrcA 0b11111000000, SrcB 0b11111110000
//   phase 1: SrcA 0b00000111110, SrcB 0b11111110000
//   phase 2: SrcA 0b11111000000, SrcB 0b00000001111
//   phase 3: SrcA 0b00000111110, SrcB 0b00000001111
// tf32 mantissa bit i == fp32 mantissa bit i + 13.
// ---------------------------------------------------------------------------------------------
namespace {
constexpr uint32_t kSrcAHiMask = 0xFFF80000u;  // sign, exp, mantissa bits 22..19
constexpr uint32_t kSrcAAllMask = 0xFFFFC000u; // ... bits 22..14 (hi + lo phases)
constexpr uint32_t kSrcBHiMask = 0xFFFE0000u;  // sign, exp, mantissa bits 22..17
constexpr uint32_t kSrcBAllMask = 0xFFFFE000u; // ... bits 22..13

inline bool non_finite(uint32_t u) { return (u & 0x7F800000u) == 0x7F800000u; }

inline float masked(float x, uint32_t mask) {
  const uint32_t u = f2u(x);
  return non_finite(u) ? x : u2f(u & mask);
}
}  // namespace

float fidelity_src_hi(float x, FpuSrc src) { return masked(x, src == FpuSrc::SrcA ? kSrcAHiMask : kSrcBHiMask); }

float fidelity_src_lo(float x, FpuSrc src) {
  const uint32_t u = f2u(x);
  if (non_finite(u)) return 0.0f;
  const float all = u2f(u & (src == FpuSrc::SrcA ? kSrcAAllMask : kSrcBAllMask));
  const float hi = u2f(u & (src == FpuSrc::SrcA ? kSrcAHiMask : kSrcBHiMask));
  return all - hi;  // exact (Sterbenz: same sign, same exponent)
}

void fidelity_split(const float* x, size_t n, FpuSrc src, float* hi, float* lo) {
  for (size_t i = 0; i < n; ++i) {
    if (hi) hi[i] = fidelity_src_hi(x[i], src);
    if (lo) lo[i] = fidelity_src_lo(x[i], src);
  }
}

void matmul_with_fidelity(const float* a, const float* b, float* c, uint32_t M, uint32_t K, uint32_t N,
                          MathFidelity fidelity, bool accumulate_into_c, unsigned num_threads) {
  if (static_cast<size_t>(M) * N != 0 && c == nullptr) throw std::invalid_argument("matmul_with_fidelity: null c");
  if (static_cast<size_t>(M) * N * K != 0 && (a == nullptr || b == nullptr)) {
    throw std::invalid_argument("matmul_with_fidelity: null a or b");
  }
  switch (fidelity) {
    case MathFidelity::LoFi:
    case MathFidelity::HiFi2:
    case MathFidelity::HiFi3:
    case MathFidelity::HiFi4:
      break;
    default:
      throw std::invalid_argument("matmul_with_fidelity: unknown fidelity");
  }
  if (fidelity == MathFidelity::HiFi4) {
    sgemm(M, N, K, a, K, b, N, c, N, accumulate_into_c, num_threads);
    return;
  }
  const size_t na = static_cast<size_t>(M) * K, nb = static_cast<size_t>(K) * N;
  // a = in0 -> SrcB ; b = in1 -> SrcA (tt_metal/hw/inc/api/compute/matmul.h)
  std::vector<float> a_hi = alloc_vec<float>(na, "matmul_with_fidelity");
  std::vector<float> b_used = alloc_vec<float>(nb, "matmul_with_fidelity");
  for (size_t i = 0; i < na; ++i) a_hi[i] = masked(a[i], kSrcBHiMask);
  const uint32_t b_mask = fidelity == MathFidelity::LoFi ? kSrcAHiMask : kSrcAAllMask;
  for (size_t i = 0; i < nb; ++i) b_used[i] = masked(b[i], b_mask);
  // phases 0 (+1): SrcB hi x SrcA hi (+ lo)
  sgemm(M, N, K, a_hi.data(), K, b_used.data(), N, c, N, accumulate_into_c, num_threads);
  if (fidelity == MathFidelity::HiFi3) {
    // phase 2: SrcB lo x SrcA hi
    std::vector<float>& a_lo = a_hi;  // reuse storage
    for (size_t i = 0; i < na; ++i) a_lo[i] = fidelity_src_lo(a[i], FpuSrc::SrcB);
    for (size_t i = 0; i < nb; ++i) b_used[i] = masked(b[i], kSrcAHiMask);
    sgemm(M, N, K, a_lo.data(), K, b_used.data(), N, c, N, true, num_threads);
  }
}

}  // namespace tttv2::host
