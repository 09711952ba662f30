#!/usr/bin/env python3
"""The refusal corpus (bad_configs.json) through TT-NN on its mock N150, and the comparison with the
host backend's refusals.

    ./corpus.sh run [OUT.json]                    # TT-NN side (through the mock-device env)
    python3 corpus.py compare HOST.json TTNN.json  # markdown table: matches / mismatches

A case "matches" when both refuse it and both texts match the case's `rule` regex (the rule's key
terms, case-insensitive); "TT-NN accepts" / "host accepts" when only one refuses; "mismatch"
when both refuse but at least one text does not name the rule (e.g. another check fired first).
Tensor and config JSON are tttv2's serde forms; the conversion helpers are replay.py's."""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def run(out_path):
    import replay  # noqa: E402  (sets nothing up by itself)
    import ttnn

    replay.ttnn = ttnn
    corpus = json.load(open(os.path.join(HERE, "bad_configs.json")))
    dev = ttnn.open_device(device_id=0)
    results = []
    for c in corpus["cases"]:
        made = []

        def mk(role):
            s = c["tensors"][role]
            layout = ttnn.ROW_MAJOR_LAYOUT if s["layout"] == "ROW_MAJOR" else ttnn.TILE_LAYOUT
            x = ttnn.allocate_tensor_on_device(ttnn.Shape(s["shape"]), replay.dtype(s["dtype"]), layout, dev,
                                               replay.memory_config(s["mem"]))
            made.append(x)
            return x

        ckc = replay.compute_kernel_config(c.get("compute_kernel_config"))
        out = replay.memory_config(c.get("output_mem"))
        dt = replay.dtype(c.get("output_dtype") or "BFLOAT16")
        pc = c.get("program_config")
        op = c["op"]
        try:
            if op == "tensor":
                mk("x")
            elif op == "matmul":
                ttnn.matmul(mk("a"), mk("b"), program_config=replay.program_config(pc), compute_kernel_config=ckc,
                            memory_config=out, dtype=dt)
            elif op == "embedding":
                ttnn.embedding(mk("ids"), mk("weight"), layout=ttnn.TILE_LAYOUT, memory_config=out, dtype=dt)
            elif op == "rotary_prefill":
                ttnn.experimental.rotary_embedding_llama(mk("x"), mk("cos"), mk("sin"), mk("trans_mat"),
                                                         is_decode_mode=False, memory_config=out,
                                                         compute_kernel_config=ckc)
            elif op == "sdpa":
                ttnn.transformer.scaled_dot_product_attention(
                    mk("q"), mk("k"), mk("v"), is_causal=True, program_config=replay.program_config(dict(pc, type="SDPAProgramConfig")),
                    compute_kernel_config=ckc, memory_config=out)
            elif op == "sdpa_decode":
                b, s = c["tensors"]["q"]["shape"][1], c["tensors"]["k"]["shape"][2]
                ttnn.transformer.scaled_dot_product_attention_decode(
                    mk("q"), mk("k"), mk("v"), is_causal=True, cur_pos=[s - 1] * b,
                    program_config=replay.program_config(dict(pc, type="SDPAProgramConfig")),
                    compute_kernel_config=ckc, memory_config=out)
            elif op == "fill_cache":
                ttnn.fill_cache(mk("cache"), mk("input"), c.get("batch_idx", 0))
            else:
                raise SystemExit(f"unknown op {op}")
            results.append({"id": c["id"], "status": "accepted", "text": ""})
        except AttributeError as e:  # a config class the Python API does not expose
            results.append({"id": c["id"], "status": "unavailable", "text": str(e)})
        except Exception as e:  # noqa: BLE001
            results.append({"id": c["id"], "status": "rejected", "text": replay.short(e, 3)})
        for x in made:
            try:
                ttnn.deallocate(x)
            except Exception:  # noqa: BLE001
                pass
    ttnn.close_device(dev)
    json.dump({"backend": "ttnn 0.81.1 (d80d9482) mock N150", "results": results}, open(out_path, "w"), indent=1)
    print(f"{len(results)} cases, TT-NN results in {out_path}")


def compare(host_path, ttnn_path):
    corpus = {c["id"]: c for c in json.load(open(os.path.join(HERE, "bad_configs.json")))["cases"]}
    host = {r["id"]: r for r in json.load(open(host_path))["results"]}
    tt = {r["id"]: r for r in json.load(open(ttnn_path))["results"]}
    counts = {}
    rows = []
    for cid, c in corpus.items():
        h, t = host.get(cid), tt.get(cid)
        rx = re.compile(c["rule"], re.I)
        if h is None or t is None:
            verdict = "not run"
        elif t["status"] == "unavailable":
            verdict = "not in TT-NN's Python API"
        elif h["status"] == "rejected" and t["status"] == "rejected":
            verdict = "match" if rx.search(h["text"]) and rx.search(t["text"]) else "mismatch"
        elif h["status"] == "rejected":
            verdict = "TT-NN accepts"
        elif t["status"] == "rejected":
            verdict = "host accepts"
        else:
            verdict = "both accept"
        counts[verdict] = counts.get(verdict, 0) + 1

        def cell(r):
            if r is None:
                return "-"
            txt = re.sub(r"^TT_(FATAL|THROW) @ /project/", "", r["text"]).replace("|", "/")
            return "accepted" if r["status"] == "accepted" else txt[:220]

        rows.append(f"| {cid} | {c['host_src'].replace('tttv2-sys/cpp/host/', '')} | {verdict} | {cell(h)} | {cell(t)} |")
    print(", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) + f" (of {len(corpus)})\n")
    print("| case | host rule | verdict | host backend | TT-NN (mock N150) |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2] if len(sys.argv) > 2 else "/tmp/ttnn_results.json")
    elif sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
