"""Turns a Llama-architecture GGUF checkpoint into a Hugging Face model directory.

This is the test-setup step for tttv2's real-checkpoint test: it runs on ggml-org's own `gguf`
reader and dequantizer (PyPI package `gguf`), so the weights tttv2 loads were produced by code
that shares nothing with tttv2's own GGUF reader.

Writes into OUT:
  config.json             as transformers 5 writes it: RoPE in `rope_parameters`, no top-level
                          `rope_theta` (the form that once made tttv2 plan theta = 10000)
  model.safetensors       every tensor dequantized to float32, under Hugging Face names
  tokenizer.json          byte-level BPE from the GGUF vocabulary and merges
  tokenizer_config.json   special tokens and the chat template the GGUF carries
  generation_config.json  bos / eos ids
  gguf_metadata.json      the raw `llama.*` hyper-parameters, for the independent reference

usage: python gguf_to_hf.py MODEL.gguf OUT
"""

import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

# llama.cpp's tensor names -> Hugging Face's (llama.cpp: gguf-py/gguf/tensor_mapping.py).
LAYER_NAMES = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
GLOBAL_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            sys.exit(f"{key}: missing from the GGUF metadata")
        return default
    return f.contents()


def hf_name(name):
    if name in GLOBAL_NAMES:
        return GLOBAL_NAMES[name]
    blk, layer, kind, suffix = name.split(".")
    if blk != "blk" or kind not in LAYER_NAMES:
        sys.exit(f"{name}: no Hugging Face name known for this tensor")
    return f"model.layers.{layer}.{LAYER_NAMES[kind]}.{suffix}"


def unpermute(w, heads):
    """Undoes the row order llama.cpp's converter gives q/k projections.

    convert_hf_to_gguf.py (LlamaModel.permute) reorders each head's rows from Hugging Face's
    rotate-half pairing (i, i + d/2) to the interleaved pairing (2i, 2i + 1) that ggml's
    "normal" RoPE expects; this is its inverse.
    """
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main(src, out):
    reader = GGUFReader(src)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arch = field(reader, "general.architecture")
    if arch != "llama":
        sys.exit(f"general.architecture = {arch!r}: this converter (a test fixture tool) handles `llama` only; tttv2 reads any llama or qwen2 GGUF directly: `tttv2 new NAME --config model.gguf`")
    p = lambda k, d=None: field(reader, f"llama.{k}", d)  # noqa: E731
    heads, kv_heads = int(p("attention.head_count")), int(p("attention.head_count_kv"))
    hidden = int(p("embedding_length"))

    tensors = {}
    for t in reader.tensors:
        w = np.ascontiguousarray(dequantize(t.data, t.tensor_type).astype(np.float32))
        # GGUF lists dimensions innermost first; numpy's (and Hugging Face's) order is reversed.
        w = w.reshape([int(d) for d in reversed(t.shape)])
        if t.name.endswith("attn_q.weight"):
            w = unpermute(w, heads)
        elif t.name.endswith("attn_k.weight"):
            w = unpermute(w, kv_heads)
        tensors[hf_name(t.name)] = np.ascontiguousarray(w)
    tied = "lm_head.weight" not in tensors
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})

    vocab_size = len(reader.fields["tokenizer.ggml.tokens"].data)
    bos = int(field(reader, "tokenizer.ggml.bos_token_id"))
    eos = int(field(reader, "tokenizer.ggml.eos_token_id"))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(p("feed_forward_length")),
        "num_hidden_layers": int(p("block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": int(p("rope.dimension_count", hidden // heads)),
        "max_position_embeddings": int(p("context_length")),
        # GGUF holds eps as float32; its shortest decimal form is the published value (1e-05).
        "rms_norm_eps": float(str(np.float32(p("attention.layer_norm_rms_epsilon")))),
        "rope_parameters": {"rope_theta": float(p("rope.freq_base")), "rope_type": "default"},
        "vocab_size": int(p("vocab_size", vocab_size)),
        "tie_word_embeddings": tied,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "dtype": "float32",
        "transformers_version": "5.0.0",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    metadata = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k in reader.fields
                if k.startswith("llama.") for v in [field(reader, k)]}
    (out / "gguf_metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")

    write_tokenizer(reader, out, bos, eos)
    (out / "generation_config.json").write_text(json.dumps({"bos_token_id": bos, "eos_token_id": eos}, indent=2) + "\n")
    print(f"{out}: {len(tensors)} tensors, tied={tied}, vocab={vocab_size}")


def write_tokenizer(reader, out, bos, eos):
    model = field(reader, "tokenizer.ggml.model")
    pre = field(reader, "tokenizer.ggml.pre", "default")
    if model != "gpt2":
        sys.exit(f"tokenizer.ggml.model = {model!r}: only byte-level BPE (gpt2) is converted")
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    # llama.cpp's `smollm` pre-tokenizer (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_SMOLLM): every
    # digit alone, then GPT-2's byte-level split.
    splits = [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    if pre == "smollm":
        splits.insert(0, pre_tokenizers.Digits(individual_digits=True))
    elif pre not in ("default", "gpt-2"):
        sys.exit(f"tokenizer.ggml.pre = {pre!r}: no pre-tokenizer known for it")
    tok.pre_tokenizer = pre_tokenizers.Sequence(splits)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # Token type 3 is llama.cpp's CONTROL: a special token, never split.
    specials = [t for t, ty in zip(tokens, types) if ty == 3]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.save(str(out / "tokenizer.json"))
    unk = reader.fields.get("tokenizer.ggml.unknown_token_id")
    config = {
        "tokenizer_class": "GPT2Tokenizer",
        "bos_token": tokens[bos],
        "eos_token": tokens[eos],
        "unk_token": tokens[int(unk.contents())] if unk is not None else None,
        "pad_token": tokens[eos],
        "add_bos_token": bool(field(reader, "tokenizer.ggml.add_bos_token", False)),
        "model_max_length": int(field(reader, "llama.context_length")),
        "clean_up_tokenization_spaces": False,
    }
    template = reader.fields.get("tokenizer.chat_template")
    if template is not None:
        config["chat_template"] = template.contents()
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
