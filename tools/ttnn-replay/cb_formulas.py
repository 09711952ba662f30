#!/usr/bin/env python3
"""TT-NN's circular-buffer bytes per core for the non-matmul ops tttv2 plans, written from the
program factories of tt-metal 13adda80 (file:line in FINDINGS.md), and checked against what TT-NN
0.81.1 (d80d9482) allocates on the mock device.

    cb_formulas.py OUT_DIR        # OUT_DIR of run-all.sh: compares every replayed op it covers

Covers the bf16 cases our plans use (activations bf16, fp32_dest_acc_en off, no Welford, no fused
residual): that is the scope of each formula. Returns, per op, TT-NN's CB bytes per core; TT-NN's
L1 per core is this plus the op's L1 tensors (shards, L1-interleaved pages) on that core."""
import glob
import json
import math
import sys

TILE = {"BFLOAT16": 2048, "FLOAT32": 4096, "BFLOAT8_B": 1088, "BFLOAT4_B": 576, "UINT32": 4096}


def ceil(a, b):
    return -(-a // b)


def rms_norm_sharded(hidden, rows, shard_cores, bbox_w, bbox_h, block_w, fp32=False):
    """LayerNormShardedMultiCoreProgramConfig, rms_norm, width-sharded row-major, M == block_h
    (sharded_layernorm_factory_helpers.cpp:533-600 sizes, :990-1240 which CBs exist; two-stage
    reduce :82-93, worker split :137-167). c_0 and c_16 live in the input/output shards."""
    t = 4096 if fp32 else 2048
    kt, bh = ceil(hidden, 32), ceil(rows, 32)
    two_stage = bbox_w > 1 and bbox_h > 1  # row-wise, grid_size.x <= device x
    ext = (bbox_w + bbox_h - 1) if two_stage else ceil(kt, block_w)
    per_worker = ceil(bh, bbox_w if two_stage else shard_cores)
    tiles = (block_w  # c_5 gamma
             + 2 * bh * block_w  # c_24 x, c_18 xmm
             + 3 * bh  # c_11 ex_partial, c_12 ex, c_15 ex_global
             + ext  # c_13 ex_external
             + per_worker)  # c_20 ex2pe
    return tiles * t + 3 * 2048  # c_2, c_3 bf16 scalers, c_4 (bf16 unless fp32)


def rms_norm_default(hidden, fp32=False):
    """LayerNormDefaultProgramConfig, rms_norm, interleaved bf16 input, ROW_MAJOR gamma
    (layernorm_op_multi_core.cpp:148 block size, :220-239 tile counts, :683-800 CBs created). A
    ROW_MAJOR gamma selects the row-major kernel, which skips the large-tensor fallback (:288-298),
    so every CB sized by the row width keeps the whole row: nothing caps it."""
    t = 4096 if fp32 else 2048
    bs = 4 if fp32 else 8
    w = ceil(ceil(hidden, 32), bs) * bs  # Wt_next_block_up
    return (w * 2048  # c_0 in0 (input bf16)
            + 2 * bs * 2048  # c_16 out0
            + 2 * 2048 + 2 * 2048  # c_2 scaler, c_3 eps
            + 2 * t  # c_19 im2
            + w * t  # c_20 im3 (x^2)
            + 8 * t  # c_21 im4
            + 2 * bs * t  # c_22 im5
            + w * 2048)  # c_5 gamma (bf16)


def embedding_tilized(hidden, weight_dtype="BFLOAT16", out_dtype="BFLOAT16"):
    """ttnn.embedding, ROW_MAJOR uint32 ids, TILE output, interleaved output
    (embeddings_fused_program_factory.cpp:101-175)."""
    wt, ot = TILE[weight_dtype], TILE[out_dtype]
    nt = ceil(hidden, 32)
    budget = 1024 * 1024
    if 2 * nt * wt > budget:
        tpc = min(max(budget // wt, 1), nt, 64)
        buf = 2
    else:
        tpc = nt
        buf = 1 if nt > 64 else 2
    return buf * tpc * wt + 32 * 4 + buf * tpc * ot


def concat_heads_prefill(heads, head_dim):
    """nlp_concat_heads, interleaved input (nlp_concat_heads_program_factory.cpp:36, :138-160):
    c_0 holds the whole [heads x head_dim] tile row of one tile-row block, double-buffered; the
    output CB is only created for sharded outputs."""
    return 2 * heads * ceil(head_dim, 32) * 2048


def sdpa_prefill(batch, q_heads, seq, head_dim, q_chunk, k_chunk, cores, kv_dtype="BFLOAT16"):
    """scaled_dot_product_attention, causal, no mask tensor, bf16 q/out, fp32_dest_acc_en off
    (streaming compute) (sdpa_program_factory.cpp:330-352 q_buffer_factor, :379-391 tile
    counts, :400-420 out0_t, :676-729 CBs; sdpa_subblock_utils.hpp:67-72)."""
    sq, sk, d = q_chunk // 32, k_chunk // 32, ceil(head_dim, 32)
    nq = ceil(seq, q_chunk)
    q_chunks = batch * q_heads * nq
    if nq % 2 == 0:  # causal pair distribution (:333-343): chunks go to cores two at a time
        per_core = (q_chunks // 2 // cores) * 2 + (2 if (q_chunks // 2) % cores else 0)
    else:
        per_core = q_chunks // cores + (1 if q_chunks % cores else 0)
    qbf = 2 if per_core > 1 else 1
    kvt = TILE[kv_dtype]
    qktv_h = 2  # streaming_qktv_h(...) for dst 8 and the subblocks of our chunk sizes (measured)
    tiles_bf16 = (sq * d * qbf  # q
                  + 2  # lightweight causal mask (neginf + diagonal)
                  + 2  # identity scale, column identity
                  + 1  # recip scratch (streaming)
                  + sq * sk  # qk_im
                  + 2 * sq * d  # out_im A/B
                  + 5 * sq  # max A/B, sum A/B, exp_max_diff
                  + 2 * qktv_h * d)  # out (2-slot ping-pong)
    return tiles_bf16 * 2048 + 2 * (2 * sk * d) * kvt  # k, v double-buffered


def rotary_prefill(head_dim):
    """rotary_embedding_llama, prefill, interleaved (rotary_embedding_llama_multi_core_program_
    factory.cpp:80-116 input/cos/sin, :240-340 trans_mat, interm x3, output, zero)."""
    wt = ceil(head_dim, 32)
    return (2 * wt + 2 * 2 * wt + 1 + 3 * wt + 2 * wt + wt) * 2048


def paged_update_cache(batch, head_dim, cache_dtype):
    """paged_update_cache, update_idxs as a list, unpaged (paged_update_cache_program_factory.cpp:
    168-230): cache 2*Wt, interm 2x 2*Wt (bf16), output B*Wt in the cache dtype; the input CB lives
    in the input shard."""
    wt = ceil(head_dim, 32)
    ct = TILE[cache_dtype]
    return 2 * wt * ct + 2 * 2 * wt * 2048 + batch * wt * ct


def predict(o):
    """CB bytes per core for one manifest op (tttv2's manifest fields), or None when not covered."""
    t, sh, pc, mcs, dt = o["ttnn_op"], o["shapes"]["tensors"], o.get("program_config") or {}, o["memory_configs"], o["dtypes"]
    fp32 = bool((o.get("compute_kernel_config") or {}).get("fp32_dest_acc_en"))
    if t == "ttnn::rms_norm" and pc.get("type") == "LayerNormShardedMultiCoreProgramConfig":
        ss = mcs["input"]["shard_spec"]
        n, bw = ss["grid"]["num_cores"], ss["grid"]["bounding_box"]
        w = bw["end"]["x"] - bw["start"]["x"] + 1
        gx, gy = (n, 1) if n <= w else (w, ceil(n, w))
        rows = sh["input"][0] * sh["input"][1] * sh["input"][2]
        return rms_norm_sharded(sh["input"][3], rows, n, gx, gy, pc["block_w"], fp32)
    if t == "ttnn::rms_norm" and pc.get("type") == "LayerNormDefaultProgramConfig":
        return rms_norm_default(sh["input"][3], fp32)
    if t == "ttnn::embedding" and sh["input"][3] % 32 == 0:
        return embedding_tilized(sh["weight"][3], dt["weight"], dt["output"])
    if t == "ttnn::experimental::nlp_concat_heads":
        return concat_heads_prefill(sh["input"][1], sh["input"][3])
    if t == "ttnn::transformer::scaled_dot_product_attention" and not fp32:
        g = pc["compute_with_storage_grid_size"]
        b, h, s, d = sh["q"]
        return sdpa_prefill(b, h, s, d, pc["q_chunk_size"], pc["k_chunk_size"], g["x"] * g["y"], dt.get("k", "BFLOAT16"))
    if t == "ttnn::experimental::rotary_embedding_llama" and sh.get("input", [0])[0] != 1 or (
            t == "ttnn::experimental::rotary_embedding_llama" and mcs.get("input", {}).get("memory_layout") == "INTERLEAVED"):
        return rotary_prefill(sh["input"][3])
    if t == "ttnn::experimental::paged_update_cache":
        return paged_update_cache(sh["input"][1], sh["input"][3], dt["cache"])
    return None


def main(out_dir):
    rows, bad = {}, 0
    for rp in sorted(glob.glob(f"{out_dir}/*.replay.json")):
        plan = json.load(open(rp.replace(".replay.json", ".plan.json")))
        specs = {o["name"]: o for o in plan["ops"]}
        for r in json.load(open(rp))["ops"]:
            if r["status"] != "ok" or r["cached"]:
                continue
            p = predict(specs[r["name"]])
            if p is None:
                continue
            k = rows.setdefault(r["kind"], [0, 0, []])
            k[0] += 1
            # TT-NN's CBs: its peak L1 per core minus its L1 buffers (peak_total counts legacy CBs,
            # Metal 2.0 dataflow buffers and kernel scratchpads; the zero-tile CB of rotary shows up
            # as a scratchpad). The embedding ids CB (128 B) is not visible in the capture.
            tt = r["l1_ttnn"] - (r["l1_buffers_ttnn"] or 0)
            if p == tt or (r["kind"] == "embedding" and p - tt == 128):
                k[1] += 1
            else:
                k[2].append((r["name"], rp.split("/")[-1], p, tt))
    for kind, (n, ok, miss) in sorted(rows.items()):
        print(f"{kind}: formula == TT-NN CBs for {ok}/{n} distinct ops")
        for m in miss[:5]:
            print("   mismatch", m)
        bad += len(miss)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
