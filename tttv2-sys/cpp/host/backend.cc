// The host backend: every shim op computed on the CPU with Tenstorrent numerics, after the same
// validation TT-NN performs (messages follow TT-NN's TT_FATAL texts where we know them; see
// ../shared/reference/matmul-rules.md, which cites
// ttnn/cpp/ttnn/operations/matmul/device/matmul_device_operation.cpp @ 13adda80).
//
// A tensor keeps its logical values as f32, already rounded to what its dtype can hold
// (bf16 round-to-nearest-even; bfloat8_b / bfloat4_b through tt-metal's block-float packing over
// 32x32 tiles), so reading it back returns exactly what a device would return.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemm.h"
#include "numerics.h"
#include "tttv2-sys/include/tttv2/shim.h"
#include "tttv2-sys/src/bridge.rs.h"

namespace tttv2::ffi {

struct Device::Impl {
  DeviceDesc desc;
};

struct Tensor::Impl {
  DeviceDesc device;  // a copy: tensors stay valid after the Device handle is dropped
  std::vector<uint32_t> shape;
  DataType dtype;
  Layout layout;
  MemConfig mem;
  std::vector<float> values;  // logical, row-major, representable in `dtype`
};

Device::Device(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Device::~Device() = default;
Tensor::Tensor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tensor::~Tensor() = default;

namespace {

constexpr uint32_t kTile = 32;

[[noreturn]] void fatal(const std::string& msg) { throw std::runtime_error(msg); }

template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

const char* dtype_name(DataType d) {
  switch (d) {
    case DataType::Bfloat16: return "BFLOAT16";
    case DataType::Float32: return "FLOAT32";
    case DataType::Uint32: return "UINT32";
    case DataType::Bfloat8B: return "BFLOAT8_B";
    case DataType::Bfloat4B: return "BFLOAT4_B";
  }
  return "INVALID";
}

uint64_t tile_bytes(DataType d) {
  // tt_metal/api/tt-metalium/tt_backend_api_types.hpp::tile_size (hardware.md).
  switch (d) {
    case DataType::Float32:
    case DataType::Uint32: return 4096;
    case DataType::Bfloat16: return 2048;
    case DataType::Bfloat8B: return 1088;
    case DataType::Bfloat4B: return 576;
  }
  return 2048;
}

uint64_t volume(const std::vector<uint32_t>& shape) {
  uint64_t v = 1;
  for (uint32_t d : shape) v *= d;
  return v;
}

std::string shape_str(const std::vector<uint32_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

// Rounds `v` (logical, row-major, shape) to what `dtype` holds. Block floats are quantized per
// 32x32 tile of each 2D slice, with zero padding, as tt-metal packs a padded TILE tensor.
void quantize(std::vector<float>& v, const std::vector<uint32_t>& shape, DataType dtype) {
  switch (dtype) {
    case DataType::Float32: return;
    case DataType::Bfloat16: host::round_to_bf16_inplace(v.data(), v.size()); return;
    case DataType::Uint32:
      for (float& x : v) {
        if (!(x >= 0.0f) || x != std::floor(x)) fatal(cat("UINT32 tensor got non-integer value ", x));
      }
      return;
    case DataType::Bfloat8B:
    case DataType::Bfloat4B: break;
  }
  const uint32_t rows = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
  const uint32_t cols = shape.empty() ? 1 : shape.back();
  const uint64_t slices = rows && cols ? v.size() / (uint64_t(rows) * cols) : 0;
  const uint32_t pr = div_up(rows, kTile) * kTile, pc = div_up(cols, kTile) * kTile;
  std::vector<float> padded(size_t(pr) * pc), tiled(size_t(pr) * pc);
  for (uint64_t s = 0; s < slices; ++s) {
    float* slice = v.data() + s * rows * cols;
    std::fill(padded.begin(), padded.end(), 0.0f);
    for (uint32_t r = 0; r < rows; ++r) std::memcpy(&padded[size_t(r) * pc], slice + size_t(r) * cols, cols * sizeof(float));
    host::tilize(padded.data(), pr, pc, tiled.data());
    const size_t tiles = size_t(pr / kTile) * (pc / kTile);
    if (dtype == DataType::Bfloat8B) host::quantize_bfp8_b_inplace(tiled.data(), tiles);
    else host::quantize_bfp4_b_inplace(tiled.data(), tiles);
    host::untilize(tiled.data(), pr, pc, padded.data());
    for (uint32_t r = 0; r < rows; ++r) std::memcpy(slice + size_t(r) * cols, &padded[size_t(r) * pc], cols * sizeof(float));
  }
}

std::unique_ptr<Tensor> make_tensor(const DeviceDesc& dev, std::vector<uint32_t> shape, DataType dtype,
                                    Layout layout, const MemConfig& mem, std::vector<float> values) {
  auto impl = std::make_unique<Tensor::Impl>(
      Tensor::Impl{dev, std::move(shape), dtype, layout, mem, std::move(values)});
  quantize(impl->values, impl->shape, dtype);
  return std::make_unique<Tensor>(std::move(impl));
}

void check_memory_config(const DeviceDesc& dev, const MemConfig& mem, const std::vector<uint32_t>& shape,
                         const char* what) {
  if (mem.layout == TensorMemoryLayout::Interleaved) return;
  if (!mem.has_shard) fatal(cat(what, ": a sharded memory config needs a shard spec here"));
  const ShardSpecDesc& s = mem.shard;
  if (s.end_x >= dev.grid_x || s.end_y >= dev.grid_y || s.start_x > s.end_x || s.start_y > s.end_y)
    fatal(cat(what, ": shard grid [(x=", s.start_x, ",y=", s.start_y, ") - (x=", s.end_x, ",y=", s.end_y,
              ")] is outside the compute grid ", dev.grid_x, "x", dev.grid_y));
  if (s.shape_h == 0 || s.shape_w == 0) fatal(cat(what, ": shard shape must be non-zero"));
  (void)shape;
}

void check_same_device(const Tensor::Impl& a, const Tensor::Impl& b) {
  if (std::string(a.device.name) != std::string(b.device.name))
    fatal("Operands to matmul need to be on the same device!");
}

float activate(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::None: return x;
    case UnaryOp::Relu: return x > 0.0f ? x : 0.0f;
    case UnaryOp::Silu: return x / (1.0f + std::exp(-x));
    case UnaryOp::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case UnaryOp::Gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
  }
  return x;
}

host::MathFidelity fidelity(MathFidelity f) {
  switch (f) {
    case MathFidelity::LoFi: return host::MathFidelity::LoFi;
    case MathFidelity::HiFi2: return host::MathFidelity::HiFi2;
    case MathFidelity::HiFi3: return host::MathFidelity::HiFi3;
    case MathFidelity::HiFi4: return host::MathFidelity::HiFi4;
  }
  fatal("invalid math fidelity");
}

// Tiles the dest register holds (compute_kernel_config.cpp::get_dest_reg_count, matmul-rules §1).
uint32_t dest_tiles(const ComputeConfig& c) {
  uint32_t n = 16;
  if (!c.dst_full_sync_en) n /= 2;
  if (c.fp32_dest_acc_en) n /= 2;
  return n;
}

struct MatmulDims {
  uint32_t M, K, N;  // M fused over batch dims
  uint32_t Mt, Kt, Nt;
};

// TT-NN's program-config validation (matmul-rules.md §1-§6) and the CB L1 check
// (tt-metal program.cpp "Statically allocated circular buffers ... beyond max L1 size").
void validate_program_config(const DeviceDesc& dev, const MatmulDims& d, const MatmulConfig& pc,
                             const ComputeConfig& cc, const Tensor::Impl& a, const Tensor::Impl& b,
                             bool has_bias, DataType out_dtype, const MemConfig& out_mem) {
  const bool out_sharded = out_mem.layout != TensorMemoryLayout::Interleaved;
  uint64_t cb_bytes = 0;
  const uint64_t at = tile_bytes(a.dtype), bt = tile_bytes(b.dtype), ot = tile_bytes(out_dtype);
  auto grid_check = [&] {
    if (pc.grid_x == 0 || pc.grid_y == 0 || pc.grid_x > dev.grid_x || pc.grid_y > dev.grid_y)
      fatal(cat("compute_with_storage_grid_size (", pc.grid_x, ", ", pc.grid_y,
                ") must be non-zero and fit the device compute grid (", dev.grid_x, ", ", dev.grid_y, ")"));
  };
  auto subblock_check = [&] {
    if (pc.out_subblock_h == 0 || pc.out_subblock_w == 0) fatal("out_subblock_h and out_subblock_w must be non-zero");
    const uint32_t limit = dest_tiles(cc);
    if (pc.out_subblock_h * pc.out_subblock_w > limit)
      fatal(cat("out_subblock_w ", pc.out_subblock_w, " times out_subblock_h ", pc.out_subblock_h,
                " needs to be at most ", limit, " to fit in hardware"));
  };
  auto k_check = [&] {
    if (pc.in0_block_w == 0) fatal("in0_block_w must be non-zero");
    if (d.Kt % pc.in0_block_w != 0)
      fatal(cat("Kt ", d.Kt, " must be divisible by in0_block_w ", pc.in0_block_w));
  };
  auto block_check = [&] {
    if (pc.per_core_m == 0 || pc.per_core_n == 0) fatal("per_core_M and per_core_N must be non-zero");
    if (pc.out_block_h == 0 || pc.out_block_w == 0) fatal("out_block_h and out_block_w must be non-zero");
    if (pc.out_block_h % pc.out_subblock_h != 0) fatal(cat("out_block_h ", pc.out_block_h, " must be divisible by out_subblock_h ", pc.out_subblock_h));
    if (pc.out_block_w % pc.out_subblock_w != 0) fatal(cat("out_block_w ", pc.out_block_w, " must be divisible by out_subblock_w ", pc.out_subblock_w));
    if (pc.per_core_m % pc.out_block_h != 0) fatal(cat("per_core_M ", pc.per_core_m, " must be divisible by out_block_h ", pc.out_block_h));
    if (pc.per_core_n % pc.out_block_w != 0) fatal(cat("per_core_N ", pc.per_core_n, " must be divisible by out_block_w ", pc.out_block_w));
  };
  auto sharded_out_check = [&] {
    if (out_sharded && !(pc.out_subblock_w == pc.per_core_n || pc.out_subblock_h == 1))
      fatal(cat("Sharded output requires out_subblock_w == per_core_N or out_subblock_h == 1 (got out_subblock_h ",
                pc.out_subblock_h, ", out_subblock_w ", pc.out_subblock_w, ", per_core_N ", pc.per_core_n, ")"));
  };
  // CBs of the multicast factories (matmul-rules.md §8).
  auto mcast_cbs = [&] {
    const uint64_t num_blocks = d.Kt / pc.in0_block_w;
    const uint64_t mult = num_blocks > 1 ? 2 : 1;
    const bool l1_acc = cc.packer_l1_acc && ((has_bias && num_blocks > 1) || num_blocks > 2);
    const uint64_t interm_tile = cc.fp32_dest_acc_en ? 4096 : (l1_acc ? 2048 : ot);
    const uint64_t out_tiles = out_sharded ? uint64_t(pc.per_core_m) * pc.per_core_n : uint64_t(pc.out_block_h) * pc.out_block_w;
    const bool shares = interm_tile == ot && !(out_sharded && pc.per_core_m != pc.out_block_h);
    cb_bytes = uint64_t(pc.out_block_h) * pc.in0_block_w * mult * at + uint64_t(pc.out_block_w) * pc.in0_block_w * mult * bt +
               out_tiles * ot + (shares ? 0 : uint64_t(pc.out_block_h) * pc.out_block_w * interm_tile) +
               (has_bias ? uint64_t(pc.out_block_w) * bt : 0);
  };

  switch (pc.kind) {
    case MatmulKind::MultiCore:
      if (a.mem.layout != TensorMemoryLayout::Interleaved || b.mem.layout != TensorMemoryLayout::Interleaved || out_sharded)
        fatal("MatmulMultiCoreProgramConfig requires interleaved inputs and output");
      cb_bytes = 2 * at + 2 * bt + 2 * ot;
      break;
    case MatmulKind::Reuse: {
      grid_check();
      subblock_check();
      k_check();
      if (pc.per_core_m == 0 || pc.per_core_n == 0) fatal("per_core_M and per_core_N must be non-zero");
      if (pc.per_core_n != d.Nt) fatal(cat("MatmulMultiCoreReuseProgramConfig requires per_core_N == Nt (", pc.per_core_n, " != ", d.Nt, ")"));
      if (pc.per_core_m % pc.out_subblock_h != 0) fatal(cat("per_core_M ", pc.per_core_m, " must be divisible by out_subblock_h ", pc.out_subblock_h));
      if (pc.per_core_n % pc.out_subblock_w != 0) fatal(cat("per_core_N ", pc.per_core_n, " must be divisible by out_subblock_w ", pc.out_subblock_w));
      if (d.Mt % pc.per_core_m != 0) fatal(cat("Mt ", d.Mt, " must be divisible by per_core_M ", pc.per_core_m));
      const uint32_t blocks = d.Mt / pc.per_core_m, cores = pc.grid_x * pc.grid_y;
      // tt-metal #54798: more output blocks than cores silently produced wrong output.
      if (blocks > cores) fatal(cat("Number of output blocks ", blocks, " exceeds the number of cores ", cores));
      sharded_out_check();
      cb_bytes = uint64_t(pc.per_core_m) * pc.in0_block_w * 2 * at + uint64_t(pc.per_core_n) * pc.in0_block_w * 2 * bt +
                 uint64_t(pc.per_core_m) * pc.per_core_n * ot + (has_bias ? uint64_t(pc.per_core_n) * bt : 0);
      break;
    }
    case MatmulKind::MultiCast2D: {
      grid_check();
      subblock_check();
      k_check();
      block_check();
      const uint32_t by = div_up(d.Mt, pc.per_core_m), bx = div_up(d.Nt, pc.per_core_n);
      const uint32_t rows = pc.transpose_mcast ? pc.grid_x : pc.grid_y;
      const uint32_t cols = pc.transpose_mcast ? pc.grid_y : pc.grid_x;
      if (by > rows) fatal(cat("num_blocks_y ", by, " must be <= the number of grid rows ", rows));
      if (bx > cols) fatal(cat("num_blocks_x ", bx, " must be <= the number of grid columns ", cols));
      if (out_sharded && out_mem.layout != TensorMemoryLayout::BlockSharded) fatal("2D multicast matmul requires a BLOCK_SHARDED output when sharded");
      sharded_out_check();
      mcast_cbs();
      break;
    }
    case MatmulKind::MultiCast1D: {
      grid_check();
      subblock_check();
      k_check();
      block_check();
      const uint32_t blocks = div_up(d.Mt, pc.per_core_m) * div_up(d.Nt, pc.per_core_n);
      if (blocks > pc.grid_x * pc.grid_y)
        fatal(cat("Number of output blocks ", blocks, " must be <= the number of cores ", pc.grid_x * pc.grid_y));
      if (pc.mcast_in0 && div_up(d.Mt, pc.per_core_m) != 1)
        fatal(cat("mcast_in0 requires all of M on one core: ceil(Mt / per_core_M) = ", div_up(d.Mt, pc.per_core_m), " must be 1"));
      if (out_sharded) {
        const bool ok = pc.mcast_in0 ? out_mem.layout == TensorMemoryLayout::WidthSharded
                                     : out_mem.layout == TensorMemoryLayout::HeightSharded;
        if (!ok) fatal("1D multicast matmul output must be WIDTH_SHARDED (mcast_in0) or HEIGHT_SHARDED (mcast_in1)");
      }
      sharded_out_check();
      mcast_cbs();
      break;
    }
    case MatmulKind::DramSharded: {
      k_check();
      if (d.Mt != 1 || pc.per_core_m != 1)
        fatal(cat("currently only support in0 tensor height of tile height (Mt ", d.Mt, ", per_core_M ", pc.per_core_m, ")"));
      if (a.mem.layout != TensorMemoryLayout::WidthSharded || a.mem.buffer != BufferType::L1)
        fatal("DRAM-sharded matmul requires in0 to be L1 WIDTH_SHARDED");
      if (b.mem.layout != TensorMemoryLayout::WidthSharded || b.mem.buffer != BufferType::Dram)
        fatal("DRAM-sharded matmul requires in1 to be DRAM WIDTH_SHARDED");
      if (out_mem.layout != TensorMemoryLayout::WidthSharded || out_mem.buffer != BufferType::L1)
        fatal("DRAM-sharded matmul requires the output to be L1 WIDTH_SHARDED");
      const uint64_t n_compute = div_up(d.Nt, dev.dram_banks);
      const uint64_t num_blocks = d.Kt / pc.in0_block_w;
      cb_bytes = uint64_t(pc.in0_block_w) * (num_blocks > 1 ? 2 : 1) * at + n_compute * pc.in0_block_w * 3 * bt +
                 2 * n_compute * ot + uint64_t(pc.per_core_n) * ot;
      break;
    }
  }
  const uint64_t max_l1 = dev.l1_bytes_per_core - dev.l1_reserved_bytes;
  if (cb_bytes > max_l1)
    fatal(cat("Statically allocated circular buffers on core range [(x=0,y=0) - (x=", pc.grid_x ? pc.grid_x - 1 : 0,
              ",y=", pc.grid_y ? pc.grid_y - 1 : 0, ")] grow to ", cb_bytes, " B which is beyond max L1 size of ", max_l1, " B"));
}

std::unique_ptr<Tensor> matmul_impl(const Tensor& ta, const Tensor& tb, const Tensor* tbias, const MemConfig& mem,
                                    DataType out_dtype, const MatmulConfig& pc, const ComputeConfig& cc) {
  const Tensor::Impl& a = ta.impl();
  const Tensor::Impl& b = tb.impl();
  check_same_device(a, b);
  if (a.layout != Layout::Tile || b.layout != Layout::Tile) fatal("Inputs to matmul must be tilized");
  if (a.dtype == DataType::Uint32 || b.dtype == DataType::Uint32) fatal("Unsupported data format for input a/b: matmul needs floating-point inputs");
  if (out_dtype == DataType::Uint32) fatal("Unsupported output data format UINT32 for matmul");
  if (a.shape.size() < 2 || b.shape.size() < 2) fatal("Input tensors to matmul must have rank >= 2");
  const uint32_t K = a.shape.back();
  if (b.shape[b.shape.size() - 2] != K)
    fatal(cat("The width of the first tensor must be equal to the height of the second tensor. Mismatch: width=", K,
              " height=", b.shape[b.shape.size() - 2]));
  if (volume(b.shape) != uint64_t(K) * b.shape.back())
    fatal("batched in1 (weights with batch > 1) is not supported by the host backend's linear; use batch 1");
  const uint32_t N = b.shape.back();
  const uint64_t M64 = volume(a.shape) / K;
  const uint32_t M = uint32_t(M64);
  MatmulDims d{M, K, N, div_up(M, kTile), div_up(K, kTile), div_up(N, kTile)};
  check_memory_config(a.device, mem, {M, N}, "output");
  if (tbias) {
    const Tensor::Impl& bias = tbias->impl();
    check_same_device(a, bias);
    if (bias.layout != Layout::Tile) fatal("Bias must be tilized");
    if (bias.shape.back() != N || volume(bias.shape) != N)
      fatal(cat("Bias shape ", shape_str(bias.shape), " must be [1, ", N, "] to match the weight's width"));
  }
  validate_program_config(a.device, d, pc, cc, a, b, tbias != nullptr, out_dtype, mem);

  // Compute. K is split into in0_block_w-tile blocks as the config says; without fp32 dest
  // accumulation the packer keeps partial sums as bf16 (Float16_b) between blocks
  // (matmul-rules.md §8: interm format), so we round there.
  std::vector<float> out(size_t(M) * N, 0.0f);
  const uint32_t kb = pc.kind == MatmulKind::MultiCore ? K : std::min(K, pc.in0_block_w * kTile);
  const auto fid = fidelity(cc.math_fidelity);
  if (cc.fp32_dest_acc_en || kb >= K) {
    host::matmul_with_fidelity(a.values.data(), b.values.data(), out.data(), M, K, N, fid, false);
    if (!cc.fp32_dest_acc_en) host::round_to_bf16_inplace(out.data(), out.size());
  } else {
    std::vector<float> ablk(size_t(M) * kb), part(size_t(M) * N);
    for (uint32_t k0 = 0; k0 < K; k0 += kb) {
      const uint32_t kw = std::min(kb, K - k0);
      for (uint32_t i = 0; i < M; ++i) std::memcpy(&ablk[size_t(i) * kw], &a.values[size_t(i) * K + k0], kw * sizeof(float));
      host::matmul_with_fidelity(ablk.data(), &b.values[size_t(k0) * N], part.data(), M, kw, N, fid, false);
      for (size_t i = 0; i < out.size(); ++i) out[i] = host::round_to_bf16(out[i] + part[i]);
    }
  }
  if (tbias) {
    const std::vector<float>& bv = tbias->impl().values;
    for (uint32_t i = 0; i < M; ++i)
      for (uint32_t j = 0; j < N; ++j) out[size_t(i) * N + j] += bv[j];
  }
  const UnaryOp act = pc.fused_activation.op;
  if (act != UnaryOp::None)
    for (float& x : out) x = activate(act, x);
  std::vector<uint32_t> shape = a.shape;
  shape.back() = N;
  return make_tensor(a.device, std::move(shape), out_dtype, Layout::Tile, mem, std::move(out));
}

}  // namespace

rust::String backend_name() { return rust::String("host"); }

std::unique_ptr<Device> open_device(const DeviceDesc& desc, uint32_t device_id) {
  if (device_id != 0) fatal(cat("Device id ", device_id, " is out of range: the host backend emulates one device (id 0)"));
  if (desc.grid_x == 0 || desc.grid_y == 0) fatal("device description has an empty compute grid");
  if (desc.l1_reserved_bytes >= desc.l1_bytes_per_core) fatal("device description reserves all of L1");
  return std::make_unique<Device>(std::make_unique<Device::Impl>(Device::Impl{desc}));
}

DeviceDesc device_desc(const Device& device) { return device.impl().desc; }

std::unique_ptr<Tensor> tensor_from_f32(const Device& device, rust::Slice<const float> data,
                                        rust::Slice<const uint32_t> shape, DataType dtype, Layout layout,
                                        const MemConfig& mem) {
  std::vector<uint32_t> s(shape.begin(), shape.end());
  if (s.empty()) fatal("tensor shape must have rank >= 1");
  if (volume(s) != data.size()) fatal(cat("shape ", shape_str(s), " does not match ", data.size(), " values"));
  if ((dtype == DataType::Bfloat8B || dtype == DataType::Bfloat4B) && layout != Layout::Tile)
    fatal(cat("Tensor with dtype ", dtype_name(dtype), " must be in TILE layout"));
  check_memory_config(device.impl().desc, mem, s, "tensor");
  for (float x : data)
    if (std::isnan(x) && dtype == DataType::Uint32) fatal("UINT32 tensor got NaN");
  return make_tensor(device.impl().desc, std::move(s), dtype, layout, mem, std::vector<float>(data.begin(), data.end()));
}

rust::Vec<float> tensor_to_f32(const Tensor& tensor) {
  rust::Vec<float> out;
  out.reserve(tensor.impl().values.size());
  for (float x : tensor.impl().values) out.push_back(x);
  return out;
}

rust::Vec<uint32_t> tensor_shape(const Tensor& tensor) {
  rust::Vec<uint32_t> out;
  for (uint32_t d : tensor.impl().shape) out.push_back(d);
  return out;
}

DataType tensor_dtype(const Tensor& tensor) { return tensor.impl().dtype; }
Layout tensor_layout(const Tensor& tensor) { return tensor.impl().layout; }
MemConfig tensor_memory_config(const Tensor& tensor) { return tensor.impl().mem; }

std::unique_ptr<Tensor> matmul(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype,
                               const MatmulConfig& program_config, const ComputeConfig& compute) {
  return matmul_impl(a, b, nullptr, mem, dtype, program_config, compute);
}

std::unique_ptr<Tensor> linear(const Tensor& a, const Tensor& b, const Tensor& bias, const MemConfig& mem,
                               DataType dtype, const MatmulConfig& program_config, const ComputeConfig& compute) {
  if (program_config.kind == MatmulKind::MultiCore)
    fatal("MatmulMultiCoreProgramConfig cannot fuse a bias; TT-NN applies it as a separate add");
  return matmul_impl(a, b, &bias, mem, dtype, program_config, compute);
}

std::unique_ptr<Tensor> add(const Tensor& ta, const Tensor& tb, const MemConfig& mem, DataType dtype) {
  const Tensor::Impl& a = ta.impl();
  const Tensor::Impl& b = tb.impl();
  check_same_device(a, b);
  if (a.layout != Layout::Tile || b.layout != Layout::Tile) fatal("add: inputs must be tilized");
  // TT-NN broadcasts b over rows when b is a single row of the same width.
  const bool same = a.shape == b.shape;
  const bool row_bcast = !a.shape.empty() && !b.shape.empty() && b.shape.back() == a.shape.back() && volume(b.shape) == b.shape.back();
  if (!same && !row_bcast) fatal(cat("add: shapes ", shape_str(a.shape), " and ", shape_str(b.shape), " are not broadcastable"));
  std::vector<float> out(a.values.size());
  const size_t w = a.shape.back();
  for (size_t i = 0; i < out.size(); ++i) out[i] = a.values[i] + (same ? b.values[i] : b.values[i % w]);
  return make_tensor(a.device, a.shape, dtype, Layout::Tile, mem, std::move(out));
}

std::unique_ptr<Tensor> silu(const Tensor& ta, const MemConfig& mem) {
  const Tensor::Impl& a = ta.impl();
  if (a.layout != Layout::Tile) fatal("silu: input must be tilized");
  std::vector<float> out(a.values.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = activate(UnaryOp::Silu, a.values[i]);
  const DataType dt = a.dtype == DataType::Float32 ? DataType::Float32 : DataType::Bfloat16;
  return make_tensor(a.device, a.shape, dt, Layout::Tile, mem, std::move(out));
}

std::unique_ptr<Tensor> rms_norm(const Tensor& tx, float epsilon, const Tensor& tw, const MemConfig& mem,
                                 const ComputeConfig& compute) {
  const Tensor::Impl& x = tx.impl();
  const Tensor::Impl& w = tw.impl();
  check_same_device(x, w);
  if (x.layout != Layout::Tile) fatal("rms_norm: input must be tilized");
  const uint32_t W = x.shape.back();
  if (volume(w.shape) != W)
    fatal(cat("rms_norm: weight shape ", shape_str(w.shape), " must hold ", W, " values (the input width)"));
  if (!(epsilon > 0.0f)) fatal("rms_norm: epsilon must be positive");
  (void)compute;
  std::vector<float> out(x.values.size());
  const size_t rows = x.values.size() / W;
  for (size_t r = 0; r < rows; ++r) {
    const float* in = &x.values[r * W];
    double ss = 0.0;
    for (uint32_t j = 0; j < W; ++j) ss += double(in[j]) * in[j];
    const float inv = 1.0f / std::sqrt(float(ss / W) + epsilon);
    for (uint32_t j = 0; j < W; ++j) out[r * W + j] = in[j] * inv * w.values[j];
  }
  const DataType dt = x.dtype == DataType::Float32 ? DataType::Float32 : DataType::Bfloat16;
  return make_tensor(x.device, x.shape, dt, Layout::Tile, mem, std::move(out));
}

}  // namespace tttv2::ffi
