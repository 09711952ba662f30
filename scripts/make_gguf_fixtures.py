#!/usr/bin/env python3
"""Writes the small GGUF fixtures of tests/gguf_load.rs with ggml-org's own `gguf` package, the
independent implementation tttv2's GGUF reader is checked against.

    python3 -m venv /tmp/venv-gguf && /tmp/venv-gguf/bin/pip install gguf==0.19.0 numpy
    /tmp/venv-gguf/bin/python scripts/make_gguf_fixtures.py tests/gguf

Writes, deterministically (fixed seeds):
* types.gguf: one [1, 256] tensor per ggml type the reader accepts, `t.<TYPE>`; F32/F16/BF16 and
  Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 quantized by `gguf.quants.quantize` from the same values, the K-quants
  (no quantizer in gguf-py) as random blocks with finite scales;
  types.<TYPE>.f32: what `gguf.quants.dequantize` makes of each (raw little-endian f32).
* tiny_llama.gguf: a 1-layer `llama` model (hidden 32, 2 heads of 8, 1 KV head, MLP 32, vocab 8,
  untied) whose q/k rows are permuted as llama.cpp's convert_hf_to_gguf.py does
  (`LlamaModel.permute`); tiny_llama.hf.safetensors: the same tensors under Hugging Face names in
  Hugging Face's layout: what `gguf.quants.dequantize` makes of each stored tensor, with the
  permutation undone by indexing with the permuted row numbers.
* tiny_qwen2.gguf: the same as a `qwen2` model with q/k/v biases, stored unpermuted.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/gguf")
OUT.mkdir(parents=True, exist_ok=True)

QUANTIZED = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]


def f16_offsets(qtype):
    """Byte offsets of the f16 scale fields in one block (ggml-common.h's block_q*_K layouts)."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    return {T.Q2_K: [size - 4, size - 2], T.Q3_K: [size - 2], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [size - 2]}[qtype]


def types_fixture():
    rng = np.random.default_rng(12)
    values = rng.standard_normal((1, 256)).astype(np.float32)
    w = gguf.GGUFWriter(OUT / "types.gguf", "llama")
    for qtype in QUANTIZED + K_QUANTS:
        if qtype in QUANTIZED:
            raw = quants.quantize(values, qtype)
        else:
            block_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
            raw = rng.integers(0, 256, size=(1, block_bytes), dtype=np.uint8)
            for row in raw:
                for off in f16_offsets(qtype):
                    row[off:off + 2] = np.frombuffer(np.float16(rng.uniform(0.01, 0.1)).tobytes(), np.uint8)
        expected = quants.dequantize(raw, qtype).astype(np.float32)
        assert expected.shape == (1, 256) and np.isfinite(expected).all(), qtype
        w.add_tensor(f"t.{qtype.name}", raw, raw_dtype=qtype)
        expected.astype("<f4").tofile(OUT / f"types.{qtype.name}.f32")
    finish(w)


def permute(weights, n_head):
    # llama.cpp's convert_hf_to_gguf.py `LlamaModel.permute` (cited): within each head, HF row
    # s*d/2 + j goes to row 2j + s.
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def tiny_model(arch):
    rng = np.random.default_rng(7)
    hidden, heads, kv_heads, d, inter, vocab = 32, 2, 1, 8, 32, 8
    def mat(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    hf = {
        "model.embed_tokens.weight": mat(vocab, hidden),
        "model.norm.weight": mat(hidden),
        "lm_head.weight": mat(vocab, hidden),
        "model.layers.0.input_layernorm.weight": mat(hidden),
        "model.layers.0.post_attention_layernorm.weight": mat(hidden),
        "model.layers.0.self_attn.q_proj.weight": mat(heads * d, hidden),
        "model.layers.0.self_attn.k_proj.weight": mat(kv_heads * d, hidden),
        "model.layers.0.self_attn.v_proj.weight": mat(kv_heads * d, hidden),
        "model.layers.0.self_attn.o_proj.weight": mat(hidden, heads * d),
        "model.layers.0.mlp.gate_proj.weight": mat(inter, hidden),
        "model.layers.0.mlp.up_proj.weight": mat(inter, hidden),
        "model.layers.0.mlp.down_proj.weight": mat(hidden, inter),
    }
    if arch == "qwen2":
        hf["model.layers.0.self_attn.q_proj.bias"] = mat(heads * d)
        hf["model.layers.0.self_attn.k_proj.bias"] = mat(kv_heads * d)
        hf["model.layers.0.self_attn.v_proj.bias"] = mat(kv_heads * d)
    names = {
        "model.embed_tokens.weight": ("token_embd.weight", T.Q8_0),
        "model.norm.weight": ("output_norm.weight", T.F32),
        "lm_head.weight": ("output.weight", T.F16),
        "model.layers.0.input_layernorm.weight": ("blk.0.attn_norm.weight", T.F32),
        "model.layers.0.post_attention_layernorm.weight": ("blk.0.ffn_norm.weight", T.F32),
        "model.layers.0.self_attn.q_proj.weight": ("blk.0.attn_q.weight", T.Q8_0),
        "model.layers.0.self_attn.k_proj.weight": ("blk.0.attn_k.weight", T.F16),
        "model.layers.0.self_attn.v_proj.weight": ("blk.0.attn_v.weight", T.BF16),
        "model.layers.0.self_attn.o_proj.weight": ("blk.0.attn_output.weight", T.F16),
        "model.layers.0.mlp.gate_proj.weight": ("blk.0.ffn_gate.weight", T.F16),
        "model.layers.0.mlp.up_proj.weight": ("blk.0.ffn_up.weight", T.Q8_0),
        "model.layers.0.mlp.down_proj.weight": ("blk.0.ffn_down.weight", T.F32),
        "model.layers.0.self_attn.q_proj.bias": ("blk.0.attn_q.bias", T.F32),
        "model.layers.0.self_attn.k_proj.bias": ("blk.0.attn_k.bias", T.F32),
        "model.layers.0.self_attn.v_proj.bias": ("blk.0.attn_v.bias", T.F32),
    }
    w = gguf.GGUFWriter(OUT / f"tiny_{arch}.gguf", arch)
    w.add_block_count(1)
    w.add_context_length(128)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(inter)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_rope_dimension_count(d)
    expected = {}
    for hf_name, tensor in hf.items():
        name, qtype = names[hf_name]
        rows = np.arange(tensor.shape[0])
        if arch == "llama" and ".q_proj." in hf_name:
            rows = permute(rows, heads)
        if arch == "llama" and ".k_proj." in hf_name:
            rows = permute(rows, kv_heads)
        raw = quants.quantize(tensor[rows], qtype)
        w.add_tensor(name, raw, raw_dtype=qtype)
        # GGUF row r holds HF row rows[r].
        back = np.empty_like(tensor)
        back[rows] = quants.dequantize(raw, qtype)
        expected[hf_name] = back
    finish(w)
    write_safetensors(OUT / f"tiny_{arch}.hf.safetensors", expected)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(path, tensors):
    """The safetensors layout (an 8-byte header length, a JSON header, the data), F32 only."""
    header, data = {}, b""
    for name, t in tensors.items():
        b = t.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


types_fixture()
tiny_model("llama")
tiny_model("qwen2")
