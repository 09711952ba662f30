#!/usr/bin/env python3
"""Aggregates replay.py --json-out files: rejections (op, text, plans) and, per op kind, the
largest TT-NN L1 above the plan's estimate. usage: aggregate.py OUT_DIR/*.replay.json"""
import json
import re
import sys


def main(paths):
    rej, gaps, tot = {}, {}, [0, 0, 0]
    for p in paths:
        d = json.load(open(p))
        plan = d["plan"]
        tot[0] += 1
        for o in d["ops"]:
            tot[1] += 1
            short = re.sub(r"^layers\.\d+\.", "", o["name"])
            if o["status"] == "unsupported":
                continue
            if o["status"] != "ok":
                tot[2] += 1
                text = re.sub(r"^TT_FATAL @ /project/", "", o["text"]).replace("|", "/")
                k = (short, o["ttnn_op"].split("::")[-1], text)
                e = rej.setdefault(k, [0, set()])
                e[0] += 1
                e[1].add(plan)
            elif o["l1_ttnn"] is not None:
                g = gaps.setdefault(o["kind"], dict(n=0, over=0, gap=None))
                g["n"] += 1
                diff = o["l1_ttnn"] - o["l1_plan"]
                g["over"] += diff > 0
                if g["gap"] is None or diff > g["gap"][0]:
                    g["gap"] = (diff, o["l1_plan"], o["l1_ttnn"], o["cb_ttnn"], short, plan)
    print(f"{tot[0]} plans, {tot[1]} ops replayed, {tot[2]} rejected\n")
    print("| op | ttnn op | ops rejected | plans | TT-NN's error (d80d9482 paths) |\n|---|---|---|---|---|")
    for (nm, op, text), (n, plans) in sorted(rej.items(), key=lambda kv: -kv[1][0]):
        ps = sorted(plans)
        pl = ", ".join(ps) if len(ps) <= 3 else f"{len(ps)} plans, e.g. {ps[0]}"
        print(f"| {nm} | {op} | {n} | {pl} | {text[:300]} |")
    print("\n| op kind | accepted ops | above plan | largest gap B | plan B | TT-NN B (CBs) | at |\n|---|---|---|---|---|---|---|")
    for k, g in sorted(gaps.items(), key=lambda kv: -(kv[1]["gap"][0] if kv[1]["gap"] else 0)):
        d, pl, tt, cb, nm, plan = g["gap"]
        print(f"| {k} | {g['n']} | {g['over']} | {d:+d} | {pl} | {tt} ({cb}) | {nm}, {plan} |")


if __name__ == "__main__":
    main(sys.argv[1:])
