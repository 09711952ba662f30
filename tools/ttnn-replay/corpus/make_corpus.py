#!/usr/bin/env python3
"""Writes bad_configs.json: one bad config per rule the host backend checks
(tttv2-sys/cpp/host/*.cc), each otherwise valid, for two runners:

  - the host backend:  cargo test -p tttv2-sys --test refusal_corpus  (writes host_results.json)
  - TT-NN (mock N150): ../replay.sh-style runner corpus.py             (writes ttnn_results.json)

`corpus.py compare` then says, per case, whether both refuse and their texts name the same rule
(`rule` is a regex of the rule's key terms, matched case-insensitively against each text).
Tensors use tttv2's serde forms (tttv2-core/src/ttnn), so both runners read the same JSON.

usage: make_corpus.py > bad_configs.json"""
import copy
import json

BF16, BF8, U32, F32 = "BFLOAT16", "BFLOAT8_B", "UINT32", "FLOAT32"
DRAM = {"memory_layout": "INTERLEAVED", "buffer_type": "DRAM", "shard_spec": None}
L1 = {"memory_layout": "INTERLEAVED", "buffer_type": "L1", "shard_spec": None}


def sharded(layout, buf, x0, y0, x1, y1, n, h, w, orient="ROW_MAJOR"):
    return {"memory_layout": layout, "buffer_type": buf,
            "shard_spec": {"grid": {"bounding_box": {"start": {"x": x0, "y": y0}, "end": {"x": x1, "y": y1}}, "num_cores": n},
                           "shape": [h, w], "orientation": orient}}


def t(shape, dtype=BF16, mem=DRAM, layout="TILE"):
    return {"shape": shape, "dtype": dtype, "layout": layout, "mem": mem}


def ckc(fid="HiFi2", fp32=False, l1acc=False):
    return {"math_fidelity": fid, "math_approx_mode": False, "fp32_dest_acc_en": fp32, "packer_l1_acc": l1acc, "dst_full_sync_en": False}


def mc2d(gx=4, gy=4, bw=2, sh=2, sw=2, obh=2, obw=2, pm=2, pn=2, transpose=False):
    return {"type": "MatmulMultiCoreReuseMultiCastProgramConfig", "compute_with_storage_grid_size": {"x": gx, "y": gy},
            "in0_block_w": bw, "out_subblock_h": sh, "out_subblock_w": sw, "out_block_h": obh, "out_block_w": obw,
            "per_core_M": pm, "per_core_N": pn, "transpose_mcast": transpose, "fused_activation": None, "fuse_batch": True}


def mc1d(gx=4, gy=4, bw=2, sh=1, sw=1, obh=1, obw=1, pm=1, pn=1, mcast_in0=True):
    return {"type": "MatmulMultiCoreReuseMultiCast1DProgramConfig", "compute_with_storage_grid_size": {"x": gx, "y": gy},
            "in0_block_w": bw, "out_subblock_h": sh, "out_subblock_w": sw, "out_block_h": obh, "out_block_w": obw,
            "per_core_M": pm, "per_core_N": pn, "fuse_batch": True, "fused_activation": None, "mcast_in0": mcast_in0}


def reuse(gx=4, gy=4, bw=2, sh=1, sw=4, pm=1, pn=8):
    return {"type": "MatmulMultiCoreReuseProgramConfig", "compute_with_storage_grid_size": {"x": gx, "y": gy},
            "in0_block_w": bw, "out_subblock_h": sh, "out_subblock_w": sw, "per_core_M": pm, "per_core_N": pn}


def dram_sharded(bw=2, pm=1, pn=1):
    return {"type": "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig", "in0_block_w": bw, "per_core_M": pm,
            "per_core_N": pn, "fused_activation": None}


cases = []


def case(id_, rule, src, op, tensors, **kw):
    c = {"id": id_, "rule": rule, "host_src": src, "op": op, "tensors": tensors}
    c.update(kw)
    cases.append(c)


MM = "tttv2-sys/cpp/host/ops_matmul.cc"
# A valid 256x256x256 bf16 2D matmul on a 4x4 grid (Mt = Nt = Kt = 8, per core 2x2 tiles).
A, B = t([1, 1, 256, 256]), t([1, 1, 256, 256])


def mm(id_, rule, line, pc, a=A, b=B, out=DRAM, out_dtype=BF16, cc=None):
    case(id_, rule, f"{MM}:{line}", "matmul", {"a": a, "b": b}, program_config=pc,
         compute_kernel_config=cc or ckc(), output_mem=out, output_dtype=out_dtype)


mm("mm_grid_too_big", r"compute_with_storage_grid_size.*(device|grid)", 38, mc2d(gx=9, gy=8, pm=1, pn=1, obh=1, obw=1, sh=1, sw=1))
mm("mm_subblock_over_dest", r"out_subblock_w .* times out_subblock_h .* at most|subblock.*fit", 45, mc2d(sh=4, sw=4, obh=4, obw=4, pm=4, pn=4, gx=2, gy=2))
mm("mm_subblock_over_dest_fp32", r"out_subblock_w .* times out_subblock_h .* at most|subblock.*fit", 45, mc2d(sh=2, sw=4, obh=2, obw=4, pm=2, pn=4, gx=2, gy=4), cc=ckc(fp32=True))
mm("mm_k_not_div_in0_block_w", r"in0_block_w", 51, mc2d(bw=3))
mm("mm_out_block_h_not_div_subblock_h", r"out_block_h.*out_subblock_h", 56, mc2d(pm=4, pn=1, obh=2, obw=1, sh=4, sw=1, gx=8, gy=2))
mm("mm_out_block_w_not_div_subblock_w", r"out_block_w.*out_subblock_w", 57, mc2d(pm=1, pn=4, obh=1, obw=2, sh=1, sw=4, gx=2, gy=8))
mm("mm_per_core_m_not_div_out_block_h", r"per_core_M.*out_block_h|out_block_h.*per_core_M", 58, mc2d(pm=3, obh=2, sh=1, sw=2, gx=4, gy=3),
   a=t([1, 1, 288, 256]))
mm("mm_per_core_n_not_div_out_block_w", r"per_core_N.*out_block_w|out_block_w.*per_core_N", 59, mc2d(pn=3, obw=2, sh=2, sw=1, gx=3, gy=4),
   b=t([1, 1, 256, 288]))
mm("mm_2d_blocks_y_over_rows", r"num_blocks_y|rows", 194, mc2d(pm=1, obh=1, sh=1))
mm("mm_2d_blocks_x_over_cols", r"num_blocks_x|col", 195, mc2d(pn=1, obw=1, sw=1))
mm("mm_2d_sharded_out_not_block", r"BLOCK_SHARDED|block sharded", 197, mc2d(),
   out=sharded("WIDTH_SHARDED", "L1", 0, 0, 3, 3, 16, 256, 32))
mm("mm_sharded_out_subblock", r"out_subblock_w.*per_core_N|out_subblock_h.*1", 63, mc2d(sh=2, sw=1),
   out=sharded("BLOCK_SHARDED", "L1", 0, 0, 3, 3, 16, 64, 64))
mm("mm_1d_blocks_over_cores", r"cores|num_blocks", 209, mc1d(pn=1, obw=1), a=t([1, 1, 32, 256]), b=t([1, 1, 256, 1024]))
mm("mm_1d_mcast_in0_m_split", r"per_core_M|Mt", 211, mc1d(pm=1, pn=2, obw=2), a=t([1, 1, 64, 256]))
mm("mm_1d_sharded_out_wrong_layout", r"WIDTH_SHARDED|HEIGHT_SHARDED|width sharded|height sharded", 216,
   mc1d(pn=2, obw=2, sw=2), a=t([1, 1, 32, 256]), b=t([1, 1, 256, 64]),
   out=sharded("HEIGHT_SHARDED", "L1", 0, 0, 0, 0, 1, 32, 64))
mm("mm_reuse_per_core_n_not_nt", r"per_core_N", 173, reuse(pm=1, pn=4, sw=4))
mm("mm_reuse_mt_not_div_per_core_m", r"per_core_M|Mt", 176, reuse(pm=3, pn=8, sw=4))
mm("mm_reuse_blocks_over_cores", r"cores|blocks", 179, reuse(gx=2, gy=2, pm=1, pn=8, sw=4))
mm("mm_multicore_sharded_in", r"interleaved|sharded", 165, {"type": "MatmulMultiCoreProgramConfig"},
   a=t([1, 1, 256, 256], mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 7, 0, 8, 32, 256)))
# DRAM-sharded: M = 32, K = 256, N = 384 (12 DRAM banks x 32), in0 on 8 cores of 32 columns.
DA = t([1, 1, 32, 256], mem=sharded("WIDTH_SHARDED", "L1", 0, 0, 7, 0, 8, 32, 32))
DB = t([1, 1, 256, 384], mem=sharded("WIDTH_SHARDED", "DRAM", 0, 0, 11, 0, 12, 256, 32))
DO = sharded("WIDTH_SHARDED", "L1", 0, 0, 7, 1, 12, 32, 32)  # 12 worker cores, row-wise on an 8-wide box
mm("mm_dram_sharded_per_core_m", r"in0 tensor height|per_core_M|tile height", 225, dram_sharded(bw=1, pm=2), a=DA, b=DB, out=DO)
mm("mm_dram_sharded_in0_interleaved", r"sharded|in0|WIDTH_SHARDED", 227, dram_sharded(bw=1), a=t([1, 1, 32, 256], mem=L1), b=DB, out=DO)
mm("mm_dram_sharded_in1_l1", r"DRAM|in1|sharded", 229, dram_sharded(bw=1), a=DA, b=t([1, 1, 256, 384], mem=L1), out=DO)
mm("mm_dram_sharded_out_interleaved", r"sharded|output|WIDTH_SHARDED", 231, dram_sharded(bw=1), a=DA, b=DB, out=L1)
mm("mm_cb_over_l1", r"grow to .* beyond max L1 size|circular buffers|dataflow buffers", 241,
   mc2d(gx=1, gy=1, bw=4, sh=2, sw=4, obh=32, obw=32, pm=32, pn=32), a=t([1, 1, 1024, 1024]), b=t([1, 1, 1024, 1024]))
mm("mm_k_mismatch", r"width of the first tensor must be equal to the height of the second", 617, mc2d(),
   b=t([1, 1, 288, 256]))
mm("mm_uint32_input", r"data format|UINT32|dtype|floating", 612, mc2d(), a=t([1, 1, 256, 256], dtype=U32))
mm("mm_row_major_input", r"tilized|TILE", 611, mc2d(), a=t([1, 1, 256, 256], layout="ROW_MAJOR"))
mm("mm_in1_width_sharded_l1_in0_width", r"non-DRAM width sharded input B|interleaved or height sharded|Operand B|input A", 110,
   reuse(gx=1, gy=1, bw=1, pm=1, pn=8, sw=4),
   a=t([1, 1, 32, 256], mem=sharded("WIDTH_SHARDED", "L1", 0, 0, 7, 0, 8, 32, 32)),
   b=t([1, 1, 256, 256], mem=sharded("WIDTH_SHARDED", "L1", 0, 0, 0, 0, 1, 256, 256)))

TS = "tttv2-sys/cpp/host/ops_tensor.cc"


def tensor(id_, rule, line, spec):
    case(id_, rule, f"{TS}:{line}", "tensor", {"x": spec})


tensor("tensor_shard_not_tile", r"tile|32", 150, t([1, 1, 64, 64], mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 3, 0, 4, 16, 64)))
tensor("tensor_height_shard_width", r"width|Shard width", 156, t([1, 1, 64, 64], mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 1, 0, 2, 32, 32)))
tensor("tensor_height_too_many_shards", r"shards|cores", 158, t([1, 1, 256, 64], mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 3, 0, 4, 32, 64)))
tensor("tensor_width_shard_height", r"height|Shard height", 162, t([1, 1, 64, 64], mem=sharded("WIDTH_SHARDED", "L1", 0, 0, 1, 0, 2, 32, 32)))
tensor("tensor_block_not_rectangular", r"rectangular|grid|block", 168, t([1, 1, 64, 64], mem=sharded("BLOCK_SHARDED", "L1", 0, 0, 1, 1, 3, 32, 32)))
tensor("tensor_block_rows", r"rows|height", 172, t([1, 1, 128, 64], mem=sharded("BLOCK_SHARDED", "L1", 0, 0, 1, 1, 4, 32, 32)))
tensor("tensor_bfp8_row_major", r"TILE", 279, t([1, 1, 64, 64], dtype=BF8, layout="ROW_MAJOR"))

TR = "tttv2-sys/cpp/host/ops_transformer.cc"
case("embedding_weight_bfp8", r"BFLOAT16|dtype|Weights", f"{TR}:41", "embedding",
     {"ids": t([1, 1, 1, 32], dtype=U32, layout="ROW_MAJOR"), "weight": t([1, 1, 1024, 256], dtype=BF8)},
     output_mem=DRAM, output_dtype=BF16)
case("embedding_sharded_ids", r"sharded", f"{TR}:42", "embedding",
     {"ids": t([1, 1, 1, 32], dtype=U32, layout="ROW_MAJOR", mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 0, 0, 1, 1, 32)),
      "weight": t([1, 1, 1024, 256], layout="ROW_MAJOR")},
     output_mem=DRAM, output_dtype=BF16)
ROPE_OK = {"x": t([1, 8, 128, 64]), "cos": t([1, 1, 128, 64]), "sin": t([1, 1, 128, 64]), "trans_mat": t([1, 1, 32, 32])}


def rope(id_, rule, line, **changes):
    ts = copy.deepcopy(ROPE_OK)
    cc = changes.pop("cc", ckc("HiFi4"))
    ts.update(changes)
    case(id_, rule, f"{TR}:{line}", "rotary_prefill", ts, compute_kernel_config=cc, output_mem=DRAM)


rope("rope_bfp8_input", r"BFLOAT16|bfloat16|dtype", 82, x=t([1, 8, 128, 64], dtype=BF8))
rope("rope_cos_sin_mismatch", r"Cos and Sin|cos.*sin|sin.*cos", 85, sin=t([1, 1, 96, 64]))
rope("rope_head_dim_over_256", r"[Hh]ead.?dim|256", 87, x=t([1, 8, 128, 288]), cos=t([1, 1, 128, 288]), sin=t([1, 1, 128, 288]))
rope("rope_fp32_head_dim_over_128", r"fp32_dest_acc_en", 88, x=t([1, 8, 128, 160]), cos=t([1, 1, 128, 160]),
     sin=t([1, 1, 128, 160]), cc=ckc("HiFi4", fp32=True))
rope("rope_trans_mat_shape", r"[Tt]ransformation matrix|trans", 100, trans_mat=t([1, 1, 64, 32]))
rope("rope_cos_seq_len", r"seq|Cos|cos", 115, cos=t([1, 1, 96, 64]), sin=t([1, 1, 96, 64]))
SDPA_PC = {"compute_with_storage_grid_size": {"x": 8, "y": 8}, "q_chunk_size": 64, "k_chunk_size": 64,
           "exp_approx_mode": False, "max_cores_per_head_batch": 16}
SDPA_OK = {"q": t([1, 8, 128, 64]), "k": t([1, 2, 128, 64]), "v": t([1, 2, 128, 64])}


def sdpa(id_, rule, line, pc=None, **changes):
    ts = copy.deepcopy(SDPA_OK)
    ts.update(changes)
    case(id_, rule, f"{TR}:{line}", "sdpa", ts, program_config=pc or SDPA_PC, compute_kernel_config=ckc("HiFi2"), output_mem=DRAM)


sdpa("sdpa_sharded_q", r"interleaved|sharded", 152, q=t([1, 8, 128, 64], mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 7, 3, 32, 32, 64)))
sdpa("sdpa_q_chunk_not_32", r"q_chunk_size", 160, pc=dict(SDPA_PC, q_chunk_size=48))
sdpa("sdpa_k_chunk_not_32", r"k_chunk_size", 162, pc=dict(SDPA_PC, k_chunk_size=48))
case("fill_cache_batch_32", r"batch size must be 1|input must be \[1,", f"{TR}:408", "fill_cache",
     {"cache": t([32, 8, 128, 64]), "input": t([32, 8, 128, 64])})
case("fill_cache_batch_idx", r"[Bb]atch ?idx|batch index|Batch index", f"{TR}:409", "fill_cache",
     {"cache": t([4, 8, 128, 64]), "input": t([1, 8, 128, 64])}, batch_idx=4)
case("sdpa_decode_gqa_sharded_out", r"Sharded output|GQA", f"{TR}:308", "sdpa_decode",
     {"q": t([1, 32, 32, 64], mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 7, 3, 32, 32, 64)),
      "k": t([32, 8, 128, 64]), "v": t([32, 8, 128, 64])},
     program_config=dict(SDPA_PC, q_chunk_size=0, k_chunk_size=0), compute_kernel_config=ckc("HiFi2"),
     output_mem=sharded("HEIGHT_SHARDED", "L1", 0, 0, 7, 3, 32, 32, 64))

if __name__ == "__main__":
    print(json.dumps({"device": "n150", "cases": cases}, indent=1))
