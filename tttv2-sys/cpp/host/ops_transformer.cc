// Host backend: the transformer ops — embedding, rotary_embedding_llama, SDPA (prefill, decode),
// KV-cache update / fill, nlp_create_qkv_heads(_decode), nlp_concat_heads(_decode).
// Semantics follow TT-NN @ 13adda80 (ttnn-api.md §4-§8); messages follow the ops' TT_FATALs
// where we read them (embedding_device_operation.cpp, rotary_embedding_llama_device_operation.cpp,
// sdpa_device_operation.cpp, update_cache_device_operation.cpp).

#include <algorithm>
#include <limits>

#include "host_impl.h"

namespace tttv2::ffi {
using namespace host_detail;

namespace {

void need_rank(const Tensor::Impl& t, size_t rank, const char* op, const char* what) {
  if (t.shape.size() != rank) fatal(cat(op, ": ", what, " must have rank ", rank, ", got ", shape_str(t.shape)));
}

// An L1 HEIGHT_SHARDED config with `cores` shards of shard_h x shard_w on the first cores of
// the compute grid, row-major (num_cores_to_corerangeset).
MemConfig height_sharded_l1(const DeviceDesc& dev, uint32_t cores, uint32_t shard_h, uint32_t shard_w,
                            TensorMemoryLayout layout = TensorMemoryLayout::HeightSharded) {
  if (cores > dev.grid_x * dev.grid_y)
    fatal(cat("need ", cores, " cores but the compute grid has ", dev.grid_x * dev.grid_y));
  const uint32_t ex = cores >= dev.grid_x ? dev.grid_x - 1 : cores - 1;
  const uint32_t ey = (cores - 1) / dev.grid_x;
  return MemConfig{layout, BufferType::L1, true,
                   ShardSpecDesc{0, 0, ex, ey, cores, shard_h, shard_w, ShardOrientation::RowMajor}};
}


}  // namespace

std::unique_ptr<Tensor> embedding(const Tensor& tids, const Tensor& tw, const MemConfig& mem, DataType dtype, Layout layout) {
  const Tensor::Impl& ids = tids.impl();
  const Tensor::Impl& w = tw.impl();
  check_same_device(ids, w, "embedding");
  if (ids.dtype != DataType::Uint32 && ids.dtype != DataType::Bfloat16) fatal("Input must be UINT32 or BFLOAT16");
  if (w.dtype != DataType::Bfloat16) fatal("Weights tensor must have BFLOAT16 dtype");
  if (ids.mem.layout != TensorMemoryLayout::Interleaved) fatal("Embedding does not currently support sharded inputs");
  if (w.mem.layout != TensorMemoryLayout::Interleaved) fatal("Embedding does not currently support sharded weights");
  if (w.shape.size() < 2 || volume(w.shape) != uint64_t(w.shape[w.shape.size() - 2]) * w.shape.back())
    fatal(cat("First two dimensions for the weights must be 1 but got ", shape_str(w.shape)));
  if (ids.shape.size() == 4 && (ids.shape[1] != 1 || ids.shape[2] != 1)) fatal("Only dim 0 && 3 for the input can be non 1");
  if (layout == Layout::RowMajor && dtype != w.dtype)
    fatal("Can only typecast output embeddings when producing TILE_LAYOUT output");
  const uint32_t V = w.shape[w.shape.size() - 2], D = w.shape.back();
  const uint32_t S = ids.shape.back();
  const uint32_t B = ids.shape.size() == 1 ? 1 : ids.shape[0];
  // The table is read in place (only the looked-up rows), not copied per call.
  std::vector<float> scratch;
  const std::vector<float> iv = read_values(ids);
  const float* wv = values_view(w, scratch);
  std::vector<float> out(size_t(B) * S * D);
  for (size_t t = 0; t < size_t(B) * S; ++t) {
    const float f = iv[t];
    // The device would read past the table; the host refuses instead.
    if (!(f >= 0.0f) || f >= float(V)) fatal(cat("embedding: token id ", f, " is out of range for a table of ", V, " rows"));
    std::memcpy(&out[t * D], &wv[size_t(f) * D], D * sizeof(float));
  }
  std::vector<uint32_t> shape = ids.shape.size() == 1 ? std::vector<uint32_t>{S, D} : std::vector<uint32_t>{B, S, D};
  return make_tensor(ids.device, std::move(shape), dtype, layout, mem, std::move(out));
}

std::unique_ptr<Tensor> rotary_embedding_llama(const Tensor& tx, const Tensor& tcos, const Tensor& tsin,
                                               const Tensor& ttrans, bool is_decode, const MemConfig& mem,
                                               const ComputeConfig& compute) {
  const Tensor::Impl& x = tx.impl();
  const Tensor::Impl& c = tcos.impl();
  const Tensor::Impl& s = tsin.impl();
  const Tensor::Impl& tm = ttrans.impl();
  check_same_device(x, c, "rotary embedding");
  check_same_device(x, s, "rotary embedding");
  check_same_device(x, tm, "rotary embedding");
  check_tile(x, "input tensor to rotary embedding must be tilized");
  check_tile(c, "cos tensor to rotary embedding must be tilized");
  check_tile(s, "sin tensor to rotary embedding must be tilized");
  check_tile(tm, "transformation matrix to rotary embedding must be tilized");
  for (const Tensor::Impl* t : {&x, &c, &s, &tm})
    if (t->dtype != DataType::Bfloat16) fatal("Input tensors to rotary embedding must be BFLOAT16");
  need_rank(x, 4, "rotary_embedding_llama", "input");
  need_rank(c, 4, "rotary_embedding_llama", "cos");
  if (c.shape != s.shape) fatal("Cos and Sin dims must match");
  const uint32_t D = x.shape[3];
  if (D > 256) fatal("Head dim must be less than 256");
  if (D > 128 && compute.fp32_dest_acc_en) fatal("If head_dim is > 128, fp32_dest_acc_en must be False");
  if (D % kTile) fatal("Head dim must be a multiple of TILE_WIDTH");
  if (is_decode) {
    // Decode: each user's core holds its own [32, 32] copy (shard shape checked, not the logical
    // height; rotary_embedding_llama_device_operation.cpp); all copies are equal, the first is used.
    if (tm.shape.size() != 4 || tm.shape[0] != 1 || tm.shape[1] != 1)
      fatal("Transformation matrix must have 1st & 2nd dim equal to 1");
    if (tm.mem.layout != TensorMemoryLayout::HeightSharded || !tm.mem.has_shard || tm.mem.shard.shape_h != kTile)
      fatal("Transformation matrix must have 3rd dim equal to TILE_HEIGHT");
    if (tm.mem.shard.shape_w != kTile) fatal("Transformation matrix must have 4th dim equal to TILE_WIDTH");
  } else if (tm.shape.size() < 2 || tm.shape[tm.shape.size() - 1] != kTile || tm.shape[tm.shape.size() - 2] != kTile ||
             volume(tm.shape) != kTile * kTile) {
    fatal(cat("Transformation matrix must be [1, 1, 32, 32], got ", shape_str(tm.shape)));
  }
  if (c.shape[3] != D) fatal(cat("Cos/sin head dim ", c.shape[3], " must match the input head dim ", D));
  if (is_decode) {
    // Decode: x [1, batch, n_heads, head_dim], cos/sin [1, batch, 32, head_dim], all HEIGHT_SHARDED.
    if (x.shape[0] != 1) fatal("Input tensor seq_len (dim 0) must be 1 in decode mode");
    for (const Tensor::Impl* t : {&x, &c, &s, &tm})
      if (t->mem.layout != TensorMemoryLayout::HeightSharded)
        fatal("Sharded inputs for RoPE must be HEIGHT_SHARDED in decode mode");
    if (x.shape[1] != c.shape[1]) fatal("Cos and Sin must have the same batch size as the input");
    if (x.shape[2] > kTile) fatal("Number of heads must be at most 32 in decode mode (cos shard height is 32)");
  } else {
    // Prefill: x [batch, n_heads, seq_len, head_dim], cos/sin [1, 1, seq_len, head_dim].
    if (c.shape[0] != 1 || c.shape[1] != 1) fatal(cat("Cos and Sin must be [1, 1, seq_len, head_dim] in prefill mode, got ", shape_str(c.shape)));
    if (c.shape[2] != x.shape[2])
      fatal(cat("Cos and Sin seq_len ", c.shape[2], " must match the input seq_len ", x.shape[2]));
  }
  const std::vector<float> xv = read_values(x), cv = read_values(c), sv = read_values(s), tv = read_values(tm);
  std::vector<float> out(xv.size());
  const size_t rows = xv.size() / D;
  std::vector<float> rot(D);
  for (size_t r = 0; r < rows; ++r) {
    const float* v = &xv[r * D];
    // cos/sin row: prefill by position (dim 2); decode by user (dim 1) and head row (dim 2).
    size_t crow;
    if (is_decode) {
      const size_t b = (r / x.shape[2]) % x.shape[1], h = r % x.shape[2];
      crow = b * c.shape[2] + std::min<size_t>(h, c.shape[2] - 1);
    } else {
      crow = r % x.shape[2];
    }
    // rotated = x @ trans_mat, one 32x32 tile of head_dim at a time (the kernel's matmul_tiles),
    // packed to a bf16 CB; then x*cos + rotated*sin.
    for (uint32_t t0 = 0; t0 < D; t0 += kTile)
      for (uint32_t j = 0; j < kTile; ++j) {
        float acc = 0.0f;
        for (uint32_t i = 0; i < kTile; ++i) acc += v[t0 + i] * tv[size_t(i) * kTile + j];
        rot[t0 + j] = host::round_to_bf16(acc);
      }
    for (uint32_t j = 0; j < D; ++j) {
      const float a = host::round_to_bf16(v[j] * cv[crow * D + j]);
      const float b = host::round_to_bf16(rot[j] * sv[crow * D + j]);
      out[r * D + j] = a + b;
    }
  }
  return make_tensor(x.device, x.shape, x.dtype, Layout::Tile, is_decode ? x.mem : mem, std::move(out));
}

namespace {

void check_sdpa_operand(const Tensor::Impl& t) {
  check_tile(t, "Inputs to SDPA must be tilized");
  if (t.mem.layout != TensorMemoryLayout::Interleaved) fatal("Operands to SDPA need to be DRAM/L1 interleaved");
  if (!is_float(t.dtype)) fatal("Inputs to SDPA must be floating point");
  need_rank(t, 4, "SDPA", "inputs");
}

void check_chunks(const SdpaConfig& pc, bool decode) {
  if (decode && pc.q_chunk_size == 0 && pc.k_chunk_size == 0) return;
  if (pc.q_chunk_size == 0 && !decode) fatal("q_chunk_size must be non-zero");
  if (pc.q_chunk_size % kTile) fatal(cat("q_chunk_size must be divisible by 32. Got q_chunk_size: ", pc.q_chunk_size));
  if (pc.k_chunk_size == 0 || pc.k_chunk_size % kTile)
    fatal(cat("k_chunk_size must be divisible by 32. Got k_chunk_size: ", pc.k_chunk_size));
}

// Flash attention over one (query rows, head) pair: k chunks of k_chunk rows with an online
// softmax, scores and probabilities rounded to bf16 where the kernel packs them to its bf16
// intermediate CBs (sdpa compute kernel: cb_qk_im / cb_exp_max_diff are Float16_b).
void attend(const float* q, uint32_t nq, const float* k, const float* v, uint32_t nk, uint32_t D, float scale,
            uint32_t k_chunk, const std::vector<int64_t>& last_visible, float* out) {
  std::vector<float> m(nq, -std::numeric_limits<float>::infinity()), l(nq, 0.0f), acc(size_t(nq) * D, 0.0f);
  std::vector<float> sc(k_chunk);
  for (uint32_t k0 = 0; k0 < nk; k0 += k_chunk) {
    const uint32_t kn = std::min(k_chunk, nk - k0);
    for (uint32_t i = 0; i < nq; ++i) {
      if (last_visible[i] < int64_t(k0)) continue;  // the whole chunk is masked: skipped
      float cm = m[i];
      for (uint32_t j = 0; j < kn; ++j) {
        if (int64_t(k0 + j) > last_visible[i]) { sc[j] = -std::numeric_limits<float>::infinity(); continue; }
        float dot = 0.0f;
        for (uint32_t d = 0; d < D; ++d) dot += q[size_t(i) * D + d] * k[size_t(k0 + j) * D + d];
        sc[j] = host::round_to_bf16(dot * scale);
        cm = std::max(cm, sc[j]);
      }
      const float corr = std::isinf(m[i]) ? 0.0f : std::exp(m[i] - cm);
      l[i] *= corr;
      for (uint32_t d = 0; d < D; ++d) acc[size_t(i) * D + d] *= corr;
      for (uint32_t j = 0; j < kn; ++j) {
        if (std::isinf(sc[j])) continue;
        const float p = host::round_to_bf16(std::exp(sc[j] - cm));
        l[i] += p;
        for (uint32_t d = 0; d < D; ++d) acc[size_t(i) * D + d] += p * v[size_t(k0 + j) * D + d];
      }
      m[i] = cm;
    }
  }
  for (uint32_t i = 0; i < nq; ++i)
    for (uint32_t d = 0; d < D; ++d) out[size_t(i) * D + d] = l[i] > 0.0f ? acc[size_t(i) * D + d] / l[i] : 0.0f;
}

}  // namespace

std::unique_ptr<Tensor> sdpa(const Tensor& tq, const Tensor& tk, const Tensor& tv, const Tensor* tmask, bool is_causal,
                             bool has_scale, float scale, const SdpaConfig& pc, const MemConfig& mem,
                             const ComputeConfig& compute) {
  (void)compute;
  const Tensor::Impl& q = tq.impl();
  const Tensor::Impl& k = tk.impl();
  const Tensor::Impl& v = tv.impl();
  check_same_device(q, k, "SDPA");
  check_same_device(q, v, "SDPA");
  for (const Tensor::Impl* t : {&q, &k, &v}) check_sdpa_operand(*t);
  const uint32_t B = q.shape[0], NQ = q.shape[1], S = q.shape[2], D = q.shape[3];
  const uint32_t NKV = k.shape[1], SK = k.shape[2];
  if (k.shape[0] != B || v.shape[0] != B) fatal(cat("Q, K and V batch must match. Got Q: ", B, ", K: ", k.shape[0], ", V: ", v.shape[0]));
  if (k.shape[3] != D) fatal(cat("Q and K head_dim must match. Got Q: ", D, ", K: ", k.shape[3]));
  if (v.shape[1] != NKV) fatal(cat("K and V num_heads must match. Got K: ", NKV, ", V: ", v.shape[1]));
  if (v.shape[2] != SK) fatal(cat("K and V sequence length must match. Got K: ", SK, ", V: ", v.shape[2]));
  if (v.shape[3] != D) fatal(cat("V head_dim ", v.shape[3], " must equal Q head_dim ", D));
  if (NQ % NKV) fatal(cat("Q num_heads ", NQ, " must be a multiple of K num_heads ", NKV));
  if (is_causal && tmask) fatal("Mask is not supported with causal attention: pass is_causal=false with an explicit mask");
  if (is_causal && S != SK) fatal(cat("Causal SDPA requires Q and K sequence lengths to match. Got Q: ", S, ", K: ", SK));
  check_chunks(pc, false);
  std::vector<float> mask;
  if (tmask) {
    const Tensor::Impl& m = tmask->impl();
    if (m.layout != Layout::Tile) fatal("When mask is provided to SDPA, it must be tilized");
    need_rank(m, 4, "SDPA", "mask");
    if (m.shape[2] != S) fatal("Mask sequence length must match Q sequence length");
    if (m.shape[3] != SK) fatal("Mask sequence length must match K sequence length");
    if (m.shape[0] != B && m.shape[0] != 1) fatal("Mask batch must be 1 or match Q batch");
    if (m.shape[1] != 1 && m.shape[1] != NQ) fatal("Mask num_heads must be 1 or match Q num_heads");
    mask = read_values(m);
    // An additive mask: -inf (or a very negative value) hides a key. The host reads entries below
    // -1e4 as hidden (tt-transformers fills masks with -inf).
  }
  const float sc = has_scale ? scale : 1.0f / std::sqrt(float(D));
  const std::vector<float> qv = read_values(q), kv = read_values(k), vv = read_values(v);
  std::vector<float> out(qv.size());
  const uint32_t group = NQ / NKV;
  for (uint32_t b = 0; b < B; ++b)
    for (uint32_t h = 0; h < NQ; ++h) {
      const size_t qoff = (size_t(b) * NQ + h) * S * D, koff = (size_t(b) * NKV + h / group) * SK * D;
      for (uint32_t q0 = 0; q0 < S; q0 += pc.q_chunk_size) {
        const uint32_t qn = std::min(pc.q_chunk_size, S - q0);
        std::vector<int64_t> last(qn, int64_t(SK) - 1);
        if (is_causal)
          for (uint32_t i = 0; i < qn; ++i) last[i] = q0 + i;
        if (!mask.empty()) {
          // Explicit masks: rows are attended key by key (chunks cannot be skipped).
          const auto& m = tmask->impl();
          for (uint32_t i = 0; i < qn; ++i) {
            const size_t mrow = ((size_t(m.shape[0] == 1 ? 0 : b) * m.shape[1] + (m.shape[1] == 1 ? 0 : h)) * S + q0 + i) * SK;
            // Apply the mask by attending one query at a time over keys with their bias.
            std::vector<float> scores(SK);
            float mx = -std::numeric_limits<float>::infinity();
            for (uint32_t j = 0; j < SK; ++j) {
              float dot = 0.0f;
              for (uint32_t d = 0; d < D; ++d) dot += qv[qoff + size_t(q0 + i) * D + d] * kv[koff + size_t(j) * D + d];
              scores[j] = host::round_to_bf16(dot * sc) + mask[mrow + j];
              mx = std::max(mx, scores[j]);
            }
            double sum = 0.0;
            for (uint32_t j = 0; j < SK; ++j) {
              scores[j] = std::isinf(scores[j]) ? 0.0f : host::round_to_bf16(std::exp(scores[j] - mx));
              sum += scores[j];
            }
            for (uint32_t d = 0; d < D; ++d) {
              double a = 0.0;
              for (uint32_t j = 0; j < SK; ++j) a += scores[j] * vv[koff + size_t(j) * D + d];
              out[qoff + size_t(q0 + i) * D + d] = float(a / sum);
            }
          }
          continue;
        }
        attend(&qv[qoff + size_t(q0) * D], qn, &kv[koff], &vv[koff], SK, D, sc, pc.k_chunk_size, last,
               &out[qoff + size_t(q0) * D]);
      }
    }
  return make_tensor(q.device, q.shape, q.dtype, Layout::Tile, mem, std::move(out));
}

std::unique_ptr<Tensor> sdpa_decode(const Tensor& tq, const Tensor& tk, const Tensor& tv, rust::Slice<const uint32_t> cur_pos,
                                    bool has_scale, float scale, const SdpaConfig& pc, const MemConfig& mem,
                                    const ComputeConfig& compute) {
  (void)compute;
  const Tensor::Impl& q = tq.impl();
  const Tensor::Impl& k = tk.impl();
  const Tensor::Impl& v = tv.impl();
  check_same_device(q, k, "SDPA decode");
  check_same_device(q, v, "SDPA decode");
  check_tile(q, "Inputs to SDPA must be tilized");
  check_tile(k, "Inputs to SDPA must be tilized");
  check_tile(v, "Inputs to SDPA must be tilized");
  need_rank(q, 4, "SDPA decode", "Q");
  need_rank(k, 4, "SDPA decode", "K");
  need_rank(v, 4, "SDPA decode", "V");
  // Q [1, batch, n_q_heads, head_dim]; K/V caches [batch, n_kv_heads, max_seq, head_dim].
  if (q.shape[0] != 1) fatal(cat("Q must be [1, batch, num_heads, head_dim] for decode, got ", shape_str(q.shape)));
  const uint32_t B = q.shape[1], NQ = q.shape[2], D = q.shape[3];
  const uint32_t NKV = k.shape[1], SMAX = k.shape[2];
  if (k.shape != v.shape) fatal(cat("K and V shapes must match. Got K: ", shape_str(k.shape), ", V: ", shape_str(v.shape)));
  if (k.shape[0] != B) fatal(cat("K batch ", k.shape[0], " must match Q batch ", B));
  if (k.shape[3] != D) fatal(cat("Q and K head_dim must match. Got Q: ", D, ", K: ", k.shape[3]));
  if (NQ % NKV) fatal(cat("Q num_heads ", NQ, " must be a multiple of K num_heads ", NKV));
  // GQA (K with more than one head): TT-NN writes the output interleaved only and needs bf16 Q
  // (tt-metal 13adda80 sdpa_decode_device_operation.cpp:403-409).
  if (NKV > 1) {
    if (mem.layout != TensorMemoryLayout::Interleaved) fatal("Sharded output not supported for GQA");
    if (q.dtype != DataType::Bfloat16) fatal("GQA expects BFLOAT16 input tensor");
  }
  if (cur_pos.size() != B) fatal(cat("cur_pos must have one entry per user: batch ", B, ", got ", cur_pos.size()));
  for (uint32_t b = 0; b < B; ++b)
    if (cur_pos[b] >= SMAX) fatal(cat("cur_pos ", cur_pos[b], " of user ", b, " is past the cache length ", SMAX));
  check_chunks(pc, true);
  const uint32_t k_chunk = pc.k_chunk_size ? pc.k_chunk_size : SMAX;
  const float sc = has_scale ? scale : 1.0f / std::sqrt(float(D));
  // The caches are read in place: attend() touches positions <= cur_pos only (whole k chunks past
  // it are skipped), so a decode step costs O(cur_pos), not O(max_seq), per user and head.
  std::vector<float> kscratch, vscratch;
  const std::vector<float> qv = read_values(q);
  const float* kv = values_view(k, kscratch);
  const float* vv = values_view(v, vscratch);
  std::vector<float> out(qv.size());
  const uint32_t group = NQ / NKV;
  for (uint32_t b = 0; b < B; ++b)
    for (uint32_t h = 0; h < NQ; ++h) {
      const size_t qoff = (size_t(b) * NQ + h) * D, koff = (size_t(b) * NKV + h / group) * SMAX * D;
      const std::vector<int64_t> last{int64_t(cur_pos[b])};
      attend(&qv[qoff], 1, &kv[koff], &vv[koff], SMAX, D, sc, k_chunk, last, &out[qoff]);
    }
  return make_tensor(q.device, q.shape, q.dtype, Layout::Tile, mem, std::move(out));
}

namespace {

// dtypes (tt-metal 13adda80): fill_cache needs input dtype == cache dtype ("If we want to support
// mixed precision like decode, we need to add simple compute kernel for conversion",
// kv_cache/device/update_cache_device_operation.cpp); update_cache takes FLOAT32/BFLOAT16/
// BFLOAT8_B for both and converts; paged_update_cache takes a FLOAT32/BFLOAT16 input into a
// FLOAT32/BFLOAT16/BFLOAT8_B/BFLOAT4_B cache (paged_cache/device/update_cache/
// paged_update_cache_device_operation.cpp).
enum class CacheOp { Fill, Update, PagedUpdate };

void check_cache_pair(const Tensor::Impl& cache, const Tensor::Impl& in, const char* op, CacheOp kind) {
  check_same_device(cache, in, op);
  check_tile(cache, cat(op, ": cache tensor must be tilized"));
  check_tile(in, cat(op, ": input tensor must be tilized"));
  const auto one_of = [](DataType d, std::initializer_list<DataType> ok) {
    for (DataType o : ok)
      if (d == o) return true;
    return false;
  };
  switch (kind) {
    case CacheOp::Fill:
      if (in.dtype != cache.dtype) fatal("Input and cache tensors must have same dtype!");
      break;
    case CacheOp::Update:
      if (!one_of(in.dtype, {DataType::Float32, DataType::Bfloat16, DataType::Bfloat8B}))
        fatal("Input tensor dtype must be FLOAT32, BFLOAT16, or BFLOAT8_B");
      if (!one_of(cache.dtype, {DataType::Float32, DataType::Bfloat16, DataType::Bfloat8B}))
        fatal("Cache tensor dtype must be FLOAT32, BFLOAT16, or BFLOAT8_B");
      break;
    case CacheOp::PagedUpdate:
      if (!one_of(in.dtype, {DataType::Float32, DataType::Bfloat16}))
        fatal("Data type of input tensor for update cache must be FLOAT32 or BFLOAT16");
      if (!one_of(cache.dtype, {DataType::Float32, DataType::Bfloat16, DataType::Bfloat8B, DataType::Bfloat4B}))
        fatal("Data type of cache tensor must be FLOAT32, BFLOAT16, BFLOAT8_B, or BFLOAT4_B");
      break;
  }
  need_rank(cache, 4, op, "cache");
  need_rank(in, 4, op, "input");
  if (in.shape[3] != cache.shape[3]) fatal(cat(op, ": input head_dim ", in.shape[3], " must match the cache head_dim ", cache.shape[3]));
}

void rewrite(Tensor::Impl& cache, std::vector<float> values) {
  auto fresh = make_tensor(cache.device, cache.shape, cache.dtype, cache.layout, cache.mem, std::move(values));
  cache = std::move(fresh->impl());
}

}  // namespace

void update_cache(Tensor& tcache, const Tensor& tin, uint32_t update_idx, uint32_t batch_offset) {
  Tensor::Impl& cache = tcache.impl();
  const Tensor::Impl& in = tin.impl();
  check_cache_pair(cache, in, "update_cache", CacheOp::Update);
  // input [1, num_heads, batch, head_dim] -> cache[batch_offset + b, h, update_idx, :].
  const uint32_t B = cache.shape[0], H = cache.shape[1], S = cache.shape[2], D = cache.shape[3];
  if (in.shape[0] != 1 || in.shape[1] != H) fatal(cat("update_cache: input must be [1, ", H, ", batch, ", D, "], got ", shape_str(in.shape)));
  if (update_idx >= S) fatal(cat("Update index ", update_idx, " must be less than the cache sequence length ", S));
  if (B >= 32 && batch_offset != 0) fatal("Batch offset must be 0 when cache tensor batch size >= 32");
  const uint32_t nb = in.shape[2];
  if (batch_offset + std::min(nb, B) > B) fatal(cat("update_cache: batch_offset ", batch_offset, " + batch ", nb, " exceeds the cache batch ", B));
  const std::vector<float> iv = read_values(in);
  if (cache.shards.empty()) {
    // Interleaved cache: only the written rows change (no O(cache) copy per decode step).
    for (uint32_t b = 0; b < std::min(nb, B - batch_offset); ++b)
      for (uint32_t h = 0; h < H; ++h)
        write_rows(cache, (uint64_t(b + batch_offset) * H + h) * S + update_idx, &iv[(size_t(h) * nb + b) * D], 1);
    return;
  }
  std::vector<float> cv = read_values(cache);
  for (uint32_t b = 0; b < std::min(nb, B - batch_offset); ++b)
    for (uint32_t h = 0; h < H; ++h)
      std::memcpy(&cv[((size_t(b + batch_offset) * H + h) * S + update_idx) * D], &iv[(size_t(h) * nb + b) * D], D * sizeof(float));
  rewrite(cache, std::move(cv));
}

void fill_cache(Tensor& tcache, const Tensor& tin, uint32_t batch_idx, uint32_t update_idx) {
  Tensor::Impl& cache = tcache.impl();
  const Tensor::Impl& in = tin.impl();
  check_cache_pair(cache, in, "fill_cache", CacheOp::Fill);
  // input [1, num_heads, seq, head_dim] -> cache[batch_idx, :, update_idx .. update_idx + seq, :].
  const uint32_t B = cache.shape[0], H = cache.shape[1], S = cache.shape[2], D = cache.shape[3];
  if (in.shape[0] != 1 || in.shape[1] != H) fatal(cat("fill_cache: input must be [1, ", H, ", seq, ", D, "], got ", shape_str(in.shape)));
  if (batch_idx >= B) fatal(cat("Batch index ", batch_idx, " must be less than the cache batch ", B));
  const uint32_t s = in.shape[2];
  if (update_idx % kTile) fatal(cat("fill_cache: update_idx ", update_idx, " must be a multiple of 32"));
  if (update_idx + s > S) fatal(cat("Input sequence ", s, " at update_idx ", update_idx, " does not fit the cache sequence length ", S));
  const std::vector<float> iv = read_values(in);
  if (cache.shards.empty()) {
    for (uint32_t h = 0; h < H; ++h)
      write_rows(cache, (uint64_t(batch_idx) * H + h) * S + update_idx, &iv[size_t(h) * s * D], s);
    return;
  }
  std::vector<float> cv = read_values(cache);
  for (uint32_t h = 0; h < H; ++h)
    std::memcpy(&cv[((size_t(batch_idx) * H + h) * S + update_idx) * D], &iv[size_t(h) * s * D], size_t(s) * D * sizeof(float));
  rewrite(cache, std::move(cv));
}

void update_cache_per_user(Tensor& tcache, const Tensor& tin, rust::Slice<const uint32_t> update_idxs) {
  Tensor::Impl& cache = tcache.impl();
  const Tensor::Impl& in = tin.impl();
  check_cache_pair(cache, in, "paged_update_cache", CacheOp::PagedUpdate);
  // paged_update_cache without a page table: input [1, batch, num_kv_heads, head_dim] (the
  // HEIGHT_SHARDED output of nlp_create_qkv_heads_decode) -> cache[b, h, update_idxs[b], :].
  if (in.mem.layout != TensorMemoryLayout::HeightSharded) fatal("paged_update_cache: input tensor must be HEIGHT_SHARDED");
  const uint32_t B = cache.shape[0], H = cache.shape[1], S = cache.shape[2], D = cache.shape[3];
  if (in.shape[0] != 1 || in.shape[2] != H) fatal(cat("paged_update_cache: input must be [1, batch, ", H, ", ", D, "], got ", shape_str(in.shape)));
  const uint32_t nb = in.shape[1];
  if (nb > B) fatal(cat("paged_update_cache: input batch ", nb, " exceeds the cache batch ", B));
  if (update_idxs.size() != nb) fatal(cat("paged_update_cache: need one update index per user (", nb, "), got ", update_idxs.size()));
  for (uint32_t b = 0; b < nb; ++b)
    if (update_idxs[b] >= S) fatal(cat("Update index ", update_idxs[b], " of user ", b, " must be less than the cache sequence length ", S));
  const std::vector<float> iv = read_values(in);
  if (cache.shards.empty()) {
    // Interleaved cache: only the written rows change (no O(cache) copy per decode step).
    for (uint32_t b = 0; b < nb; ++b)
      for (uint32_t h = 0; h < H; ++h)
        write_rows(cache, (uint64_t(b) * H + h) * S + update_idxs[b], &iv[(size_t(b) * H + h) * D], 1);
    return;
  }
  std::vector<float> cv = read_values(cache);
  for (uint32_t b = 0; b < nb; ++b)
    for (uint32_t h = 0; h < H; ++h)
      std::memcpy(&cv[((size_t(b) * H + h) * S + update_idxs[b]) * D], &iv[(size_t(b) * H + h) * D], D * sizeof(float));
  rewrite(cache, std::move(cv));
}

QkvHeads nlp_create_qkv_heads(const Tensor& tx, uint32_t num_q_heads, uint32_t num_kv_heads, bool transpose_k,
                              const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  check_tile(x, "nlp_create_qkv_heads: input must be tilized");
  need_rank(x, 4, "nlp_create_qkv_heads", "input");
  if (x.mem.layout != TensorMemoryLayout::Interleaved) fatal("nlp_create_qkv_heads (prefill) expects an interleaved input");
  if (x.shape[1] != 1) fatal(cat("Unsupported input shape ", shape_str(x.shape), ": dim 1 must be 1"));
  if (num_q_heads == 0 || num_kv_heads == 0 || num_q_heads % num_kv_heads)
    fatal(cat("num_q_heads ", num_q_heads, " must be a non-zero multiple of num_kv_heads ", num_kv_heads));
  const uint32_t B = x.shape[0], S = x.shape[2], W = x.shape[3], nh = num_q_heads + 2 * num_kv_heads;
  if (W % nh) fatal(cat("Input width ", W, " must be divisible by (num_q_heads + 2 * num_kv_heads) = ", nh));
  const uint32_t D = W / nh;
  if (D % kTile) fatal(cat("Head dim ", D, " must be a multiple of TILE_WIDTH 32"));
  const std::vector<float> xv = read_values(x);
  auto heads = [&](uint32_t first, uint32_t n, bool transpose) {
    std::vector<float> o(size_t(B) * n * S * D);
    for (uint32_t b = 0; b < B; ++b)
      for (uint32_t h = 0; h < n; ++h)
        for (uint32_t s = 0; s < S; ++s)
          for (uint32_t d = 0; d < D; ++d) {
            const float val = xv[(size_t(b) * S + s) * W + (first + h) * D + d];
            if (transpose) o[((size_t(b) * n + h) * D + d) * S + s] = val;
            else o[((size_t(b) * n + h) * S + s) * D + d] = val;
          }
    const std::vector<uint32_t> shape = transpose ? std::vector<uint32_t>{B, n, D, S} : std::vector<uint32_t>{B, n, S, D};
    return make_tensor(x.device, shape, x.dtype, Layout::Tile, mem, std::move(o));
  };
  return QkvHeads{heads(0, num_q_heads, false), heads(num_q_heads, num_kv_heads, transpose_k),
                  heads(num_q_heads + num_kv_heads, num_kv_heads, false)};
}

QkvHeads nlp_create_qkv_heads_decode(const Tensor& tx, uint32_t num_q_heads, uint32_t num_kv_heads) {
  const Tensor::Impl& x = tx.impl();
  check_tile(x, "nlp_create_qkv_heads_decode: input must be tilized");
  need_rank(x, 4, "nlp_create_qkv_heads_decode", "input");
  // input [1, 1, batch, (nq + 2 nkv) * head_dim] -> q [1, batch, nq, D], k/v [1, batch, nkv, D],
  // each HEIGHT_SHARDED in L1 on `batch` cores with a [32, head_dim] shard (heads padded to a
  // tile), as nlp_create_qkv_heads_decode's compute_output_specs makes them.
  if (x.shape[0] != 1 || x.shape[1] != 1) fatal(cat("Input must be [1, 1, batch, width], got ", shape_str(x.shape)));
  if (num_q_heads == 0 || num_kv_heads == 0 || num_q_heads % num_kv_heads)
    fatal(cat("num_q_heads ", num_q_heads, " must be a non-zero multiple of num_kv_heads ", num_kv_heads));
  if (num_q_heads > kTile) fatal(cat("num_q_heads ", num_q_heads, " must be at most 32 (one tile of heads per user)"));
  const uint32_t B = x.shape[2], W = x.shape[3], nh = num_q_heads + 2 * num_kv_heads;
  if (W % nh) fatal(cat("Input width ", W, " must be divisible by (num_q_heads + 2 * num_kv_heads) = ", nh));
  const uint32_t D = W / nh;
  if (D % kTile) fatal(cat("Head dim ", D, " must be a multiple of TILE_WIDTH 32"));
  if (B > 32) fatal(cat("Batch ", B, " must be at most 32"));
  const std::vector<float> xv = read_values(x);
  const MemConfig out_mem = height_sharded_l1(x.device, B, kTile, D);
  auto heads = [&](uint32_t first, uint32_t n) {
    std::vector<float> o(size_t(B) * n * D);
    for (uint32_t b = 0; b < B; ++b)
      for (uint32_t h = 0; h < n; ++h)
        std::memcpy(&o[(size_t(b) * n + h) * D], &xv[size_t(b) * W + (first + h) * D], D * sizeof(float));
    return make_tensor(x.device, {1, B, n, D}, x.dtype, Layout::Tile, out_mem, std::move(o));
  };
  return QkvHeads{heads(0, num_q_heads), heads(num_q_heads, num_kv_heads), heads(num_q_heads + num_kv_heads, num_kv_heads)};
}

std::unique_ptr<Tensor> nlp_concat_heads(const Tensor& tx, const MemConfig& mem) {
  const Tensor::Impl& x = tx.impl();
  check_tile(x, "nlp_concat_heads: input must be tilized");
  need_rank(x, 4, "nlp_concat_heads", "input");
  // [batch, heads, seq, head_dim] -> [batch, 1, seq, heads * head_dim].
  const uint32_t B = x.shape[0], H = x.shape[1], S = x.shape[2], D = x.shape[3];
  if (D % kTile) fatal(cat("Head dim ", D, " must be a multiple of TILE_WIDTH 32"));
  const std::vector<float> xv = read_values(x);
  std::vector<float> o(xv.size());
  for (uint32_t b = 0; b < B; ++b)
    for (uint32_t h = 0; h < H; ++h)
      for (uint32_t s = 0; s < S; ++s)
        std::memcpy(&o[(size_t(b) * S + s) * H * D + size_t(h) * D], &xv[((size_t(b) * H + h) * S + s) * D], D * sizeof(float));
  return make_tensor(x.device, {B, 1, S, H * D}, x.dtype, Layout::Tile, mem, std::move(o));
}

std::unique_ptr<Tensor> nlp_concat_heads_decode(const Tensor& tx, uint32_t num_heads) {
  const Tensor::Impl& x = tx.impl();
  check_tile(x, "nlp_concat_heads_decode: input must be tilized");
  need_rank(x, 4, "nlp_concat_heads_decode", "input");
  if (x.mem.layout != TensorMemoryLayout::HeightSharded) fatal("Input tensor must be HEIGHT_SHARDED for nlp_concat_heads_decode");
  // [1, batch, heads (<= 32), head_dim] -> [1, 1, batch, num_heads * head_dim], WIDTH_SHARDED in
  // L1 on num_heads cores with a [32 (batch padded), head_dim] shard.
  const uint32_t B = x.shape[1], H = x.shape[2], D = x.shape[3];
  if (x.shape[0] != 1) fatal(cat("Input must be [1, batch, heads, head_dim], got ", shape_str(x.shape)));
  if (num_heads == 0 || num_heads > H) fatal(cat("num_heads ", num_heads, " must be in 1..=", H));
  if (B > kTile) fatal(cat("Batch ", B, " must be at most 32"));
  const std::vector<float> xv = read_values(x);
  std::vector<float> o(size_t(B) * num_heads * D);
  for (uint32_t b = 0; b < B; ++b)
    for (uint32_t h = 0; h < num_heads; ++h)
      std::memcpy(&o[size_t(b) * num_heads * D + size_t(h) * D], &xv[(size_t(b) * H + h) * D], D * sizeof(float));
  const MemConfig out_mem = height_sharded_l1(x.device, num_heads, kTile, D, TensorMemoryLayout::WidthSharded);
  return make_tensor(x.device, {1, 1, B, num_heads * D}, x.dtype, Layout::Tile, out_mem, std::move(o));
}

}  // namespace tttv2::ffi
