// tttv2 host numerics: bfloat16, TILE layout, block-float (bfp8_b / bfp4_b) packing that is
// byte-identical to tt-metal's host packer, and math-fidelity-faithful matmul emulation.
//
// Sources (tt-metal @ 13adda80c119631d18b0bc06163416ba148c25ab, fork nyoshifujiTT/tt-metal):
//   tt_metal/impl/data_format/blockfloat_common.cpp   (pack_as_bfp_tiles, convert_u32_to_bfp, get_max_exp)
//   tt_metal/impl/data_format/bfloat8.cpp / bfloat4.cpp (unpack_bfp{8,4}_tiles_into_float_vec)
//   tt_metal/impl/data_format/bfloat16.cpp            (fp32 -> bf16 round-to-nearest-even)
//   tech_reports/data_formats/data_formats.md         (mantissa rounding, saturation on overflow)
//   tech_reports/matrix_engine/matrix_engine.md       (5b SrcA x 7b SrcB multipliers, fidelity phases)
//   tt_metal/hw/inc/api/compute/matmul.h              ("Matmul maps in0 -> SrcB and in1 -> SrcA")
//   tt_metal/tt-llk/tests/python_tests/helpers/golden_generators.py (FidelityMasking masks per phase)
// See README.md in this directory for the full description.
//
// Error policy: functions throw only std::invalid_argument for bad arguments. Nothing prints,
// nothing aborts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tttv2::host {

// ---------------------------------------------------------------------------------------------
// bfloat16
// ---------------------------------------------------------------------------------------------
// Round-to-nearest-even (ties to even). Every NaN becomes the canonical quiet NaN 0x7FC0 (as
// tt-metal's bfloat16::from_float does); +-inf stay +-inf; finite values that round above the
// bf16 range become +-inf (IEEE RNE overflow). Denormals are rounded, not flushed.
uint16_t f32_to_bf16_bits(float x);
float bf16_bits_to_f32(uint16_t b);
float round_to_bf16(float x);  // = bf16_bits_to_f32(f32_to_bf16_bits(x))
void round_to_bf16_inplace(float* data, size_t n);
// Truncating conversion (tt-metal's bfloat16::truncate): drop the low 16 bits.
uint16_t f32_to_bf16_bits_truncate(float x);

// ---------------------------------------------------------------------------------------------
// TILE layout: 32x32 tiles of four 16x16 faces (face0 top-left, face1 top-right, face2
// bottom-left, face3 bottom-right), each face row-major; tiles row-major over the tile grid.
// rows and cols must be multiples of 32, else std::invalid_argument.
// ---------------------------------------------------------------------------------------------
constexpr uint32_t kTileDim = 32;
constexpr uint32_t kFaceDim = 16;
constexpr uint32_t kTileElems = kTileDim * kTileDim;  // 1024
void tilize(const float* row_major, uint32_t rows, uint32_t cols, float* tiled);
void untilize(const float* tiled, uint32_t rows, uint32_t cols, float* row_major);

// ---------------------------------------------------------------------------------------------
// Block float (tt-metal Bfp8_b / Bfp4_b, is_exp_a = false, 32x32 tiles with 16x16 faces).
// Input: tiled floats (face order), num_tiles * 1024 values.
// Per tile: 16 exponent words (64 shared exponents, one per 16-value face row, byte 0 = LSB),
// then the mantissa section: 256 words (bfp8, 4 values/word) or 128 words (bfp4, 8 values/word),
// value 0 of each group in the least-significant bits.
// ---------------------------------------------------------------------------------------------
constexpr size_t kBfp8WordsPerTile = 16 + 256;  // 1088 bytes
constexpr size_t kBfp4WordsPerTile = 16 + 128;  // 576 bytes
std::vector<uint32_t> pack_bfp8_b(const float* tiled, size_t num_tiles);
void unpack_bfp8_b(const uint32_t* packed, size_t num_tiles, float* tiled_out);
std::vector<uint32_t> pack_bfp4_b(const float* tiled, size_t num_tiles);
void unpack_bfp4_b(const uint32_t* packed, size_t num_tiles, float* tiled_out);
// Quantize in place = pack then unpack (values a device would see).
void quantize_bfp8_b_inplace(float* tiled, size_t num_tiles);
void quantize_bfp4_b_inplace(float* tiled, size_t num_tiles);
// Single-value helpers (exposed for tests): encode one fp32 bit pattern against a shared
// exponent into a sign|mantissa code of (1 + mant_bits) bits, and decode it back.
// mant_bits = 7 for bfp8_b, 3 for bfp4_b.
uint8_t bfp_encode_value(uint32_t f32_bits, uint32_t shared_exp, int mant_bits);
uint32_t bfp_decode_value(uint8_t code, uint32_t shared_exp, int mant_bits);

// ---------------------------------------------------------------------------------------------
// Math fidelity (Wormhole / Blackhole FPU).
// ---------------------------------------------------------------------------------------------
enum class MathFidelity : uint8_t { LoFi = 0, HiFi2 = 2, HiFi3 = 3, HiFi4 = 4 };

// Operand roles for matmul: in0 (the left matrix, "a", M x K) is unpacked into SrcB, whose
// multiplier input is 7 bits (hidden + 6 mantissa MSBs per phase); in1 (the right matrix, "b",
// K x N, usually the weights) is unpacked into SrcA, whose multiplier input is 5 bits
// (hidden + 4 mantissa MSBs per phase). Source: tt_metal/hw/inc/api/compute/matmul.h.
enum class FpuSrc : uint8_t { SrcA = 0, SrcB = 1 };
constexpr FpuSrc kMatmulIn0Src = FpuSrc::SrcB;
constexpr FpuSrc kMatmulIn1Src = FpuSrc::SrcA;

// Operand parts consumed per fidelity phase. Source registers hold tf32-like values (10 mantissa
// bits = fp32 mantissa bits 22..13). Masks from tt-llk golden_generators.py (WH/BH), expressed on
// the fp32 mantissa field (bit 22 = MSB); sign and exponent are kept; "lo" is the exact value of
// the lo bits without the hidden bit:
//   SrcA hi = bits 22..19 (hidden + 4 MSBs)   SrcA lo = bits 18..14 (tf32 LSB, bit 13, never used)
//   SrcB hi = bits 22..17 (hidden + 6 MSBs)   SrcB lo = bits 16..13
// For bf16 operands (7 mantissa bits) hi + lo == the whole value for both sources.
// Phases: 0 = Ahi*Bhi, 1 = Alo*Bhi, 2 = Ahi*Blo, 3 = Alo*Blo. LoFi runs phase 0, HiFi2 0-1,
// HiFi3 0-2, HiFi4 uses the full operands (tt-llk golden: HiFi4 = unmasked product).
// Non-finite values keep hi = value, lo = 0.
float fidelity_src_hi(float x, FpuSrc src);
float fidelity_src_lo(float x, FpuSrc src);
void fidelity_split(const float* x, size_t n, FpuSrc src, float* hi, float* lo);

// C = A*B (+C) with the operand bits that the FPU consumes at the given fidelity.
// a: row-major M x K (matmul in0 -> SrcB); b: row-major K x N (matmul in1 -> SrcA).
// Accumulation is fp32 (sum order differs from the device; dest-format rounding is not modelled).
// Implemented as at most two sgemm calls on split operands:
//   LoFi : Bhi(a) * Ahi(b)
//   HiFi2: Bhi(a) * (Ahi+Alo)(b)
//   HiFi3: Bhi(a) * (Ahi+Alo)(b) + Blo(a) * Ahi(b)
//   HiFi4: a * b
void matmul_with_fidelity(const float* a, const float* b, float* c, uint32_t M, uint32_t K, uint32_t N,
                          MathFidelity fidelity, bool accumulate_into_c, unsigned num_threads = 0);

}  // namespace tttv2::host
