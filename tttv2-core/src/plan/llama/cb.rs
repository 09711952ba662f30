//! Circular-buffer bytes per core of the non-matmul ops, as TT-NN's program factories allocate
//! them at tt-metal 13adda80 (file:line per function; paths from the tt-metal root). Written from
//! those sources and checked against TT-NN 0.81.1 on its mock device by
//! `tools/ttnn-replay/cb_formulas.py` (exact for the cases our plans use: bf16 activations, no
//! fused residual, no Welford); where a factory has cases we do not model, the function takes the
//! larger one, so the figure is an upper bound.

use crate::ttnn::SDPAProgramConfig;

/// Tile bytes of a 32x32 bf16 tile.
const T16: u64 = 2048;

fn ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// `rms_norm` with `LayerNormDefaultProgramConfig`, interleaved bf16 input, ROW_MAJOR gamma
/// (`ttnn/cpp/ttnn/operations/normalization/layernorm/device/layernorm_op_multi_core.cpp`: block
/// size 8, 4 with fp32 accumulation `:148`; tile counts `:220-239`; CBs created for rms_norm
/// `:683-800`). A ROW_MAJOR gamma selects the row-major kernel, which skips the large-tensor
/// fallback (`:217, :289-311`), so the CBs sized by the row keep the whole row.
pub(super) fn rms_norm_default(hidden: u32, fp32: bool) -> u64 {
    let t = if fp32 { 4096 } else { T16 };
    let bs = if fp32 { 4 } else { 8 };
    let w = ceil(ceil(hidden as u64, 32), bs) * bs;
    w * T16 // c_0 input
        + 2 * bs * T16 // c_16 output
        + 2 * T16 + 2 * T16 // c_2 scaler, c_3 epsilon
        + 2 * t // c_19
        + w * t // c_20 x²
        + 8 * t // c_21
        + 2 * bs * t // c_22
        + w * T16 // c_5 gamma
}

/// Whether TT-NN's `CB_can_fit_in_L1` passes for the whole-row CBs of `rms_norm` with
/// `LayerNormDefaultProgramConfig`, interleaved TILE bf16 input, a gamma and no fused residual, on a
/// core of `l1_size` bytes (`layernorm_op_multi_core.cpp` @ 13adda80: the check `:34-70` sums
/// in0, in1 (0 without `b`), out0, im0, im3, in5 (gamma), in6 (beta: counted even without one,
/// bf16 tiles), im6, im5, im4, im1, in2, in3 and im2 as set at `:220-239`, and passes when the sum
/// is under `0.95 * l1_size_per_core`; called at `:269-286`). When it fails and gamma is TILE,
/// TT-NN takes the large-tensor kernel ([`rms_norm_large`], `:289-311`).
pub(super) fn rms_norm_whole_row_fits_ttnn(hidden: u32, fp32: bool, l1_size: u64) -> bool {
    let t = if fp32 { 4096 } else { T16 };
    let bs = if fp32 { 4 } else { 8 };
    let w = ceil(ceil(hidden as u64, 32), bs) * bs;
    let sum = w * T16 // in0
        + 2 * bs * T16 // out0
        + 2 * w * t // im0, im3
        + 2 * w * T16 // in5 gamma, in6 beta
        + 2 * bs * t // im6
        + 2 * bs * t // im5
        + 8 * t // im4
        + 2 * t // im1
        + 2 * T16 + 2 * T16 // in2, in3
        + 2 * t; // im2
    (sum as f64) < l1_size as f64 * 0.95
}

/// `rms_norm` with `LayerNormDefaultProgramConfig`, interleaved TILE bf16 input and a TILE bf16
/// gamma, when the whole-row CBs do not pass TT-NN's fit check: the large-tensor kernels
/// (`reader_unary_interleaved_ln_large_tensor.cpp`, `layernorm_large_tensor.cpp`) walk the row in
/// blocks, so every row-sized CB is capped at `with_weights_max_size` = 56 bf16 tiles (28 with fp32
/// accumulation) (`ttnn/cpp/ttnn/operations/normalization/layernorm/device/layernorm_op_multi_core.cpp`
/// @ 13adda80: block size `:148`; caps `:256-257`; large-tensor sizes `:289-311`; kernels
/// `:485-490, :541-546`; CBs created `:682-791`: c_0, c_16, c_2, c_3, c_19, c_24 (also for rms_norm
/// on this path `:743-747`), c_20, c_21, the one-tile accumulator c_26 (fp32 with fp32 accumulation
/// `:759-765`), c_22, c_5). Independent of the row width. TT-NN 0.81.1 (d80d9482) on its mock
/// device allocates exactly this (555008 B for bf16 at hidden 8192; tools/ttnn-replay).
pub(super) fn rms_norm_large(fp32: bool) -> u64 {
    let t = if fp32 { 4096 } else { T16 };
    let bs = if fp32 { 4 } else { 8 };
    let w = 56 * T16 / t;
    w * T16 // c_0 input
        + 2 * bs * T16 // c_16 output
        + 2 * T16 + 2 * T16 // c_2 scaler, c_3 epsilon
        + 2 * t // c_19
        + w * t // c_24 x
        + w * t // c_20 x²
        + 8 * t // c_21
        + t // c_26 accumulator
        + 2 * bs * t // c_22
        + w * T16 // c_5 gamma
}

/// `rms_norm` with `LayerNormShardedMultiCoreProgramConfig`, width-sharded row-major, `rows` rows
/// on `shard_cores` cores whose bounding box is `gx × gy`
/// (`ttnn/cpp/ttnn/operations/normalization/layernorm/device/sharded_layernorm_factory_helpers.cpp`:
/// two-stage reduce `:82-93`, worker split `:137-167`, sizes `CBSizeParams::compute` `:533-600`,
/// CBs created `:990-1240`). Input and output CBs live in the shards (not counted here).
pub(super) fn rms_norm_sharded(
    hidden: u32,
    rows: u32,
    shard_cores: u32,
    gx: u32,
    gy: u32,
    block_w: u32,
    fp32: bool,
) -> u64 {
    let t = if fp32 { 4096 } else { T16 };
    let (kt, bh, bw) = (ceil(hidden as u64, 32), ceil(rows as u64, 32), block_w as u64);
    let two_stage = gx > 1 && gy > 1;
    let ext = if two_stage { (gx + gy - 1) as u64 } else { ceil(kt, bw) };
    let per_worker = ceil(bh, if two_stage { gx } else { shard_cores } as u64);
    let tiles = bw // c_5 gamma
        + 2 * bh * bw // c_24 x, c_18 xmm
        + 3 * bh // c_11, c_12, c_15 statistics
        + ext // c_13 partial statistics of the other cores
        + per_worker; // c_20
    tiles * t + 3 * T16 // c_2, c_3 scalers, c_4
}

/// `embedding`, ROW_MAJOR uint32 ids, TILE output
/// (`ttnn/cpp/ttnn/operations/embedding/device/embeddings_fused_program_factory.cpp:101-175`):
/// the whole row of `hidden/32` tiles, double-buffered when it fits a 1 MiB budget, else chunks
/// of up to 64 tiles; plus the 128-B ids CB. Decode with fewer than 32 ids takes another factory
/// that needs less; this figure bounds it.
pub(super) fn embedding(hidden: u32, weight_tile: u64, out_tile: u64) -> u64 {
    let nt = ceil(hidden as u64, 32);
    let budget = 1024 * 1024;
    let (tpc, buf) = if 2 * nt * weight_tile > budget {
        ((budget / weight_tile).max(1).min(nt).min(64), 2)
    } else {
        (nt, if nt > 64 { 1 } else { 2 })
    };
    buf * tpc * weight_tile + 32 * 4 + buf * tpc * out_tile
}

/// Prefill `nlp_concat_heads`, interleaved input and output
/// (`ttnn/cpp/ttnn/operations/experimental/transformer/nlp_concat_heads/device/nlp_concat_heads_program_factory.cpp:36, :138-143`):
/// the input CB holds one tile row of every head, double-buffered; the output CB (`:153-160`)
/// exists only for sharded outputs.
pub(super) fn concat_heads_prefill(heads: u32, head_dim: u32) -> u64 {
    2 * heads as u64 * ceil(head_dim as u64, 32) * T16
}

/// Prefill rotary_embedding_llama, interleaved
/// (`ttnn/cpp/ttnn/operations/experimental/transformer/rotary_embedding_llama/device/rotary_embedding_llama_multi_core_program_factory.cpp:80-116, 240-340`):
/// input 2·Wt, cos and sin 2·Wt each, trans_mat 1, three intermediates Wt each, output 2·Wt and a
/// zero tile row Wt; input, cos and sin hold every sequence tile row a core handles (`r`) unless
/// the core's rows times heads exceed 8 ("reload" implementation, `:88-104`). Rows per core: the
/// batch is split over the cores first, the sequence tiles over what is left.
pub(super) fn rotary_prefill(head_dim: u32, batch: u32, heads: u32, seq: u32, grid_cores: u32) -> u64 {
    let wt = ceil(head_dim as u64, 32);
    let (batch, seq_t, cores) = (batch.max(1) as u64, ceil(seq as u64, 32).max(1), grid_cores.max(1) as u64);
    let batch_par = batch.min(cores);
    let seq_par = (cores / batch_par).min(seq_t).max(1);
    let rows = ceil(seq_t, seq_par);
    let r = if rows * heads as u64 > 8 { 1 } else { rows };
    (6 * wt * r + 6 * wt + 1) * T16
}

/// The attention an SDPA program factory sizes its circular buffers for (one chip's share).
#[derive(Debug, Clone, Copy)]
pub(super) struct SdpaShape {
    pub batch: u32,
    pub q_heads: u32,
    pub kv_heads: u32,
    /// Positions attended to, padded to whole tiles.
    pub seq: u32,
    pub head_dim: u32,
}

/// Causal prefill `scaled_dot_product_attention`, no mask tensor, bf16 q and output,
/// fp32_dest_acc_en off (`ttnn/cpp/ttnn/operations/transformer/sdpa/device/sdpa_program_factory.cpp`:
/// q chunks per core `:330-352`, tile counts `:379-391`, output `:400-420`, CBs `:676-729`;
/// `sdpa_subblock_utils.hpp:67-72`). q is double-buffered when a core gets more than one q chunk
/// (causal: chunks are dealt in pairs when a head has an even number of them).
pub(super) fn sdpa_prefill(shape: SdpaShape, pc: &SDPAProgramConfig, kv_tile: u64) -> u64 {
    let SdpaShape { batch, q_heads, seq, head_dim, .. } = shape;
    let (q_chunk, k_chunk) = (pc.q_chunk_size, pc.k_chunk_size);
    let (sq, sk, d) = (q_chunk as u64 / 32, k_chunk as u64 / 32, ceil(head_dim as u64, 32));
    let nq = ceil(seq as u64, q_chunk as u64);
    let chunks = batch as u64 * q_heads as u64 * nq;
    let cores = pc.compute_with_storage_grid_size.area().max(1) as u64;
    let per_core = if nq.is_multiple_of(2) {
        (chunks / 2 / cores) * 2 + if !(chunks / 2).is_multiple_of(cores) { 2 } else { 0 }
    } else {
        ceil(chunks, cores)
    };
    let qbf = if per_core > 1 { 2 } else { 1 };
    let qktv_h = 2;
    let tiles = sq * d * qbf // q
        + 2 // causal mask tiles
        + 2 // identity scale, column identity
        + 1 // reciprocal scratch
        + sq * sk // QKᵀ
        + 2 * sq * d // output accumulators A/B
        + 5 * sq // max A/B, sum A/B, exp(max diff)
        + 2 * qktv_h * d; // output ping-pong
    // + 1 KiB: on a mock P150 TT-NN 0.81.1 allocates 96 B more than this count for a 4-head,
    // head_dim 64, 128-token prefill (not traced to its source); the margin keeps the plan an upper
    // bound (tools/ttnn-replay checks it).
    tiles * T16 + 2 * (2 * sk * d) * kv_tile + 1024 // K and V chunks, double-buffered
}

/// `scaled_dot_product_attention_decode` with dynamic chunks (`k_chunk_size` 0), DRAM output, no
/// mask/sink/paging (`ttnn/cpp/ttnn/operations/transformer/sdpa_decode/device/sdpa_decode_program_factory.cpp`:
/// cores per head `:192-206`, chunk `:386-387` (dst 8 tiles, 4 with fp32), tile counts `:418-425`,
/// CBs `:538-616`). Every tile is counted as a full 32x32 tile (the factory uses 16x32 tiles for
/// some CBs when a user has at most 16 q heads), and the two cur_pos sticks as 1 KiB: an upper bound.
pub(super) fn sdpa_decode(shape: SdpaShape, pc: &SDPAProgramConfig, fp32: bool, kv_tile: u64) -> u64 {
    let SdpaShape { batch, q_heads, kv_heads, head_dim, .. } = shape;
    let (b, kvh) = (batch.max(1) as u64, kv_heads.max(1) as u64);
    let avail = pc.compute_with_storage_grid_size.area() as u64;
    let per_batch = avail.min(pc.max_cores_per_head_batch as u64 * b * kvh) / b;
    let per_head = (per_batch / kvh).max(1);
    let sk = if fp32 { 4 } else { 8 };
    let (pnht, dht) = (ceil(q_heads as u64, 32), ceil(head_dim as u64, 32));
    let (q, qk, out, stats) = (pnht * dht, pnht * sk, pnht * dht, pnht);
    let intermed = (out + 2 * pnht) * (per_head - 1);
    let tiles = 2 * q // c_0 q, c_10 tilized q
        + 2 * qk // c_3 mask, c_24 QKᵀ
        + 3 // c_5, c_11, c_12 scalars
        + 11 * stats // c_6, c_7, c_17, c_18, c_21, c_22, c_27..c_31
        + 5 * out // c_16, c_20, c_23, c_25, c_26
        + intermed; // c_19 partial results of the other cores of a head
    tiles * T16 + 2 * (sk * dht * 2) * kv_tile + 2 * 1024
}

/// `paged_update_cache`, update indices given, unpaged
/// (`ttnn/cpp/ttnn/operations/experimental/paged_cache/device/update_cache/paged_update_cache_program_factory.cpp:168-230`):
/// cache 2·Wt, two bf16 intermediates 2·Wt each, and an output CB of `batch·Wt` cache tiles; the
/// input CB lives in the input shard.
pub(super) fn paged_update_cache(batch: u32, head_dim: u32, cache_tile: u64) -> u64 {
    let wt = ceil(head_dim as u64, 32);
    2 * wt * cache_tile + 2 * 2 * wt * T16 + batch as u64 * wt * cache_tile
}
