// Host backend: devices, tensors (upload / download / placement), layout and dtype conversion,
// memory-config moves, and the diagnostic entry points (block-float packing, raw pages, sgemm).

#include <algorithm>
#include <numeric>

#include "../common/shard_grid.h"
#include "host_impl.h"

namespace tttv2::ffi {

Device::Device(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Device::~Device() = default;
Tensor::Tensor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tensor::~Tensor() = default;

namespace host_detail {

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

const char* layout_name(Layout l) { return l == Layout::Tile ? "TILE" : "ROW_MAJOR"; }

const char* mem_layout_name(TensorMemoryLayout l) {
  switch (l) {
    case TensorMemoryLayout::Interleaved: return "INTERLEAVED";
    case TensorMemoryLayout::HeightSharded: return "HEIGHT_SHARDED";
    case TensorMemoryLayout::WidthSharded: return "WIDTH_SHARDED";
    case TensorMemoryLayout::BlockSharded: return "BLOCK_SHARDED";
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

bool is_float(DataType d) { return d != DataType::Uint32; }

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
  // Block floats are quantized per 32x32 tile of each 2D slice, with zero padding, as tt-metal
  // packs a padded TILE tensor (tensor_impl.cpp -> pack_as_bfp{8,4}_tiles).
  const uint32_t rows = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
  const uint32_t cols = shape.empty() ? 1 : shape.back();
  const uint64_t slices = rows && cols ? v.size() / (uint64_t(rows) * cols) : 0;
  const uint32_t pr = round_up(rows, kTile), pc = round_up(cols, kTile);
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

void physical_2d(const std::vector<uint32_t>& shape, Layout layout, uint32_t& height, uint32_t& width) {
  const uint32_t w = shape.empty() ? 1 : shape.back();
  const uint32_t h = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
  uint64_t outer = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i) outer *= shape[i];
  if (layout == Layout::Tile) {
    height = uint32_t(outer * round_up(h, kTile));
    width = round_up(w, kTile);
  } else {
    height = uint32_t(outer * h);
    width = w;
  }
}

namespace {

// The cores of a shard grid in shard order (the first num_cores cores of the bounding box in
// orientation order), for height/width sharding; the TT-NN backend builds its CoreRangeSet from
// the same helper (cpp/common/shard_grid.h).
std::vector<std::pair<uint32_t, uint32_t>> shard_cores(const ShardSpecDesc& s) {
  return grid::shard_grid_cores(s.start_x, s.start_y, s.end_x, s.end_y, s.num_cores, s.orientation == ShardOrientation::RowMajor);
}

}  // namespace

void check_memory_config(const DeviceDesc& dev, const MemConfig& mem, const std::vector<uint32_t>& shape, Layout layout,
                         const char* what) {
  if (mem.layout == TensorMemoryLayout::Interleaved) return;
  if (!mem.has_shard) fatal("MemoryConfig must have Shard Spec specified for sharded memory layout");
  const ShardSpecDesc& s = mem.shard;
  // DRAM shards live on DRAM banks (a dram_banks x 1 grid); L1 shards on the compute grid.
  const uint32_t gx = mem.buffer == BufferType::Dram ? dev.dram_banks : dev.grid_x;
  const uint32_t gy = mem.buffer == BufferType::Dram ? 1 : dev.grid_y;
  if (s.start_x > s.end_x || s.start_y > s.end_y || s.end_x >= gx || s.end_y >= gy)
    fatal(cat(what, ": shard grid [(x=", s.start_x, ",y=", s.start_y, ") - (x=", s.end_x, ",y=", s.end_y,
              ")] is outside the ", mem.buffer == BufferType::Dram ? "DRAM bank grid " : "compute grid ", gx, "x", gy));
  const uint32_t box = (s.end_x - s.start_x + 1) * (s.end_y - s.start_y + 1);
  if (s.num_cores == 0 || s.num_cores > box)
    fatal(cat(what, ": shard spec num_cores ", s.num_cores, " must be in 1..=", box, " (its grid's bounding box)"));
  if (s.shape_h == 0 || s.shape_w == 0) fatal(cat(what, ": shard shape must be non-zero"));
  // tensor_layout.cpp: "Physical shard shape {} must be tile {} sized!"
  if (layout == Layout::Tile && (s.shape_h % kTile || s.shape_w % kTile))
    fatal(cat("Physical shard shape [", s.shape_h, ", ", s.shape_w, "] must be tile [32, 32] sized!"));
  uint32_t H = 0, W = 0;
  physical_2d(shape, layout, H, W);
  // tensor_spec.cpp get_shape_fits_shard_grid_error.
  switch (mem.layout) {
    case TensorMemoryLayout::HeightSharded: {
      if (W != s.shape_w) fatal(cat("Shard width ", s.shape_w, " must match physical width ", W, " for height sharded"));
      const uint32_t n = div_up(H, s.shape_h);
      if (n > s.num_cores) fatal(cat("Number of shards along height ", n, " must not exceed number of cores ", s.num_cores));
      break;
    }
    case TensorMemoryLayout::WidthSharded: {
      if (H != s.shape_h) fatal(cat("Shard height ", s.shape_h, " must match physical height ", H, " for width sharded"));
      const uint32_t n = div_up(W, s.shape_w);
      if (n > s.num_cores) fatal(cat("Number of shards along width ", n, " must not exceed number of cores ", s.num_cores));
      break;
    }
    case TensorMemoryLayout::BlockSharded: {
      if (s.num_cores != box) fatal("Shard grid must be one full rectangular grid for block sharded!");
      const uint32_t nh = div_up(H, s.shape_h), nw = div_up(W, s.shape_w);
      const uint32_t rows = s.end_y - s.start_y + 1, cols = s.end_x - s.start_x + 1;
      if (s.orientation == ShardOrientation::RowMajor) {
        if (nh > rows) fatal(cat("Number of shards along height ", nh, " must not exceed number of rows ", rows, " for row major orientation!"));
        if (nw > cols) fatal(cat("Number of shards along width ", nw, " must not exceed number of columns ", cols, " for row major orientation!"));
      } else {
        if (nh > cols) fatal(cat("Number of shards along height ", nh, " must not exceed number of columns ", cols, " for column major orientation!"));
        if (nw > rows) fatal(cat("Number of shards along width ", nw, " must not exceed number of rows ", rows, " for column major orientation!"));
      }
      break;
    }
    case TensorMemoryLayout::Interleaved: break;
  }
}

namespace {

// Maps a logical row-major index space onto the physical 2D shape: calls f(logical_offset,
// physical_row, physical_col, run_length) for each logical row.
template <typename F>
void for_each_row(const std::vector<uint32_t>& shape, Layout layout, F&& f) {
  const uint32_t w = shape.empty() ? 1 : shape.back();
  const uint32_t h = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
  uint64_t outer = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i) outer *= shape[i];
  const uint32_t hp = layout == Layout::Tile ? round_up(h, kTile) : h;
  for (uint64_t o = 0; o < outer; ++o)
    for (uint32_t r = 0; r < h; ++r) f((o * h + r) * w, uint32_t(o * hp + r), w);
}

void place_shards(Tensor::Impl& t) {
  const ShardSpecDesc& s = t.mem.shard;
  const auto cores = shard_cores(s);
  uint32_t H = 0, W = 0;
  physical_2d(t.shape, t.layout, H, W);
  const uint32_t nh = div_up(H, s.shape_h), nw = div_up(W, s.shape_w);
  t.shards.clear();
  auto add = [&](uint32_t cx, uint32_t cy, uint32_t r0, uint32_t c0) {
    t.shards.push_back(HostShard{cx, cy, r0, c0, std::vector<float>(size_t(s.shape_h) * s.shape_w, 0.0f)});
  };
  switch (t.mem.layout) {
    case TensorMemoryLayout::HeightSharded:
      for (size_t i = 0; i < cores.size(); ++i) add(cores[i].first, cores[i].second, uint32_t(i) * s.shape_h, 0);
      break;
    case TensorMemoryLayout::WidthSharded:
      for (size_t i = 0; i < cores.size(); ++i) add(cores[i].first, cores[i].second, 0, uint32_t(i) * s.shape_w);
      break;
    case TensorMemoryLayout::BlockSharded:
      for (uint32_t r = 0; r < nh; ++r)
        for (uint32_t c = 0; c < nw; ++c) {
          const bool rm = s.orientation == ShardOrientation::RowMajor;
          add(s.start_x + (rm ? c : r), s.start_y + (rm ? r : c), r * s.shape_h, c * s.shape_w);
        }
      break;
    case TensorMemoryLayout::Interleaved: return;
  }
  // Scatter each logical row into the shards it crosses.
  for_each_row(t.shape, t.layout, [&](uint64_t off, uint32_t prow, uint32_t w) {
    for (HostShard& sh : t.shards) {
      if (prow < sh.row0 || prow >= sh.row0 + s.shape_h) continue;
      const uint32_t c0 = sh.col0, c1 = std::min(w, sh.col0 + s.shape_w);
      if (c0 >= c1) continue;
      std::memcpy(&sh.data[size_t(prow - sh.row0) * s.shape_w], &t.values[off + c0], (c1 - c0) * sizeof(float));
    }
  });
  t.values.clear();
  t.values.shrink_to_fit();
}

}  // namespace

// Gathers of sharded tensors on this thread (host_sharded_gathers: lets tests check that matmul
// weights are gathered once, not per call).
thread_local uint64_t t_sharded_gathers = 0;

std::vector<float> read_values(const Tensor::Impl& t) {
  if (t.shards.empty()) return t.values;
  ++t_sharded_gathers;
  const ShardSpecDesc& s = t.mem.shard;
  std::vector<float> out(volume(t.shape), 0.0f);
  for_each_row(t.shape, t.layout, [&](uint64_t off, uint32_t prow, uint32_t w) {
    for (const HostShard& sh : t.shards) {
      if (prow < sh.row0 || prow >= sh.row0 + s.shape_h) continue;
      const uint32_t c0 = sh.col0, c1 = std::min(w, sh.col0 + s.shape_w);
      if (c0 >= c1) continue;
      std::memcpy(&out[off + c0], &sh.data[size_t(prow - sh.row0) * s.shape_w], (c1 - c0) * sizeof(float));
    }
  });
  return out;
}

const float* values_view(const Tensor::Impl& t, std::vector<float>& scratch) {
  if (t.shards.empty()) return t.values.data();
  scratch = read_values(t);
  return scratch.data();
}

void write_rows(Tensor::Impl& t, uint64_t row0, const float* src, uint64_t rows) {
  if (!t.shards.empty() || t.mem.layout != TensorMemoryLayout::Interleaved) fatal("write_rows: the tensor must be interleaved");
  const uint32_t w = t.shape.empty() ? 1 : t.shape.back();
  if ((row0 + rows) * w > t.values.size()) fatal("write_rows: rows past the end of the tensor");
  std::vector<float> v(src, src + rows * w);
  quantize(v, {uint32_t(rows), w}, t.dtype);
  std::memcpy(&t.values[row0 * w], v.data(), v.size() * sizeof(float));
  t.wcache.reset();
}

std::unique_ptr<Tensor> make_tensor(const DeviceDesc& dev, std::vector<uint32_t> shape, DataType dtype, Layout layout,
                                    const MemConfig& mem, std::vector<float> values) {
  if ((dtype == DataType::Bfloat8B || dtype == DataType::Bfloat4B) && layout != Layout::Tile)
    fatal(cat("Tensor with dtype ", dtype_name(dtype), " must be in TILE layout"));
  check_memory_config(dev, mem, shape, layout, "tensor");
  auto impl = std::make_unique<Tensor::Impl>(
      Tensor::Impl{dev, std::move(shape), dtype, layout, mem, std::move(values), {}, {}});
  quantize(impl->values, impl->shape, dtype);
  if (mem.layout != TensorMemoryLayout::Interleaved) place_shards(*impl);
  return std::make_unique<Tensor>(std::move(impl));
}

void check_same_device(const Tensor::Impl& a, const Tensor::Impl& b, const char* op) {
  if (std::string(a.device.name) != std::string(b.device.name))
    fatal(cat("Operands to ", op, " need to be on the same device!"));
}

void check_tile(const Tensor::Impl& t, const std::string& msg) {
  if (t.layout != Layout::Tile) fatal(msg);
}

float activate(UnaryOp op, float x, bool has_param, float param) {
  switch (op) {
    case UnaryOp::None: return x;
    case UnaryOp::Relu: return x > 0.0f ? x : 0.0f;
    case UnaryOp::Silu: return x / (1.0f + std::exp(-x));
    case UnaryOp::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case UnaryOp::Gelu:
      // UnaryWithParam(GELU, 1.0) selects the fast/approximate (tanh) form.
      if (has_param && param != 0.0f) {
        const float c = 0.7978845608028654f;  // sqrt(2/pi)
        return 0.5f * x * (1.0f + std::tanh(c * (x + 0.044715f * x * x * x)));
      }
      return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
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

uint32_t dest_tiles(const ComputeConfig& c) {
  // compute_kernel_config.cpp::get_dest_reg_count (matmul-rules.md §1).
  uint32_t n = 16;
  if (!c.dst_full_sync_en) n /= 2;
  if (c.fp32_dest_acc_en) n /= 2;
  return n;
}

}  // namespace host_detail

using namespace host_detail;

rust::String backend_name() { return rust::String("host"); }

std::unique_ptr<Device> open_device(const DeviceDesc& desc, uint32_t device_id) {
  if (device_id != 0) fatal(cat("Device id ", device_id, " is out of range: the host backend emulates one device (id 0)"));
  if (desc.grid_x == 0 || desc.grid_y == 0) fatal("device description has an empty compute grid");
  if (desc.l1_reserved_bytes >= desc.l1_bytes_per_core) fatal("device description reserves all of L1");
  return std::make_unique<Device>(std::make_unique<Device::Impl>(Device::Impl{desc}));
}

DeviceDesc device_desc(const Device& device) { return device.impl().desc; }

std::unique_ptr<Tensor> tensor_zeros(const Device& device, rust::Slice<const uint32_t> shape, DataType dtype,
                                     Layout layout, const MemConfig& mem) {
  std::vector<uint32_t> s(shape.begin(), shape.end());
  if (s.empty()) fatal("tensor shape must have rank >= 1");
  const uint64_t n = volume(s);
  return make_tensor(device.impl().desc, std::move(s), dtype, layout, mem, std::vector<float>(n, 0.0f));
}

std::unique_ptr<Tensor> tensor_from_f32(const Device& device, rust::Slice<const float> data,
                                        rust::Slice<const uint32_t> shape, DataType dtype, Layout layout,
                                        const MemConfig& mem) {
  std::vector<uint32_t> s(shape.begin(), shape.end());
  if (s.empty()) fatal("tensor shape must have rank >= 1");
  if (volume(s) != data.size()) fatal(cat("shape ", shape_str(s), " does not match ", data.size(), " values"));
  for (float x : data)
    if (std::isnan(x) && dtype == DataType::Uint32) fatal("UINT32 tensor got NaN");
  return make_tensor(device.impl().desc, std::move(s), dtype, layout, mem, std::vector<float>(data.begin(), data.end()));
}

std::unique_ptr<Tensor> tensor_from_u32(const Device& device, rust::Slice<const uint32_t> data,
                                        rust::Slice<const uint32_t> shape, Layout layout, const MemConfig& mem) {
  std::vector<uint32_t> s(shape.begin(), shape.end());
  if (s.empty()) fatal("tensor shape must have rank >= 1");
  if (volume(s) != data.size()) fatal(cat("shape ", shape_str(s), " does not match ", data.size(), " values"));
  std::vector<float> v(data.size());
  for (size_t i = 0; i < v.size(); ++i) {
    // Values are held as f32; ids up to 2^24 are exact, which covers every vocabulary we run.
    if (data[i] > (1u << 24)) fatal(cat("UINT32 value ", data[i], " is above 2^24, which the host backend cannot hold exactly"));
    v[i] = float(data[i]);
  }
  return make_tensor(device.impl().desc, std::move(s), DataType::Uint32, layout, mem, std::move(v));
}

rust::Vec<float> tensor_to_f32(const Tensor& tensor) {
  const std::vector<float> v = read_values(tensor.impl());
  rust::Vec<float> out;
  out.reserve(v.size());
  for (float x : v) out.push_back(x);
  return out;
}

rust::Vec<uint32_t> tensor_to_u32(const Tensor& tensor) {
  if (tensor.impl().dtype != DataType::Uint32)
    fatal(cat("to_u32 needs a UINT32 tensor, got ", dtype_name(tensor.impl().dtype)));
  const std::vector<float> v = read_values(tensor.impl());
  rust::Vec<uint32_t> out;
  out.reserve(v.size());
  for (float x : v) out.push_back(uint32_t(x));
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

rust::Vec<ShardPlacement> tensor_shards(const Tensor& tensor) {
  rust::Vec<ShardPlacement> out;
  const Tensor::Impl& t = tensor.impl();
  for (const HostShard& s : t.shards)
    out.push_back(ShardPlacement{s.core_x, s.core_y, s.row0, s.col0, t.mem.shard.shape_h, t.mem.shard.shape_w});
  return out;
}

rust::Vec<float> tensor_shard_values(const Tensor& tensor, uint32_t index) {
  const Tensor::Impl& t = tensor.impl();
  if (index >= t.shards.size()) fatal(cat("shard index ", index, " is out of range: the tensor has ", t.shards.size(), " shards"));
  rust::Vec<float> out;
  for (float x : t.shards[index].data) out.push_back(x);
  return out;
}

// The bytes a device buffer holds for this tensor, page after page as 32-bit words
// (interleaved page order): ROW_MAJOR pages are rows; TILE pages are 32x32 tiles of four 16x16
// faces (bf16: two values per word, the first in the low half; bfp8/bfp4: tt-metal's packing).
rust::Vec<uint32_t> tensor_raw_words(const Tensor& tensor) {
  const Tensor::Impl& t = tensor.impl();
  const std::vector<float> v = read_values(t);
  std::vector<uint32_t> words;
  auto push_values = [&](const float* p, size_t n) {
    switch (t.dtype) {
      case DataType::Bfloat16:
        for (size_t i = 0; i < n; i += 2) {
          const uint32_t lo = host::f32_to_bf16_bits(p[i]);
          const uint32_t hi = i + 1 < n ? host::f32_to_bf16_bits(p[i + 1]) : 0;
          words.push_back(lo | (hi << 16));
        }
        break;
      case DataType::Uint32:
        for (size_t i = 0; i < n; ++i) words.push_back(uint32_t(p[i]));
        break;
      case DataType::Float32:
        for (size_t i = 0; i < n; ++i) {
          uint32_t b;
          std::memcpy(&b, &p[i], 4);
          words.push_back(b);
        }
        break;
      case DataType::Bfloat8B:
      case DataType::Bfloat4B: {
        const auto packed = t.dtype == DataType::Bfloat8B ? host::pack_bfp8_b(p, n / host::kTileElems)
                                                          : host::pack_bfp4_b(p, n / host::kTileElems);
        words.insert(words.end(), packed.begin(), packed.end());
        break;
      }
    }
  };
  if (t.layout == Layout::RowMajor) {
    push_values(v.data(), v.size());
  } else {
    const uint32_t rows = t.shape.size() >= 2 ? t.shape[t.shape.size() - 2] : 1, cols = t.shape.back();
    const uint32_t pr = round_up(rows, kTile), pc = round_up(cols, kTile);
    const uint64_t slices = volume(t.shape) / (uint64_t(rows) * cols);
    std::vector<float> padded(size_t(pr) * pc), tiled(size_t(pr) * pc);
    for (uint64_t s = 0; s < slices; ++s) {
      std::fill(padded.begin(), padded.end(), 0.0f);
      for (uint32_t r = 0; r < rows; ++r)
        std::memcpy(&padded[size_t(r) * pc], &v[(s * rows + r) * cols], cols * sizeof(float));
      host::tilize(padded.data(), pr, pc, tiled.data());
      push_values(tiled.data(), tiled.size());
    }
  }
  rust::Vec<uint32_t> out;
  out.reserve(words.size());
  for (uint32_t w : words) out.push_back(w);
  return out;
}

std::unique_ptr<Tensor> typecast(const Tensor& tx, DataType dtype, const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  // typecast_device_operation.cpp: the device typecast works on tiles.
  check_tile(x, "Typecast operation requires input to be in Tile Layout");
  std::vector<float> v = read_values(x);
  if (dtype == DataType::Uint32)
    for (float& f : v) f = std::isfinite(f) && f > 0.0f ? std::nearbyint(f) : 0.0f;  // RNE, negatives clamp to 0
  return make_tensor(x.device, x.shape, dtype, Layout::Tile, mem, std::move(v));
}

std::unique_ptr<Tensor> to_layout(const Tensor& tx, Layout layout, DataType dtype, const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  if (layout == Layout::RowMajor && (dtype == DataType::Bfloat8B || dtype == DataType::Bfloat4B))
    fatal(cat("Tensor with dtype ", dtype_name(dtype), " must be in TILE layout"));
  // The values are the same; the pages change (tilize / untilize), which tensor_raw_words shows.
  return make_tensor(x.device, x.shape, dtype, layout, mem, read_values(x));
}

// ttnn::slice with step 1 (data_movement/slice/slice.cpp validates rank and bounds the same way).
std::unique_ptr<Tensor> slice(const Tensor& tx, rust::Slice<const uint32_t> begins, rust::Slice<const uint32_t> ends,
                              const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  const size_t rank = x.shape.size();
  if (begins.size() != rank || ends.size() != rank)
    fatal(cat("Input rank ", rank, " and begins (", begins.size(), ") / ends (", ends.size(), ") must have the same size"));
  std::vector<uint32_t> out_shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (begins[i] >= ends[i] || ends[i] > x.shape[i])
      fatal(cat("Slice range [", begins[i], ", ", ends[i], ") of dim ", i, " is empty or outside its size ", x.shape[i]));
    out_shape[i] = ends[i] - begins[i];
  }
  const std::vector<float> v = read_values(x);
  std::vector<float> out(size_t(volume(out_shape)));
  // Row-major strides of the input.
  std::vector<uint64_t> stride(rank, 1);
  for (size_t i = rank; i-- > 1;) stride[i - 1] = stride[i] * x.shape[i];
  std::vector<uint32_t> idx(rank, 0);
  for (size_t o = 0; o < out.size(); ++o) {
    uint64_t src = 0;
    for (size_t i = 0; i < rank; ++i) src += (begins[i] + idx[i]) * stride[i];
    out[o] = v[src];
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < out_shape[i]) break;
      idx[i] = 0;
    }
  }
  return make_tensor(x.device, std::move(out_shape), x.dtype, x.layout, mem, std::move(out));
}

// ttnn::reshape: a view with the same volume (reshape_view/reshape.cpp).
std::unique_ptr<Tensor> reshape(const Tensor& tx, rust::Slice<const uint32_t> shape, const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  std::vector<uint32_t> s(shape.begin(), shape.end());
  if (s.empty() || volume(s) != volume(x.shape))
    fatal(cat("Invalid arguments to reshape: ", shape_str(x.shape), " has volume ", volume(x.shape), " but ", shape_str(s),
              " has volume ", s.empty() ? 0 : volume(s)));
  return make_tensor(x.device, std::move(s), x.dtype, x.layout, mem, read_values(x));
}

std::unique_ptr<Tensor> to_memory_config(const Tensor& tx, const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  return make_tensor(x.device, x.shape, x.dtype, x.layout, mem, read_values(x));
}

rust::Vec<uint32_t> pack_block_float(rust::Slice<const float> data, uint32_t rows, uint32_t cols, DataType dtype) {
  if (dtype != DataType::Bfloat8B && dtype != DataType::Bfloat4B)
    fatal(cat("pack_block_float packs BFLOAT8_B or BFLOAT4_B, not ", dtype_name(dtype)));
  if (rows % kTile || cols % kTile || rows == 0 || cols == 0)
    fatal(cat("pack_block_float needs rows and cols that are non-zero multiples of 32, got ", rows, "x", cols));
  if (uint64_t(rows) * cols != data.size()) fatal(cat(rows, "x", cols, " does not match ", data.size(), " values"));
  std::vector<float> tiled(data.size());
  host::tilize(data.data(), rows, cols, tiled.data());
  const size_t tiles = tiled.size() / host::kTileElems;
  const auto words = dtype == DataType::Bfloat8B ? host::pack_bfp8_b(tiled.data(), tiles) : host::pack_bfp4_b(tiled.data(), tiles);
  rust::Vec<uint32_t> out;
  out.reserve(words.size());
  for (uint32_t w : words) out.push_back(w);
  return out;
}

rust::Vec<float> unpack_block_float(rust::Slice<const uint32_t> words, uint32_t rows, uint32_t cols, DataType dtype) {
  if (dtype != DataType::Bfloat8B && dtype != DataType::Bfloat4B)
    fatal(cat("unpack_block_float unpacks BFLOAT8_B or BFLOAT4_B, not ", dtype_name(dtype)));
  if (rows % kTile || cols % kTile || rows == 0 || cols == 0)
    fatal(cat("unpack_block_float needs rows and cols that are non-zero multiples of 32, got ", rows, "x", cols));
  const size_t tiles = size_t(rows / kTile) * (cols / kTile);
  const size_t per = dtype == DataType::Bfloat8B ? host::kBfp8WordsPerTile : host::kBfp4WordsPerTile;
  if (words.size() != tiles * per) fatal(cat(tiles, " tiles need ", tiles * per, " words, got ", words.size()));
  std::vector<float> tiled(tiles * host::kTileElems), rm(tiled.size());
  if (dtype == DataType::Bfloat8B) host::unpack_bfp8_b(words.data(), tiles, tiled.data());
  else host::unpack_bfp4_b(words.data(), tiles, tiled.data());
  host::untilize(tiled.data(), rows, cols, rm.data());
  rust::Vec<float> out;
  out.reserve(rm.size());
  for (float x : rm) out.push_back(x);
  return out;
}

void host_sgemm(uint32_t m, uint32_t n, uint32_t k, rust::Slice<const float> a, rust::Slice<const float> b,
                rust::Slice<float> c, uint32_t num_threads) {
  if (a.size() != uint64_t(m) * k || b.size() != uint64_t(k) * n || c.size() != uint64_t(m) * n)
    fatal(cat("host_sgemm: slice lengths ", a.size(), ", ", b.size(), ", ", c.size(), " do not match m=", m, " n=", n, " k=", k));
  host::sgemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, false, num_threads);
}

uint64_t host_sharded_gathers() { return t_sharded_gathers; }

}  // namespace tttv2::ffi
