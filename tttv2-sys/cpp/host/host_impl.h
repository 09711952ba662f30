// Private header of the host backend: Device::Impl / Tensor::Impl and helpers shared by the
// ops_*.cc files. Not part of the shim API.
//
// A tensor keeps its logical values as f32, already rounded to what its dtype can hold
// (bf16 round-to-nearest-even; bfloat8_b / bfloat4_b through tt-metal's block-float packing over
// 32x32 tiles), so reading it back returns exactly what a device would return.
//
// Interleaved tensors keep the values in `values`. Sharded tensors keep them ONLY in `shards`:
// one buffer per core, laid out over the tensor's physical 2D shape as TT-NN does
// (`TensorLayout::compute_physical_shape`: all dims but the last folded into the height, with
// the last two dims padded to 32 for TILE layout; tt_metal/impl/tensor/spec/layout/tensor_layout.cpp
// @ 13adda80). Ops read them back through `read_values`, so sharding really moves data.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemm.h"
#include "gemv.h"
#include "numerics.h"
#include "tttv2-sys/include/tttv2/shim.h"
#include "tttv2-sys/src/bridge.rs.h"

namespace tttv2::ffi {

struct Device::Impl {
  DeviceDesc desc;
};

// One core's shard: `data` is shard_h x shard_w (row-major over the physical 2D shape; the part
// past the tensor's edge is padding, zero).
struct HostShard {
  uint32_t core_x, core_y;
  uint32_t row0, col0;  // where the shard starts in the physical 2D shape
  std::vector<float> data;
};

// A matmul right operand (weight) as the small-M path consumes it at one math fidelity: the
// SrcA-masked values (ops_matmul.cc's fidelity_operands, b side) in host::PackedB's compact
// slab layout. Built on first use and kept with the tensor, so decode does not rebuild K x N
// values per call.
struct PreparedWeight {
  host::PackedB b1;          // LoFi: SrcA hi; HiFi2/HiFi3: SrcA hi + lo; HiFi4: the values
  host::PackedB b2;          // HiFi3's second operand (SrcA hi) when it is not b1 & b2_mask
  uint32_t b2_mask = 0xFFFFFFFFu;
  bool b2_separate = false;
};

// Per-tensor cache of PreparedWeight, one slot per MathFidelity value (0..4). The mutex guards
// the slots; a slot, once set, is immutable and shared with running matmuls.
struct WeightCache {
  std::mutex mu;
  std::shared_ptr<const PreparedWeight> slot[5];
};

struct Tensor::Impl {
  DeviceDesc device;  // a copy: tensors stay valid after the Device handle is dropped
  std::vector<uint32_t> shape;
  DataType dtype;
  Layout layout;
  MemConfig mem;
  std::vector<float> values;        // interleaved: logical, row-major, representable in `dtype`
  std::vector<HostShard> shards;    // sharded: per-core buffers (values is empty)
  // Matmul-operand cache (created on first use under a global lock; see ops_matmul.cc). Anything
  // that changes `values` / `shards` must reset it; replacing the whole Impl (as the KV-cache ops
  // did) drops it with the old values.
  mutable std::unique_ptr<WeightCache> wcache;
};

namespace host_detail {

constexpr uint32_t kTile = 32;

[[noreturn]] inline void fatal(const std::string& msg) { throw std::runtime_error(msg); }

template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

const char* dtype_name(DataType d);
const char* layout_name(Layout l);
const char* mem_layout_name(TensorMemoryLayout l);
uint64_t tile_bytes(DataType d);
uint64_t volume(const std::vector<uint32_t>& shape);
std::string shape_str(const std::vector<uint32_t>& shape);
inline uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }
inline uint32_t round_up(uint32_t a, uint32_t b) { return div_up(a, b) * b; }
bool is_float(DataType d);

// Rounds `v` (logical, row-major, shape) to what `dtype` holds.
void quantize(std::vector<float>& v, const std::vector<uint32_t>& shape, DataType dtype);

// Physical 2D shape [height, width] of a tensor in `layout` (see the header comment).
void physical_2d(const std::vector<uint32_t>& shape, Layout layout, uint32_t& height, uint32_t& width);

// TT-NN's shard-spec validation (tensor_spec.cpp / tensor_layout.cpp @ 13adda80).
void check_memory_config(const DeviceDesc& dev, const MemConfig& mem, const std::vector<uint32_t>& shape,
                         Layout layout, const char* what);

// Builds a tensor: quantizes `values` to `dtype`, then places it as `mem` says (sharded ->
// per-core buffers).
std::unique_ptr<Tensor> make_tensor(const DeviceDesc& dev, std::vector<uint32_t> shape, DataType dtype,
                                    Layout layout, const MemConfig& mem, std::vector<float> values);

// Logical row-major values of a tensor (gathered from its shards when sharded).
std::vector<float> read_values(const Tensor::Impl& t);

// The same values without a copy when the tensor is interleaved (a pointer into `values`, valid
// while the tensor is unchanged); sharded tensors are gathered into `scratch`. For ops that only
// read part of a large operand (a KV cache up to cur_pos, a few embedding rows).
const float* values_view(const Tensor::Impl& t, std::vector<float>& scratch);

// Overwrites `rows` whole rows (of shape.back() values) of an INTERLEAVED tensor in place, from
// `src`, starting at logical row `row0` (all dims but the last folded), quantized to the tensor's
// dtype, and drops its matmul-operand cache. Quantizing rows on their own gives the values
// quantizing the whole tensor would: bf16 rounds each value, and bfloat8_b / bfloat4_b share an
// exponent per 16-value face row (numerics.h), which never spans two rows.
void write_rows(Tensor::Impl& t, uint64_t row0, const float* src, uint64_t rows);

// Shared checks.
void check_same_device(const Tensor::Impl& a, const Tensor::Impl& b, const char* op);
void check_tile(const Tensor::Impl& t, const std::string& msg);

float activate(UnaryOp op, float x, bool has_param, float param);
host::MathFidelity fidelity(MathFidelity f);
uint32_t dest_tiles(const ComputeConfig& c);

// Output dtype of an op that produces a floating value from `in` when the caller does not
// choose: TT-NN keeps the input dtype.
inline DataType out_float_dtype(DataType in) { return in; }

}  // namespace host_detail
}  // namespace tttv2::ffi
