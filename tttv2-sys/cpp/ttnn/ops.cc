// TT-NN backend: every shim op, one-to-one with the host backend (cpp/host/ops_*.cc), calling
// TT-NN's C++ free functions at 13adda80 (signatures: ../shared/reference/ttnn-api.md §1-§8).
// Optional arguments are passed explicitly where the C++ default differs from Python's.

#include <array>
#include <cmath>
#include <limits>
#include <tuple>

#include "ttnn/operations/copy/typecast/typecast.hpp"
#include "ttnn/operations/data_movement/reshape_view/reshape.hpp"
#include "ttnn/operations/data_movement/slice/slice.hpp"
#include "ttnn/operations/core/core.hpp"
#include "ttnn/operations/core/to_layout/to_layout_op.hpp"
#include "ttnn/operations/eltwise/binary/binary.hpp"
#include "ttnn/operations/eltwise/unary/unary.hpp"
#include "ttnn/operations/embedding/embedding.hpp"
#include "ttnn/operations/experimental/paged_cache/paged_cache.hpp"
#include "ttnn/operations/experimental/transformer/nlp_concat_heads/nlp_concat_heads.hpp"
#include "ttnn/operations/experimental/transformer/nlp_concat_heads_decode/nlp_concat_heads_decode.hpp"
#include "ttnn/operations/experimental/transformer/nlp_create_qkv_heads/nlp_create_qkv_heads.hpp"
#include "ttnn/operations/experimental/transformer/nlp_create_qkv_heads_decode/nlp_create_qkv_heads_decode.hpp"
#include "ttnn/operations/experimental/transformer/rotary_embedding_llama/rotary_embedding_llama.hpp"
#include "ttnn/operations/kv_cache/kv_cache.hpp"
#include "ttnn/operations/matmul/matmul.hpp"
#include "ttnn/operations/normalization/layernorm/layernorm.hpp"
#include "ttnn/operations/normalization/rmsnorm/rmsnorm.hpp"
#include "ttnn/operations/normalization/softmax/softmax.hpp"
#include "ttnn/operations/transformer/sdpa/sdpa.hpp"
#include "ttnn/operations/transformer/sdpa_config.hpp"
#include "ttnn/operations/transformer/sdpa_decode/sdpa_decode.hpp"
#include "ttnn_impl.h"

namespace tttv2::ffi {

using namespace tt_detail;
namespace tm = tt::tt_metal;

namespace {

std::optional<const ttnn::Tensor> opt(const Tensor* t) {
  if (!t) return std::nullopt;
  return t->impl().tensor;
}

ttnn::operations::transformer::SDPAProgramConfig sdpa_pc(const SdpaConfig& c) {
  ttnn::operations::transformer::SDPAProgramConfig p{
      .compute_with_storage_grid_size = CoreCoord(c.grid_x, c.grid_y),
      .sub_core_grids = std::nullopt,
      .q_chunk_size = c.q_chunk_size,
      .k_chunk_size = c.k_chunk_size,
      .exp_approx_mode = c.exp_approx_mode,
      .max_cores_per_head_batch = c.max_cores_per_head_batch,
  };
  return p;
}

}  // namespace

std::unique_ptr<Tensor> matmul(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype,
                               const MatmulConfig& program_config, const ComputeConfig& compute) {
  const std::optional<const ttnn::operations::matmul::MatmulProgramConfig> pc = to_tt(program_config);
  ttnn::Tensor out = ttnn::matmul(tt(a), tt(b), /*transpose_a=*/false, /*transpose_b=*/false, to_tt(mem), to_tt(dtype), pc,
                                  /*activation=*/std::nullopt, to_tt(compute));
  return wrap(std::move(out), a.impl());
}

std::unique_ptr<Tensor> linear(const Tensor& a, const Tensor& b, const Tensor& bias, const MemConfig& mem, DataType dtype,
                               const MatmulConfig& program_config, const ComputeConfig& compute) {
  const std::optional<const ttnn::operations::matmul::MatmulProgramConfig> pc = to_tt(program_config);
  const std::optional<const ttnn::Tensor> bias_t = tt(bias);
  ttnn::Tensor out = ttnn::linear(tt(a), tt(b), bias_t, false, false, to_tt(mem), to_tt(dtype), pc, std::nullopt, to_tt(compute));
  return wrap(std::move(out), a.impl());
}

std::unique_ptr<Tensor> add(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype) {
  return wrap(ttnn::add(tt(a), tt(b), to_tt(dtype), to_tt(mem)), a.impl());
}

std::unique_ptr<Tensor> multiply(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype, UnaryOp lhs_activation) {
  using ttnn::operations::unary::EltwiseUnaryWithParam;
  if (lhs_activation == UnaryOp::None) return wrap(ttnn::multiply(tt(a), tt(b), to_tt(dtype), to_tt(mem)), a.impl());
  // ttnn.mul(a, b, input_tensor_a_activations=[op]): the fused SwiGLU gate.
  const std::array<EltwiseUnaryWithParam, 1> lhs{EltwiseUnaryWithParam(unary_type(lhs_activation))};
  ttnn::Tensor out = ttnn::multiply(tt(a), tt(b), to_tt(dtype), to_tt(mem), std::nullopt, /*post_activations=*/{},
                                    ttsl::Span<const EltwiseUnaryWithParam>(lhs.data(), lhs.size()));
  return wrap(std::move(out), a.impl());
}

std::unique_ptr<Tensor> silu(const Tensor& a, const MemConfig& mem) { return wrap(ttnn::silu(tt(a), to_tt(mem)), a.impl()); }

std::unique_ptr<Tensor> gelu(const Tensor& a, bool fast_and_approximate, const MemConfig& mem) {
  return wrap(ttnn::gelu(tt(a), fast_and_approximate, to_tt(mem)), a.impl());
}

std::unique_ptr<Tensor> rms_norm(const Tensor& x, float epsilon, const Tensor& weight, const NormConfig& pc,
                                 const MemConfig& mem, const ComputeConfig& compute) {
  const std::optional<const ttnn::Tensor> w = tt(weight);
  // ttnn::prim::LayerNormProgramConfig (normalization/layernorm/device/layernorm_types.hpp @ 13adda80).
  const std::optional<const ttnn::prim::LayerNormProgramConfig> program_config =
      pc.sharded ? ttnn::prim::LayerNormProgramConfig{ttnn::prim::LayerNormShardedMultiCoreProgramConfig{
                       .compute_with_storage_grid_size = CoreCoord(pc.grid_x, pc.grid_y),
                       .subblock_w = pc.subblock_w,
                       .block_h = pc.block_h,
                       .block_w = pc.block_w,
                       .inplace = pc.inplace,
                       .legacy_reduction = pc.legacy_reduction,
                       .legacy_rsqrt = pc.legacy_rsqrt,
                       .use_welford = pc.use_welford}}
                 : ttnn::prim::LayerNormProgramConfig{ttnn::prim::LayerNormDefaultProgramConfig{
                       .legacy_reduction = pc.legacy_reduction, .legacy_rsqrt = pc.legacy_rsqrt, .use_welford = pc.use_welford}};
  return wrap(ttnn::rms_norm(tt(x), epsilon, w, std::nullopt, std::nullopt, to_tt(mem), program_config, to_tt(compute)), x.impl());
}

std::unique_ptr<Tensor> layer_norm(const Tensor& x, float epsilon, const Tensor* weight, const Tensor* bias, const MemConfig& mem,
                                   const ComputeConfig& compute) {
  return wrap(ttnn::layer_norm(tt(x), epsilon, opt(weight), opt(bias), std::nullopt, to_tt(mem), std::nullopt, to_tt(compute)),
              x.impl());
}

std::unique_ptr<Tensor> softmax(const Tensor& x, float scale, const Tensor* mask, bool causal, const MemConfig& mem,
                                const ComputeConfig& compute) {
  // scale_mask_softmax(input, scale, const std::optional<const Tensor>& mask, memory_config,
  // is_causal_mask, compute_kernel_config, numeric_stable) (normalization/softmax/softmax.hpp
  // @ 13adda80). An optional<const Tensor> cannot be assigned to, so the mask is built whole.
  auto causal_mask = [&]() -> ttnn::Tensor {
    // The causal mode takes the mask as a tensor: build [1, 1, H, W] with -inf above the
    // (right-aligned) diagonal, as the host backend's causal rule.
    const auto& s = tt(x).logical_shape();
    const uint32_t W = s[-1], H = s.rank() >= 2 ? s[-2] : 1;
    std::vector<float> v(size_t(H) * W, 0.0f);
    for (uint32_t i = 0; i < H; ++i)
      for (uint32_t j = 0; j < W; ++j)
        if (j > i + (W - std::min(W, H))) v[size_t(i) * W + j] = -std::numeric_limits<float>::infinity();
    const tm::MemoryConfig mc = tt(x).memory_config().is_sharded() ? ttnn::DRAM_MEMORY_CONFIG : tt(x).memory_config();
    const tm::TensorSpec spec(ttnn::Shape({1, 1, H, W}), tm::TensorLayout(tm::DataType::BFLOAT16, tm::PageConfig(tm::Layout::TILE), mc));
    return ttnn::Tensor::from_vector(std::move(v), spec).to_device(x.impl().mesh.get(), mc);
  };
  const std::optional<const ttnn::Tensor> m = causal && !mask ? std::optional<const ttnn::Tensor>(causal_mask()) : opt(mask);
  return wrap(ttnn::scale_mask_softmax(tt(x), scale, m, to_tt(mem), causal, to_tt(compute)), x.impl());
}

std::unique_ptr<Tensor> typecast(const Tensor& x, DataType dtype, const MemConfig& mem) {
  return wrap(ttnn::typecast(tt(x), to_tt(dtype), to_tt(mem)), x.impl());
}

std::unique_ptr<Tensor> to_layout(const Tensor& x, Layout layout, DataType dtype, const MemConfig& mem) {
  return wrap(ttnn::to_layout(tt(x), to_tt(layout), to_tt(dtype), to_tt(mem)), x.impl());
}

std::unique_ptr<Tensor> slice(const Tensor& x, rust::Slice<const uint32_t> begins, rust::Slice<const uint32_t> ends,
                              const MemConfig& mem) {
  // ttnn::slice<uint32_t>(input, begins, ends, step, memory_config) (data_movement/slice/slice.hpp @ 13adda80;
  // explicit instantiation for uint32_t in slice.cpp).
  const std::vector<uint32_t> b(begins.begin(), begins.end()), e(ends.begin(), ends.end()), step(b.size(), 1u);
  return wrap(ttnn::slice(tt(x), ttsl::Span<const uint32_t>(b.data(), b.size()), ttsl::Span<const uint32_t>(e.data(), e.size()),
                          ttsl::Span<const uint32_t>(step.data(), step.size()), to_tt(mem)),
              x.impl());
}

std::unique_ptr<Tensor> reshape(const Tensor& x, rust::Slice<const uint32_t> shape, const MemConfig& mem) {
  // ttnn::reshape(input, logical_shape, memory_config) (data_movement/reshape_view/reshape.hpp @ 13adda80).
  const ttnn::Shape s(ttsl::SmallVector<uint32_t>(shape.begin(), shape.end()));
  return wrap(ttnn::reshape(tt(x), s, to_tt(mem)), x.impl());
}

std::unique_ptr<Tensor> to_memory_config(const Tensor& x, const MemConfig& mem) {
  return wrap(ttnn::to_memory_config(tt(x), to_tt(mem)), x.impl());
}

std::unique_ptr<Tensor> embedding(const Tensor& ids, const Tensor& weight, const MemConfig& mem, DataType dtype, Layout layout) {
  return wrap(ttnn::embedding(tt(ids), tt(weight), /*pad_token=*/std::nullopt, to_tt(layout), ttnn::prim::EmbeddingsType::GENERIC,
                              to_tt(dtype), to_tt(mem)),
              ids.impl());
}

std::unique_ptr<Tensor> rotary_embedding_llama(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& trans_mat,
                                               bool is_decode, const MemConfig& mem, const ComputeConfig& compute) {
  // Decode keeps the input's HEIGHT_SHARDED placement (as the host backend does).
  const tm::MemoryConfig mc = is_decode ? tt(x).memory_config() : to_tt(mem);
  return wrap(ttnn::experimental::rotary_embedding_llama(tt(x), tt(cos), tt(sin), tt(trans_mat), is_decode, mc, to_tt(compute)),
              x.impl());
}

std::unique_ptr<Tensor> sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, bool is_causal, bool has_scale,
                             float scale, const SdpaConfig& program_config, const MemConfig& mem, const ComputeConfig& compute) {
  const std::optional<ttnn::Tensor> m = mask ? std::optional<ttnn::Tensor>(tt(*mask)) : std::nullopt;
  const std::optional<float> sc = has_scale ? std::optional<float>(scale) : std::nullopt;
  return wrap(ttnn::transformer::scaled_dot_product_attention(tt(q), tt(k), tt(v), m, is_causal, sc, /*sliding_window=*/std::nullopt,
                                                              to_tt(mem), sdpa_pc(program_config), to_tt(compute)),
              q.impl());
}

std::unique_ptr<Tensor> sdpa_decode(const Tensor& q, const Tensor& k, const Tensor& v, rust::Slice<const uint32_t> cur_pos,
                                    bool has_scale, float scale, const SdpaConfig& program_config, const MemConfig& mem,
                                    const ComputeConfig& compute) {
  const std::vector<uint32_t> pos(cur_pos.begin(), cur_pos.end());
  const std::optional<float> sc = has_scale ? std::optional<float>(scale) : std::nullopt;
  return wrap(ttnn::transformer::scaled_dot_product_attention_decode(tt(q), tt(k), tt(v), /*is_causal=*/true, /*attn_mask=*/std::nullopt,
                                                                     pos, /*cur_pos_tensor=*/std::nullopt, /*attention_sink=*/std::nullopt,
                                                                     sc, /*sliding_window=*/std::nullopt, to_tt(mem),
                                                                     sdpa_pc(program_config), to_tt(compute)),
              q.impl());
}

void update_cache(Tensor& cache, const Tensor& input, uint32_t update_idx, uint32_t batch_offset) {
  cache.impl().tensor = ttnn::update_cache(tt(cache), tt(input), update_idx, batch_offset);
}

void fill_cache(Tensor& cache, const Tensor& input, uint32_t batch_idx, uint32_t update_idx) {
  cache.impl().tensor = ttnn::fill_cache(tt(cache), tt(input), batch_idx, update_idx);
}

void update_cache_per_user(Tensor& cache, const Tensor& input, rust::Slice<const uint32_t> update_idxs) {
  const std::vector<uint32_t> idx(update_idxs.begin(), update_idxs.end());
  // The device is opened as a 1x1 mesh (open_device), so mesh_coords = nullopt writes the only
  // cache there is. (On a multi-device mesh nullopt writes the mesh root only, tt-metal #47955.)
  cache.impl().tensor = ttnn::experimental::paged_update_cache(tt(cache), tt(input), idx, /*update_idxs_tensor=*/std::nullopt,
                                                               /*share_cache=*/std::nullopt, /*page_table=*/std::nullopt,
                                                               /*batch_offset=*/0, /*compute_kernel_config=*/std::nullopt,
                                                               /*mesh_coords=*/std::nullopt);
}

QkvHeads nlp_create_qkv_heads(const Tensor& x, uint32_t num_q_heads, uint32_t num_kv_heads, bool transpose_k, const MemConfig& mem) {
  auto [q, k, v] = ttnn::experimental::nlp_create_qkv_heads(tt(x), std::nullopt, num_q_heads, num_kv_heads, transpose_k, to_tt(mem));
  return QkvHeads{wrap(std::move(q), x.impl()), wrap(std::move(k), x.impl()), wrap(std::move(v), x.impl())};
}

QkvHeads nlp_create_qkv_heads_decode(const Tensor& x, uint32_t num_q_heads, uint32_t num_kv_heads) {
  std::optional<std::array<ttnn::Tensor, 3>> outputs = std::nullopt;  // a non-const lvalue is required
  auto [q, k, v] = ttnn::experimental::nlp_create_qkv_heads_decode(tt(x), num_q_heads, num_kv_heads, outputs,
                                                                   /*overlap_qk_coregrid=*/true, /*batch_offset=*/std::nullopt,
                                                                   /*slice_size=*/std::nullopt, ttnn::L1_HEIGHT_SHARDED_MEMORY_CONFIG);
  return QkvHeads{wrap(std::move(q), x.impl()), wrap(std::move(k), x.impl()), wrap(std::move(v), x.impl())};
}

std::unique_ptr<Tensor> nlp_concat_heads(const Tensor& x, const MemConfig& mem) {
  return wrap(ttnn::experimental::nlp_concat_heads(tt(x), to_tt(mem)), x.impl());
}

std::unique_ptr<Tensor> nlp_concat_heads_decode(const Tensor& x, uint32_t num_heads) {
  return wrap(ttnn::experimental::nlp_concat_heads_decode(tt(x), num_heads), x.impl());
}

}  // namespace tttv2::ffi
