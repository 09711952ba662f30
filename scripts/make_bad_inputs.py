#!/usr/bin/env python3
"""Writes the corpus of bad checkpoint and config files in tests/bad_inputs (read by
tests/bad_inputs.rs), each a few hundred bytes, deterministically:

    /tmp/venv-gguf/bin/python scripts/make_bad_inputs.py tests/bad_inputs

GGUF files are written with ggml-org's `gguf` package (pip install gguf==0.19.0 numpy), then
corrupted byte-wise where the defect is one the writer refuses to make.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/bad_inputs")
OUT.mkdir(parents=True, exist_ok=True)


def st(header, data=b"", header_len=None):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if header_len is None else header_len) + h + data


def f32(values):
    return np.asarray(values, dtype="<f4").tobytes()


# The checkpoint of tests/bad_inputs.rs's `Proj` model: proj.weight [32, 32], proj.bias [32].
W = [((i % 7) - 3) / 4 for i in range(32 * 32)]
B = [((i % 5) - 2) / 2 for i in range(32)]


def proj(weight_shape=(32, 32), weight=W, dtype="F32", bias=True):
    wb = f32(weight) if dtype == "F32" else np.asarray(weight, dtype="<i8").tobytes()
    header = {"proj.weight": {"dtype": dtype, "shape": list(weight_shape), "data_offsets": [0, len(wb)]}}
    data = wb
    if bias:
        header["proj.bias"] = {"dtype": "F32", "shape": [32], "data_offsets": [len(wb), len(wb) + 128]}
        data += f32(B)
    return st(header, data)


files = {
    "st_empty.safetensors": b"",
    "st_header_past_eof.safetensors": st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32([1]), header_len=4096),
    "st_bad_json.safetensors": struct.pack("<Q", 16) + b'{"a": {"dtype": ',
    "st_offsets_out_of_range.safetensors": st({"proj.bias": {"dtype": "F32", "shape": [32], "data_offsets": [0, 128]}}, f32(B)[:100]),
    "st_overlapping.safetensors": st(
        {
            "proj.bias": {"dtype": "F32", "shape": [32], "data_offsets": [0, 128]},
            "proj.scale": {"dtype": "F32", "shape": [4], "data_offsets": [120, 136]},
        },
        f32(B) + f32([1, 2]),
    ),
    "st_shape_vs_bytes.safetensors": st({"proj.bias": {"dtype": "F32", "shape": [33], "data_offsets": [0, 128]}}, f32(B)),
    "st_truncated.safetensors": proj()[:-40],
    "st_i64_weight.safetensors": proj(dtype="I64", weight=[1] * 1024),
    "st_nan_weight.safetensors": proj(weight=[float("nan") if i in (3, 9) else float("inf") if i == 70 else w for i, w in enumerate(W)]),
    "st_wrong_shape.safetensors": proj(weight_shape=(16, 64)),
    "st_missing_bias.safetensors": proj(bias=False),
    "config_bad_json.json": b'{"architectures": ["LlamaForCausalLM"], "hidden_size": 32,,}',
    "config_missing_field.json": json.dumps({"architectures": ["LlamaForCausalLM"], "intermediate_size": 64}).encode(),
    "config_wrong_type.json": json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": "thirty-two"}).encode(),
    "not_gguf.gguf": b"GGML\x03\x00\x00\x00" + b"\x00" * 24,
}
for name, data in files.items():
    (OUT / name).write_bytes(data)


def tiny_gguf(path, arch="llama", blocks=1, tensors=None, extra=None):
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(blocks)
    w.add_context_length(128)
    w.add_embedding_length(32)
    w.add_feed_forward_length(32)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(8)
    for k, v in (extra or {}).items():
        w.add_uint32(k, v)
    for name, t in (tensors or {"output_norm.weight": np.ones(32, dtype=np.float32)}).items():
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return Path(path).read_bytes()


ok = tiny_gguf(OUT / "gguf_tiny_ok.gguf")
# Cut in the middle of the tensor data / of the metadata.
(OUT / "gguf_truncated_data.gguf").write_bytes(ok[:-64])
(OUT / "gguf_truncated_header.gguf").write_bytes(ok[:60])
# The tensor's type id (a u32 right before its u64 offset, at the end of the tensor info)
# replaced: 9 is Q8_1 (a ggml type the reader refuses), 99 no ggml type at all.
info = ok.index(b"output_norm.weight") + len(b"output_norm.weight") + 4 + 8
for type_id, name in [(9, "gguf_q8_1.gguf"), (99, "gguf_unknown_type.gguf")]:
    (OUT / name).write_bytes(ok[:info] + struct.pack("<I", type_id) + ok[info + 4:])
tiny_gguf(OUT / "gguf_zero_alignment.gguf", extra={"general.alignment": 0})
tiny_gguf(OUT / "gguf_two_blocks.gguf", blocks=2)
tiny_gguf(OUT / "gguf_gpt2.gguf", arch="gpt2")
norm = np.ones(32, dtype=np.float32)
norm[[1, 5]] = np.nan
norm[7] = -np.inf
tiny_gguf(OUT / "gguf_nan.gguf", tensors={"output_norm.weight": norm})
for p in sorted(OUT.iterdir()):
    print(f"{p.stat().st_size:6} {p.name}")
