// TT-NN backend: device open/close, tensor upload/download, conversions, diagnostics.
// API facts: ../shared/reference/ttnn-api.md (§10 devices, §11 tensors, §12 types) @ 13adda80.

#include <algorithm>
#include <cctype>
#include <cstring>

#include "../host/gemm.h"
#include "../common/shard_grid.h"
#include "../host/numerics.h"
#include "ttnn_impl.h"

namespace tttv2::ffi {

using namespace tt_detail;
namespace tm = tt::tt_metal;

Device::Impl::~Impl() {
  // close_device may throw; a destructor must not.
  try {
    if (mesh) ttnn::close_device(*mesh);
  } catch (...) {
  }
}

Device::Device(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Device::~Device() = default;
Tensor::Tensor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tensor::~Tensor() = default;

namespace tt_detail {

tm::DataType to_tt(DataType d) {
  switch (d) {
    case DataType::Bfloat16: return tm::DataType::BFLOAT16;
    case DataType::Float32: return tm::DataType::FLOAT32;
    case DataType::Uint32: return tm::DataType::UINT32;
    case DataType::Bfloat8B: return tm::DataType::BFLOAT8_B;
    case DataType::Bfloat4B: return tm::DataType::BFLOAT4_B;
  }
  throw std::invalid_argument("invalid DataType");
}

DataType from_tt(tm::DataType d) {
  switch (d) {
    case tm::DataType::BFLOAT16: return DataType::Bfloat16;
    case tm::DataType::FLOAT32: return DataType::Float32;
    case tm::DataType::UINT32: return DataType::Uint32;
    case tm::DataType::BFLOAT8_B: return DataType::Bfloat8B;
    case tm::DataType::BFLOAT4_B: return DataType::Bfloat4B;
    default: throw std::runtime_error("tensor has a dtype the bridge does not represent");
  }
}

tm::Layout to_tt(Layout l) { return l == Layout::Tile ? tm::Layout::TILE : tm::Layout::ROW_MAJOR; }
Layout from_tt(tm::Layout l) { return l == tm::Layout::TILE ? Layout::Tile : Layout::RowMajor; }

tm::MemoryConfig to_tt(const MemConfig& m) {
  const tm::BufferType buf = m.buffer == BufferType::L1 ? tm::BufferType::L1 : tm::BufferType::DRAM;
  tm::TensorMemoryLayout lay = tm::TensorMemoryLayout::INTERLEAVED;
  switch (m.layout) {
    case TensorMemoryLayout::Interleaved: lay = tm::TensorMemoryLayout::INTERLEAVED; break;
    case TensorMemoryLayout::HeightSharded: lay = tm::TensorMemoryLayout::HEIGHT_SHARDED; break;
    case TensorMemoryLayout::WidthSharded: lay = tm::TensorMemoryLayout::WIDTH_SHARDED; break;
    case TensorMemoryLayout::BlockSharded: lay = tm::TensorMemoryLayout::BLOCK_SHARDED; break;
  }
  if (!m.has_shard) return tm::MemoryConfig(lay, buf);
  const ShardSpecDesc& s = m.shard;
  const bool row = s.orientation == ShardOrientation::RowMajor;
  // The same cores, in the same shard order, as the host backend: the first num_cores cores of the
  // bounding box in orientation order (cpp/common/shard_grid.h). Not num_cores_to_corerangeset:
  // it reads its size as a grid from the origin (tt_metal/common/work_split.cpp @ 13adda80).
  std::vector<CoreRange> ranges;
  for (const grid::CoreRect& r : grid::shard_grid_ranges(s.start_x, s.start_y, s.end_x, s.end_y, s.num_cores, row))
    ranges.emplace_back(CoreCoord(r.x0, r.y0), CoreCoord(r.x1, r.y1));
  // CoreRangeSet(std::vector<CoreRange>&&) keeps the ranges' order (tt_metal/common/core_coord.cpp
  // @ 13adda80), which corerange_to_cores walks for the shard order.
  const CoreRangeSet cores(std::move(ranges));
  return tm::MemoryConfig(lay, buf,
                          tm::ShardSpec(cores, {s.shape_h, s.shape_w}, row ? tm::ShardOrientation::ROW_MAJOR : tm::ShardOrientation::COL_MAJOR));
}

MemConfig from_tt(const tm::MemoryConfig& m) {
  MemConfig out{};
  switch (m.memory_layout()) {
    case tm::TensorMemoryLayout::HEIGHT_SHARDED: out.layout = TensorMemoryLayout::HeightSharded; break;
    case tm::TensorMemoryLayout::WIDTH_SHARDED: out.layout = TensorMemoryLayout::WidthSharded; break;
    case tm::TensorMemoryLayout::BLOCK_SHARDED: out.layout = TensorMemoryLayout::BlockSharded; break;
    default: out.layout = TensorMemoryLayout::Interleaved; break;
  }
  out.buffer = m.buffer_type() == tm::BufferType::L1 ? BufferType::L1 : BufferType::Dram;
  out.has_shard = m.shard_spec().has_value();
  if (out.has_shard) {
    const auto& s = *m.shard_spec();
    const CoreRange bb = s.grid.bounding_box();
    out.shard = ShardSpecDesc{uint32_t(bb.start_coord.x), uint32_t(bb.start_coord.y), uint32_t(bb.end_coord.x),
                              uint32_t(bb.end_coord.y), uint32_t(s.grid.num_cores()), s.shape[0], s.shape[1],
                              s.orientation == tm::ShardOrientation::COL_MAJOR ? ShardOrientation::ColMajor : ShardOrientation::RowMajor};
  }
  return out;
}

ttnn::ComputeKernelConfig to_tt(const ComputeConfig& c) {
  // Every field explicit: the C++ struct's defaults (LoFi, approx on) differ from Python's.
  ttnn::ComputeKernelConfig k{};
  switch (c.math_fidelity) {
    case MathFidelity::LoFi: k.math_fidelity = tm::MathFidelity::LoFi; break;
    case MathFidelity::HiFi2: k.math_fidelity = tm::MathFidelity::HiFi2; break;
    case MathFidelity::HiFi3: k.math_fidelity = tm::MathFidelity::HiFi3; break;
    case MathFidelity::HiFi4: k.math_fidelity = tm::MathFidelity::HiFi4; break;
  }
  k.math_approx_mode = c.math_approx_mode;
  k.fp32_dest_acc_en = c.fp32_dest_acc_en;
  k.packer_l1_acc = c.packer_l1_acc;
  k.dst_full_sync_en = c.dst_full_sync_en;
  return k;
}

ttnn::operations::unary::UnaryOpType unary_type(UnaryOp op) {
  using T = ttnn::operations::unary::UnaryOpType;
  switch (op) {
    case UnaryOp::Relu: return T::RELU;
    case UnaryOp::Silu: return T::SILU;
    case UnaryOp::Gelu: return T::GELU;
    case UnaryOp::Sigmoid: return T::SIGMOID;
    case UnaryOp::None: break;
  }
  throw std::invalid_argument("UnaryOp::None has no TT-NN op type");
}

std::optional<ttnn::operations::unary::UnaryWithParam> to_tt(const Activation& a) {
  using ttnn::operations::unary::UnaryWithParam;
  if (a.op == UnaryOp::None) return std::nullopt;
  if (a.has_param) return UnaryWithParam(unary_type(a.op), a.param);
  return UnaryWithParam(unary_type(a.op));
}

ttnn::operations::matmul::MatmulProgramConfig to_tt(const MatmulConfig& pc) {
  using namespace ttnn::operations::matmul;
  const CoreCoord grid(pc.grid_x, pc.grid_y);
  switch (pc.kind) {
    case MatmulKind::MultiCore: return MatmulMultiCoreProgramConfig{};
    case MatmulKind::Reuse: {
      MatmulMultiCoreReuseProgramConfig c{};
      c.compute_with_storage_grid_size = grid;
      c.in0_block_w = pc.in0_block_w;
      c.out_subblock_h = pc.out_subblock_h;
      c.out_subblock_w = pc.out_subblock_w;
      c.per_core_M = pc.per_core_m;
      c.per_core_N = pc.per_core_n;
      return c;
    }
    case MatmulKind::MultiCast2D: {
      MatmulMultiCoreReuseMultiCastProgramConfig c{};
      c.compute_with_storage_grid_size = grid;
      c.in0_block_w = pc.in0_block_w;
      c.out_subblock_h = pc.out_subblock_h;
      c.out_subblock_w = pc.out_subblock_w;
      // Explicit: the C++ defaults are 0 (Python defaults them to per_core_M/N).
      c.out_block_h = pc.out_block_h;
      c.out_block_w = pc.out_block_w;
      c.per_core_M = pc.per_core_m;
      c.per_core_N = pc.per_core_n;
      c.transpose_mcast = pc.transpose_mcast;
      c.fused_activation = to_tt(pc.fused_activation);
      c.fuse_batch = pc.fuse_batch;
      return c;
    }
    case MatmulKind::MultiCast1D: {
      MatmulMultiCoreReuseMultiCast1DProgramConfig c{};
      c.compute_with_storage_grid_size = grid;
      c.in0_block_w = pc.in0_block_w;
      c.out_subblock_h = pc.out_subblock_h;
      c.out_subblock_w = pc.out_subblock_w;
      c.out_block_h = pc.out_block_h;
      c.out_block_w = pc.out_block_w;
      c.per_core_M = pc.per_core_m;
      c.per_core_N = pc.per_core_n;
      c.fuse_batch = pc.fuse_batch;
      c.fused_activation = to_tt(pc.fused_activation);
      c.mcast_in0 = pc.mcast_in0;
      c.gather_in0 = false;
      c.num_global_cb_receivers = 1;  // Python's default
      c.untilize_out = false;
      return c;
    }
    case MatmulKind::DramSharded: {
      MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig c{};
      c.in0_block_w = pc.in0_block_w;
      c.per_core_M = pc.per_core_m;
      c.per_core_N = pc.per_core_n;
      c.fused_activation = to_tt(pc.fused_activation);
      return c;
    }
  }
  throw std::invalid_argument("invalid MatmulKind");
}

std::unique_ptr<Tensor> wrap(ttnn::Tensor t, const Tensor::Impl& like) {
  return std::make_unique<Tensor>(std::make_unique<Tensor::Impl>(Tensor::Impl{std::move(t), like.mesh, like.desc}));
}

}  // namespace tt_detail

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

ttnn::Shape shape_of(rust::Slice<const uint32_t> shape) {
  return ttnn::Shape(ttsl::SmallVector<uint32_t>(shape.begin(), shape.end()));
}

}  // namespace

rust::String backend_name() { return rust::String("ttnn"); }

std::unique_ptr<Device> open_device(const DeviceDesc& desc, uint32_t device_id) {
  // N300 / T3K: ETH dispatch, as Python's get_default_dispatch_core_type picks; with the C++
  // default (WORKER) their grid would be 8x7 instead of 8x8 (hardware.md).
  const std::string name = lower(std::string(desc.name));
  const bool eth = name.find("n300") != std::string::npos || name.find("t3k") != std::string::npos;
  const tm::DispatchCoreConfig dispatch = eth ? tm::DispatchCoreConfig(tm::DispatchCoreType::ETH) : tm::DispatchCoreConfig();
  auto mesh = ttnn::open_mesh_device(int(device_id), /*l1_small_size=*/0, /*trace_region_size=*/0,
                                     /*num_command_queues=*/1, dispatch);
  auto impl = std::make_unique<Device::Impl>();
  impl->mesh = std::move(mesh);
  impl->desc = desc;
  return std::make_unique<Device>(std::move(impl));
}

DeviceDesc device_desc(const Device& device) {
  const Device::Impl& d = device.impl();
  DeviceDesc out = d.desc;  // name, DRAM size and reservations as described
  const CoreCoord g = d.mesh->compute_with_storage_grid_size();
  out.grid_x = uint32_t(g.x);
  out.grid_y = uint32_t(g.y);
  switch (d.mesh->arch()) {
    case tt::ARCH::WORMHOLE_B0: out.arch = Arch::WormholeB0; break;
    case tt::ARCH::BLACKHOLE: out.arch = Arch::Blackhole; break;
    default: out.arch = Arch::Grayskull; break;
  }
  out.l1_bytes_per_core = d.mesh->l1_size_per_core();
  out.dram_banks = uint32_t(d.mesh->dram_grid_size().x);
  return out;
}

std::unique_ptr<Tensor> tensor_from_f32(const Device& device, rust::Slice<const float> data, rust::Slice<const uint32_t> shape,
                                        DataType dtype, Layout layout, const MemConfig& mem) {
  const tm::MemoryConfig mc = to_tt(mem);
  const tm::TensorSpec spec(shape_of(shape), tm::TensorLayout(to_tt(dtype), tm::PageConfig(to_tt(layout)), mc));
  // BFLOAT8_B / BFLOAT4_B need T = float; conversion and tilization happen on the host.
  std::vector<float> buf(data.begin(), data.end());
  ttnn::Tensor host = ttnn::Tensor::from_vector(std::move(buf), spec);
  const Device::Impl& d = device.impl();
  ttnn::Tensor dev = host.to_device(d.mesh.get(), mc);
  return std::make_unique<Tensor>(std::make_unique<Tensor::Impl>(Tensor::Impl{std::move(dev), d.mesh, d.desc}));
}

std::unique_ptr<Tensor> tensor_from_u32(const Device& device, rust::Slice<const uint32_t> data, rust::Slice<const uint32_t> shape,
                                        Layout layout, const MemConfig& mem) {
  const tm::MemoryConfig mc = to_tt(mem);
  const tm::TensorSpec spec(shape_of(shape), tm::TensorLayout(tm::DataType::UINT32, tm::PageConfig(to_tt(layout)), mc));
  std::vector<uint32_t> buf(data.begin(), data.end());
  ttnn::Tensor host = ttnn::Tensor::from_vector(std::move(buf), spec);
  const Device::Impl& d = device.impl();
  ttnn::Tensor dev = host.to_device(d.mesh.get(), mc);
  return std::make_unique<Tensor>(std::make_unique<Tensor::Impl>(Tensor::Impl{std::move(dev), d.mesh, d.desc}));
}

std::unique_ptr<Tensor> tensor_zeros(const Device& device, rust::Slice<const uint32_t> shape, DataType dtype,
                                     Layout layout, const MemConfig& mem) {
  // ttnn::zeros(shape, dtype, layout, device, memory_config) (operations/creation/creation.hpp @ 13adda80).
  const Device::Impl& d = device.impl();
  ttnn::Tensor t = ttnn::zeros(shape_of(shape), to_tt(dtype), to_tt(layout), std::ref(*d.mesh), to_tt(mem));
  return std::make_unique<Tensor>(std::make_unique<Tensor::Impl>(Tensor::Impl{std::move(t), d.mesh, d.desc}));
}

rust::Vec<float> tensor_to_f32(const Tensor& tensor) {
  const std::vector<float> v = tt(tensor).to_vector<float>();
  rust::Vec<float> out;
  out.reserve(v.size());
  for (float x : v) out.push_back(x);
  return out;
}

rust::Vec<uint32_t> tensor_to_u32(const Tensor& tensor) {
  const std::vector<uint32_t> v = tt(tensor).to_vector<uint32_t>();
  rust::Vec<uint32_t> out;
  out.reserve(v.size());
  for (uint32_t x : v) out.push_back(x);
  return out;
}

rust::Vec<uint32_t> tensor_shape(const Tensor& tensor) {
  rust::Vec<uint32_t> out;
  const auto& s = tt(tensor).logical_shape();
  for (size_t i = 0; i < s.rank(); ++i) out.push_back(s[i]);
  return out;
}

DataType tensor_dtype(const Tensor& tensor) { return from_tt(tt(tensor).dtype()); }
Layout tensor_layout(const Tensor& tensor) { return from_tt(tt(tensor).layout()); }
MemConfig tensor_memory_config(const Tensor& tensor) { return from_tt(tt(tensor).memory_config()); }

rust::Vec<ShardPlacement> tensor_shards(const Tensor& tensor) {
  // Shard i sits on core i of the shard grid in orientation order (corerange_to_cores).
  rust::Vec<ShardPlacement> out;
  const auto& mc = tt(tensor).memory_config();
  if (!mc.shard_spec().has_value()) return out;
  const auto& s = *mc.shard_spec();
  const bool row = s.orientation == tm::ShardOrientation::ROW_MAJOR;
  const auto cores = corerange_to_cores(s.grid, std::nullopt, row);
  const auto padded = tt(tensor).padded_shape();
  const uint32_t W = padded[-1];
  uint32_t H = 1;
  for (size_t i = 0; i + 1 < padded.rank(); ++i) H *= padded[i];
  const uint32_t nw = (W + s.shape[1] - 1) / s.shape[1];
  for (size_t i = 0; i < cores.size(); ++i) {
    uint32_t r = 0, c = 0;
    if (mc.memory_layout() == tm::TensorMemoryLayout::HEIGHT_SHARDED) r = uint32_t(i) * s.shape[0];
    else if (mc.memory_layout() == tm::TensorMemoryLayout::WIDTH_SHARDED) c = uint32_t(i) * s.shape[1];
    else { r = uint32_t(i / nw) * s.shape[0]; c = uint32_t(i % nw) * s.shape[1]; }
    if (r >= H || c >= W) continue;
    out.push_back(ShardPlacement{uint32_t(cores[i].x), uint32_t(cores[i].y), r, c, s.shape[0], s.shape[1]});
  }
  return out;
}

rust::Vec<float> tensor_shard_values(const Tensor&, uint32_t) {
  throw std::runtime_error("tensor_shard_values is a host-backend diagnostic; the TT-NN backend does not read single shards");
}

rust::Vec<uint32_t> tensor_raw_words(const Tensor&) {
  throw std::runtime_error("tensor_raw_words is a host-backend diagnostic; the TT-NN backend does not expose device pages");
}

rust::Vec<uint32_t> pack_block_float(rust::Slice<const float> data, uint32_t rows, uint32_t cols, DataType dtype) {
  // The same host packer as the host backend (cpp/host/numerics.cc, byte-identical to
  // tt-metal's pack_as_bfp{8,4}_tiles).
  if ((dtype != DataType::Bfloat8B && dtype != DataType::Bfloat4B) || rows % 32 || cols % 32 || !rows || !cols ||
      uint64_t(rows) * cols != data.size())
    throw std::invalid_argument("pack_block_float: need BFLOAT8_B/BFLOAT4_B and a rows x cols (multiples of 32) slice");
  std::vector<float> tiled(data.size());
  host::tilize(data.data(), rows, cols, tiled.data());
  const auto w = dtype == DataType::Bfloat8B ? host::pack_bfp8_b(tiled.data(), tiled.size() / 1024)
                                             : host::pack_bfp4_b(tiled.data(), tiled.size() / 1024);
  rust::Vec<uint32_t> out;
  for (uint32_t x : w) out.push_back(x);
  return out;
}

rust::Vec<float> unpack_block_float(rust::Slice<const uint32_t> words, uint32_t rows, uint32_t cols, DataType dtype) {
  if ((dtype != DataType::Bfloat8B && dtype != DataType::Bfloat4B) || rows % 32 || cols % 32 || !rows || !cols)
    throw std::invalid_argument("unpack_block_float: need BFLOAT8_B/BFLOAT4_B and rows, cols multiples of 32");
  const size_t tiles = size_t(rows / 32) * (cols / 32);
  const size_t per = dtype == DataType::Bfloat8B ? host::kBfp8WordsPerTile : host::kBfp4WordsPerTile;
  if (words.size() != tiles * per) throw std::invalid_argument("unpack_block_float: word count does not match the tiles");
  std::vector<float> tiled(tiles * 1024), rm(tiled.size());
  if (dtype == DataType::Bfloat8B) host::unpack_bfp8_b(words.data(), tiles, tiled.data());
  else host::unpack_bfp4_b(words.data(), tiles, tiled.data());
  host::untilize(tiled.data(), rows, cols, rm.data());
  rust::Vec<float> out;
  for (float x : rm) out.push_back(x);
  return out;
}

void host_sgemm(uint32_t m, uint32_t n, uint32_t k, rust::Slice<const float> a, rust::Slice<const float> b,
                rust::Slice<float> c, uint32_t num_threads) {
  if (a.size() != uint64_t(m) * k || b.size() != uint64_t(k) * n || c.size() != uint64_t(m) * n)
    throw std::invalid_argument("host_sgemm: slice lengths do not match m, n, k");
  host::sgemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, false, num_threads);
}

void host_set_matmul_path(uint32_t path) {
  // Only the host backend has a choice of matmul implementations.
  if (path != 0) throw std::invalid_argument("host_set_matmul_path: the TT-NN backend has one matmul path (0 = auto)");
}

uint64_t host_sharded_gathers() { return 0; }

}  // namespace tttv2::ffi
