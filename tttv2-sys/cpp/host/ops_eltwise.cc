// Host backend: element-wise ops (add, multiply with an optional fused lhs activation, silu,
// gelu) and normalisation (rms_norm, layer_norm, softmax with scale / mask / causal mask).
// Values are computed in f32 (reductions in f64) and rounded once to the output dtype; the device
// computes intermediates in bf16 unless fp32_dest_acc_en, which the tests' tolerances allow for.

#include <algorithm>
#include <limits>

#include "host_impl.h"

namespace tttv2::ffi {
using namespace host_detail;

namespace {

// Right-aligned numpy broadcasting of b onto a (binary_ng supports it for every dim); returns
// for each output element the index into b.
std::vector<uint32_t> broadcast_index(const std::vector<uint32_t>& as, const std::vector<uint32_t>& bs, const char* op) {
  if (bs.size() > as.size())
    fatal(cat(op, ": shapes ", shape_str(as), " and ", shape_str(bs), " are not broadcastable"));
  const size_t ra = as.size(), off = ra - bs.size();
  for (size_t i = 0; i < bs.size(); ++i)
    if (bs[i] != as[off + i] && bs[i] != 1)
      fatal(cat(op, ": shapes ", shape_str(as), " and ", shape_str(bs), " are not broadcastable"));
  const uint64_t n = volume(as);
  std::vector<uint32_t> idx(n);
  std::vector<uint32_t> coord(ra, 0);
  for (uint64_t e = 0; e < n; ++e) {
    uint64_t bi = 0;
    for (size_t i = 0; i < bs.size(); ++i) bi = bi * bs[i] + (bs[i] == 1 ? 0 : coord[off + i]);
    idx[e] = uint32_t(bi);
    for (size_t d = ra; d-- > 0;) {
      if (++coord[d] < as[d]) break;
      coord[d] = 0;
    }
  }
  return idx;
}

std::unique_ptr<Tensor> binary(const Tensor& ta, const Tensor& tb, const MemConfig& mem, DataType dtype,
                               UnaryOp lhs_act, bool mul, const char* op) {
  const Tensor::Impl& a = ta.impl();
  const Tensor::Impl& b = tb.impl();
  check_same_device(a, b, op);
  if (a.layout != Layout::Tile || b.layout != Layout::Tile) fatal(cat(op, ": inputs must be tilized"));
  if (!is_float(a.dtype) || !is_float(b.dtype) || !is_float(dtype))
    fatal(cat(op, ": the host backend supports floating-point operands only"));
  const auto idx = broadcast_index(a.shape, b.shape, op);
  std::vector<float> av = read_values(a);
  const std::vector<float> bv = read_values(b);
  if (lhs_act != UnaryOp::None) {
    // binary_ng applies lhs activations to the loaded tile and packs it to an intermediate CB in
    // the lhs format before the binary op (binary_ng PREPROCESS), so it is rounded there.
    for (float& x : av) x = activate(lhs_act, x, false, 0.0f);
    quantize(av, a.shape, a.dtype == DataType::Float32 ? DataType::Float32 : DataType::Bfloat16);
  }
  std::vector<float> out(av.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = mul ? av[i] * bv[idx[i]] : av[i] + bv[idx[i]];
  return make_tensor(a.device, a.shape, dtype, Layout::Tile, mem, std::move(out));
}

std::unique_ptr<Tensor> unary(const Tensor& ta, const MemConfig& mem, UnaryOp op, bool has_param, float param,
                              const char* name) {
  const Tensor::Impl& a = ta.impl();
  if (a.layout != Layout::Tile) fatal(cat(name, ": input must be tilized"));
  if (!is_float(a.dtype)) fatal(cat(name, ": input must be a floating-point tensor"));
  std::vector<float> out = read_values(a);
  for (float& x : out) x = activate(op, x, has_param, param);
  return make_tensor(a.device, a.shape, a.dtype, Layout::Tile, mem, std::move(out));
}

// Validates a norm's gamma/beta: they hold W values (TT-NN accepts [1, W] TILE or
// [W/32, 32] ROW_MAJOR; both hold W values in order).
std::vector<float> norm_param(const Tensor::Impl& x, const Tensor::Impl* p, const char* what, const char* op) {
  const uint32_t W = x.shape.back();
  if (!p) return {};
  check_same_device(x, *p, op);
  if (volume(p->shape) != W)
    fatal(cat(op, ": ", what, " shape ", shape_str(p->shape), " must hold ", W, " values (the input width)"));
  return read_values(*p);
}

std::unique_ptr<Tensor> norm(const Tensor& tx, float epsilon, const Tensor* tw, const Tensor* tb, const MemConfig& mem,
                             bool rms, const char* op) {
  const Tensor::Impl& x = tx.impl();
  // layernorm_device_operation.cpp: "a.layout() == Layout::TILE".
  if (x.layout != Layout::Tile) fatal(cat(op, ": input must be tilized"));
  if (!is_float(x.dtype)) fatal(cat(op, ": input must be a floating-point tensor"));
  if (!(epsilon > 0.0f)) fatal(cat(op, ": epsilon must be positive"));
  const auto w = norm_param(x, tw ? &tw->impl() : nullptr, "weight", op);
  const auto b = norm_param(x, tb ? &tb->impl() : nullptr, "bias", op);
  const std::vector<float> in = read_values(x);
  const uint32_t W = x.shape.back();
  std::vector<float> out(in.size());
  const size_t rows = in.size() / W;
  for (size_t r = 0; r < rows; ++r) {
    const float* p = &in[r * W];
    double mean = 0.0;
    if (!rms) {
      for (uint32_t j = 0; j < W; ++j) mean += p[j];
      mean /= W;
    }
    double ss = 0.0;
    for (uint32_t j = 0; j < W; ++j) ss += (p[j] - mean) * (p[j] - mean);
    const double inv = 1.0 / std::sqrt(ss / W + double(epsilon));
    for (uint32_t j = 0; j < W; ++j) {
      double y = (p[j] - mean) * inv;
      if (!w.empty()) y *= w[j];
      if (!b.empty()) y += b[j];
      out[r * W + j] = float(y);
    }
  }
  const DataType dt = x.dtype == DataType::Float32 ? DataType::Float32 : DataType::Bfloat16;
  return make_tensor(x.device, x.shape, dt, Layout::Tile, mem, std::move(out));
}

}  // namespace

std::unique_ptr<Tensor> add(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype) {
  return binary(a, b, mem, dtype, UnaryOp::None, false, "add");
}

std::unique_ptr<Tensor> multiply(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype,
                                 UnaryOp lhs_activation) {
  return binary(a, b, mem, dtype, lhs_activation, true, "multiply");
}

std::unique_ptr<Tensor> silu(const Tensor& a, const MemConfig& mem) {
  return unary(a, mem, UnaryOp::Silu, false, 0.0f, "silu");
}

std::unique_ptr<Tensor> gelu(const Tensor& a, bool fast_and_approximate, const MemConfig& mem) {
  return unary(a, mem, UnaryOp::Gelu, true, fast_and_approximate ? 1.0f : 0.0f, "gelu");
}

std::unique_ptr<Tensor> rms_norm(const Tensor& x, float epsilon, const Tensor& weight, const NormConfig& program_config,
                                 const MemConfig& mem, const ComputeConfig& compute) {
  // The program config decides how TT-NN splits the rows over cores, not the arithmetic; the
  // Rust API (`tttv2::ops::rms_norm`) checks it against the input as TT-NN does and refuses the
  // variants with other numerics (legacy reduction / rsqrt, Welford).
  (void)program_config;
  (void)compute;
  return norm(x, epsilon, &weight, nullptr, mem, true, "rms_norm");
}

std::unique_ptr<Tensor> layer_norm(const Tensor& x, float epsilon, const Tensor* weight, const Tensor* bias,
                                   const MemConfig& mem, const ComputeConfig& compute) {
  (void)compute;
  return norm(x, epsilon, weight, bias, mem, false, "layer_norm");
}

std::unique_ptr<Tensor> softmax(const Tensor& tx, float scale, const Tensor* tmask, bool causal, const MemConfig& mem,
                                const ComputeConfig& compute) {
  (void)compute;
  const Tensor::Impl& x = tx.impl();
  if (x.layout != Layout::Tile) fatal("softmax: input must be tilized");
  if (!is_float(x.dtype)) fatal("softmax: input must be a floating-point tensor");
  const uint32_t W = x.shape.back();
  const uint32_t H = x.shape.size() >= 2 ? x.shape[x.shape.size() - 2] : 1;
  std::vector<float> mask;
  std::vector<uint32_t> midx;
  if (tmask) {
    const Tensor::Impl& m = tmask->impl();
    check_same_device(x, m, "softmax");
    // softmax_device_operation.cpp: the mask is tilized (or row-major padded) and its width is
    // the input's width.
    if (m.layout != Layout::Tile) fatal("softmax: mask must be tilized");
    if (m.shape.back() != W) fatal(cat("softmax: mask width ", m.shape.back(), " must equal the input width ", W));
    if (causal) {
      const uint32_t mh = m.shape.size() >= 2 ? m.shape[m.shape.size() - 2] : 1;
      if (mh != H) fatal(cat("softmax: a causal mask must be [.., ", H, ", ", W, "], got ", shape_str(m.shape)));
    }
    midx = broadcast_index(x.shape, m.shape, "softmax");
    mask = read_values(m);
  }
  const std::vector<float> in = read_values(x);
  std::vector<float> out(in.size());
  const size_t rows = in.size() / W;
  std::vector<float> t(W);
  for (size_t r = 0; r < rows; ++r) {
    const uint32_t i = uint32_t(r % H);
    float mx = -std::numeric_limits<float>::infinity();
    for (uint32_t j = 0; j < W; ++j) {
      float v = in[r * W + j] * scale;
      if (!mask.empty()) v += mask[midx[r * W + j]];
      // Causal without a mask tensor: key j is visible to query i iff j <= i + (W - H).
      if (causal && mask.empty() && j > i + (W - std::min(W, H))) v = -std::numeric_limits<float>::infinity();
      t[j] = v;
      mx = std::max(mx, v);
    }
    double sum = 0.0;
    for (uint32_t j = 0; j < W; ++j) {
      t[j] = std::isinf(t[j]) && t[j] < 0 ? 0.0f : std::exp(t[j] - mx);
      sum += t[j];
    }
    for (uint32_t j = 0; j < W; ++j) out[r * W + j] = float(t[j] / sum);
  }
  return make_tensor(x.device, x.shape, x.dtype, Layout::Tile, mem, std::move(out));
}

}  // namespace tttv2::ffi
