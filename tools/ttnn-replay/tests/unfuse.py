#!/usr/bin/env python3
"""Rewrites a decode manifest the way the typed-plan refactor will: each
`rotary_embedding_llama_fused_qk` becomes two `rotary_embedding_llama` ops (q, then k) and each
`paged_fused_update_cache` two `paged_update_cache` ops (k, then v), with the same shapes, memory
configs and dtypes per tensor. Checks that replay.py handles both spellings before the refactor
lands, and what TT-NN says about the unfused decode ops.

usage: unfuse.py IN.json > OUT.json   (then ../replay.sh OUT.json)"""
import copy
import json
import sys


def split(o, parts):
    out = []
    for suffix, op, roles in parts:
        n = copy.deepcopy(o)
        n["name"] = o["name"] + suffix
        n["ttnn_op"] = op
        n["shapes"]["tensors"] = {new: o["shapes"]["tensors"][old] for new, old in roles.items()}
        n["memory_configs"] = {new: o["memory_configs"][old] for new, old in roles.items() if old in o["memory_configs"]}
        n["dtypes"] = {new: o["dtypes"][old] for new, old in roles.items() if old in o["dtypes"]}
        out.append(n)
    return out


def main():
    m = json.load(open(sys.argv[1]))
    ops = []
    for o in m["ops"]:
        t = o["ttnn_op"]
        if t.endswith("rotary_embedding_llama_fused_qk"):
            rope = "ttnn::experimental::rotary_embedding_llama"
            common = {"cos": "cos", "sin": "sin", "trans_mat": "trans_mat"}
            ops += split(o, [("_q", rope, {"input": "q", "output": "q", **common}),
                             ("_k", rope, {"input": "k", "output": "k", **common})])
        elif t.endswith("paged_fused_update_cache"):
            upd = "ttnn::experimental::paged_update_cache"
            ops += split(o, [("_k", upd, {"cache": "k_cache", "input": "k"}),
                             ("_v", upd, {"cache": "v_cache", "input": "v"})])
        else:
            ops.append(o)
    m["ops"] = ops
    json.dump(m, sys.stdout)


if __name__ == "__main__":
    main()
