#!/usr/bin/env python3
"""Replay every op of a tttv2 plan manifest through TT-NN on its mock device.

    tttv2 plan ... --json > plan.json
    ./replay.sh plan.json [--l1-warn] [--no-cache] [--only SUBSTR] [--json-out FILE]

For each op of the manifest this creates the op's input tensors with the planned shapes, dtypes and
memory configs (sharded specs included) on a mock device, calls the TT-NN op the plan names
(`ttnn_op`) with the planned program config, compute-kernel config, output memory config and
dtype, and reports whether TT-NN accepted it (else TT-NN's own error text) and TT-NN's L1 bytes per
core (circular buffers + L1 buffers, from a NO_DISPATCH graph capture) next to the plan's
`l1_peak_bytes_per_core`.

Exit status: 0 when every op is accepted and within its L1 estimate, 1 when an op is rejected or
(without --l1-warn) TT-NN's L1 exceeds the estimate, 2 on a usage or setup error.

The manifest is read in one place only, `adapt_manifest()`: the plan format is being refactored,
and a format change must be a one-function fix.

Our own code; the TT-NN Python API it calls is the one of the `ttnn` 0.81.1 wheel (tt-metal
d80d9482). Run it through `replay.sh`, which sets up the mock-device environment.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------
# The manifest adapter: the ONLY code that knows the manifest's layout.
# --------------------------------------------------------------------------------------------------


@dataclass
class OpSpec:
    """One planned op, as the replay needs it."""

    name: str
    ttnn_op: str
    layer: int | None
    shapes: dict  # role -> [4 ints]
    memory_configs: dict  # role -> memory-config JSON (tttv2's serde form)
    dtypes: dict  # role -> "BFLOAT16" | "BFLOAT8_B" | ...
    program_config: dict | None  # {"type": <TT-NN struct name>, fields...}
    compute_kernel_config: dict | None
    l1_plan: int  # the plan's l1_peak_bytes_per_core


@dataclass
class PlanInfo:
    label: str  # "<model> <device> <mode> b<batch> s<seq>" for the report
    device: str  # the chip name the plan is for (n150, p150, ...)
    ops: list = field(default_factory=list)


def adapt_manifest(m: dict) -> PlanInfo:
    """Reads a `tttv2 plan --json` manifest. Only these per-op fields are used: name, ttnn_op,
    layer, shapes.tensors, memory_configs, dtypes, program_config, compute_kernel_config,
    l1_peak_bytes_per_core; at plan level only descriptive fields (for the label and the device),
    each optional."""
    ops = []
    for o in m["ops"]:
        ops.append(
            OpSpec(
                name=o["name"],
                ttnn_op=o["ttnn_op"],
                layer=o.get("layer"),
                shapes={k: list(v) for k, v in o["shapes"]["tensors"].items()},
                memory_configs=dict(o.get("memory_configs") or {}),
                dtypes=dict(o.get("dtypes") or {}),
                program_config=o.get("program_config"),
                compute_kernel_config=o.get("compute_kernel_config"),
                l1_plan=int(o.get("l1_peak_bytes_per_core") or 0),
            )
        )
    def name_of(x):
        return x.get("name") if isinstance(x, dict) else x

    device = name_of(m.get("chip")) or name_of(m.get("system")) or "?"
    opts = m.get("options") or {}
    label = f"{m.get('name', '?')} {name_of(m.get('system')) or device} {opts.get('mode', '')} b{opts.get('batch', '?')} s{opts.get('seq_len', '?')}"
    return PlanInfo(label=label, device=str(device), ops=ops)


# --------------------------------------------------------------------------------------------------
# TT-NN side
# --------------------------------------------------------------------------------------------------

ttnn = None  # imported in main() after the environment is checked


def short(e: BaseException, n: int = 4) -> str:
    """TT-NN's message without the backtrace; TT_FATAL prefixes kept (they carry file:line)."""
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    if "backtrace:" in lines:
        lines = lines[: lines.index("backtrace:")]
    lines = [l for l in lines if not l.startswith("---")]
    return " | ".join(lines[:n]) if lines else type(e).__name__


def dtype(s: str):
    return {
        "BFLOAT16": ttnn.bfloat16,
        "FLOAT32": ttnn.float32,
        "UINT32": ttnn.uint32,
        "INT32": ttnn.int32,
        "BFLOAT8_B": ttnn.bfloat8_b,
        "BFLOAT4_B": ttnn.bfloat4_b,
    }[s]


def core_range_set(grid: dict):
    """tttv2's ShardGrid {bounding_box, num_cores}: the first num_cores cores of the box, row by
    row from its start (`ShardGrid` docs in tttv2-core/src/ttnn/core_coord.rs)."""
    bb = grid["bounding_box"]
    x0, y0 = bb["start"]["x"], bb["start"]["y"]
    w = bb["end"]["x"] - x0 + 1
    n = grid["num_cores"]
    full, rest = divmod(n, w)
    ranges = []
    if full:
        ranges.append(ttnn.CoreRange(ttnn.CoreCoord(x0, y0), ttnn.CoreCoord(x0 + w - 1, y0 + full - 1)))
    if rest:
        ranges.append(ttnn.CoreRange(ttnn.CoreCoord(x0, y0 + full), ttnn.CoreCoord(x0 + rest - 1, y0 + full)))
    return ttnn.CoreRangeSet(ranges)


def memory_config(mc: dict | None):
    if mc is None:
        return ttnn.DRAM_MEMORY_CONFIG
    layout = getattr(ttnn.TensorMemoryLayout, mc["memory_layout"])
    buf = getattr(ttnn.BufferType, mc["buffer_type"])
    ss = mc.get("shard_spec")
    if ss is None:
        return ttnn.MemoryConfig(layout, buf)
    orient = getattr(ttnn.ShardOrientation, ss["orientation"])
    spec = ttnn.ShardSpec(core_range_set(ss["grid"]), list(ss["shape"]), orient)
    return ttnn.MemoryConfig(layout, buf, spec)


def coord(c: dict):
    return ttnn.CoreCoord(c["x"], c["y"])


def activation(a: dict | None):
    if a is None:
        return None
    op = getattr(ttnn.UnaryOpType, a["op_type"])
    return ttnn.UnaryWithParam(op, float(a["param"])) if a.get("param") is not None else ttnn.UnaryWithParam(op)


def program_config(pc: dict | None):
    """tttv2's tagged program-config JSON -> the TT-NN Python object of that name."""
    if pc is None:
        return None
    f = {k: v for k, v in pc.items() if k != "type"}
    t = pc["type"]
    if "compute_with_storage_grid_size" in f:
        f["compute_with_storage_grid_size"] = coord(f["compute_with_storage_grid_size"])
    if "fused_activation" in f:
        f["fused_activation"] = activation(f["fused_activation"])
    if t == "MatmulMultiCoreProgramConfig":
        return ttnn.MatmulMultiCoreProgramConfig()
    if t == "SDPAProgramConfig":
        return ttnn.SDPAProgramConfig(**f)
    return getattr(ttnn, t)(**f)


def compute_kernel_config(c: dict | None):
    if c is None:
        return None
    return ttnn.WormholeComputeKernelConfig(
        math_fidelity=getattr(ttnn.MathFidelity, c["math_fidelity"]),
        math_approx_mode=c["math_approx_mode"],
        fp32_dest_acc_en=c["fp32_dest_acc_en"],
        packer_l1_acc=c["packer_l1_acc"],
        dst_full_sync_en=c["dst_full_sync_en"],
    )


# Layouts are not in the manifest: every tensor is TILE except these (op, role) pairs, which
# tttv2's planner documents as row-major (`plan/llama/ops.rs`: the embedding table and token ids,
# the norm gamma stored [1, 1, dim/32, 32] ROW_MAJOR as tt-transformers does).
ROW_MAJOR_ROLES = {("ttnn::embedding", "input"), ("ttnn::embedding", "weight"), ("ttnn::rms_norm", "weight")}


class Ctx:
    """Creates the input tensors of one op and keeps them for deallocation."""

    def __init__(self, dev, spec: OpSpec):
        self.dev, self.spec, self.made, self.notes = dev, spec, [], []

    def has(self, role):
        return role in self.spec.shapes

    def first(self, *roles):
        for r in roles:
            if r in self.spec.shapes:
                return r
        raise KeyError(f"none of the roles {roles} in {sorted(self.spec.shapes)}")

    def mc(self, role):
        return memory_config(self.spec.memory_configs.get(role))

    def dt(self, role, default="BFLOAT16"):
        return dtype(self.spec.dtypes.get(role, default))

    def tensor(self, role, shape=None, dt=None, mc=None, layout=None):
        shape = shape or self.spec.shapes[role]
        if layout is None:
            layout = ttnn.ROW_MAJOR_LAYOUT if (self.spec.ttnn_op, role) in ROW_MAJOR_ROLES else ttnn.TILE_LAYOUT
        t = ttnn.allocate_tensor_on_device(
            ttnn.Shape(list(shape)), dt or self.dt(role), layout, self.dev, mc or self.mc(role)
        )
        self.made.append(t)
        return t

    @property
    def pc(self):
        return program_config(self.spec.program_config)

    @property
    def ckc(self):
        return compute_kernel_config(self.spec.compute_kernel_config)

    def free(self):
        for t in self.made:
            try:
                ttnn.deallocate(t)
            except Exception:  # noqa: BLE001
                pass
        self.made = []


def run_linear(c: Ctx):
    a = c.tensor("input")
    w = list(c.spec.shapes["weight"])
    n_out = c.spec.shapes["output"][-1]
    wmc = c.spec.memory_configs.get("weight") or {}
    if w[-1] != n_out and wmc.get("buffer_type") == "DRAM" and wmc.get("memory_layout") == "WIDTH_SHARDED":
        # The plan states the DRAM-sharded weight with N padded to whole tiles per DRAM bank. In
        # TT-NN that padding lives in the shard spec only (tt-transformers keeps the weight's
        # logical shape [K, N]); a [K, padded N] tensor would make the output padded N wide.
        c.notes.append(f"weight N {w[-1]} -> {n_out} (padding kept in the shard spec)")
        w[-1] = n_out
    b = c.tensor("weight", shape=w)
    # A fused bias (Qwen2's q/k/v): `[1, 1, 1, N]`, the weight's logical width, placed as planned.
    bias = c.tensor("bias", shape=[1, 1, 1, n_out]) if c.has("bias") else None
    return ttnn.linear(
        a, b, bias=bias, program_config=c.pc, compute_kernel_config=c.ckc,
        memory_config=c.mc("output"), dtype=c.dt("output"),
    )


def run_embedding(c: Ctx):
    ids, w = c.tensor("input"), c.tensor("weight")
    return ttnn.embedding(ids, w, layout=ttnn.TILE_LAYOUT, memory_config=c.mc("output"), dtype=c.dt("output"))


def run_rms_norm(c: Ctx):
    x = c.tensor("input")
    # gamma is ROW_MAJOR [1, 1, dim/32, 32] (tt-transformers), or a TILE [1, 1, 32, dim] when the
    # plan takes TT-NN's large-tensor kernel, which a ROW_MAJOR gamma disables (`plan/llama/ops.rs`).
    w = c.spec.shapes["weight"]
    tile = w[-1] == c.spec.shapes["input"][-1] and w[-1] != 32
    g = c.tensor("weight", layout=ttnn.TILE_LAYOUT if tile else None)
    return ttnn.rms_norm(
        x, epsilon=1e-5, weight=g, memory_config=c.mc("output"),
        program_config=c.pc, compute_kernel_config=c.ckc,
    )


def heads(c: Ctx, role):
    s = c.spec.shapes[role]
    return s[2] if c.spec.ttnn_op.endswith("_decode") else s[1]


def run_create_heads(c: Ctx):
    x = c.tensor("input")
    qh, kvh = heads(c, "q"), heads(c, "k")
    if c.spec.ttnn_op.endswith("_decode"):
        return ttnn.experimental.nlp_create_qkv_heads_decode(
            x, num_heads=qh, num_kv_heads=kvh, memory_config=c.mc("q"))
    return ttnn.experimental.nlp_create_qkv_heads(
        x, num_heads=qh, num_kv_heads=kvh, transpose_k_heads=False, memory_config=c.mc("q"))


def run_rotary(c: Ctx):
    cos, sin, tm = c.tensor("cos"), c.tensor("sin"), c.tensor("trans_mat")
    if c.spec.ttnn_op.endswith("_fused_qk"):
        q, k = c.tensor("q"), c.tensor("k")
        return ttnn.experimental.rotary_embedding_llama_fused_qk(q, k, cos, sin, tm, compute_kernel_config=c.ckc)
    role = c.first("input", "q", "k", "x")
    x = c.tensor(role)
    decode = c.spec.shapes[role][0] == 1 and c.spec.memory_configs.get(role, {}).get("memory_layout") == "HEIGHT_SHARDED"
    out = c.mc("output") if c.has("output") else c.mc(role)
    return ttnn.experimental.rotary_embedding_llama(
        x, cos, sin, tm, is_decode_mode=decode, memory_config=out, compute_kernel_config=c.ckc)


def run_fill_cache(c: Ctx):
    cache, x = c.tensor("cache"), c.tensor("input")
    return ttnn.fill_cache(cache, x, 0)


def run_paged_update(c: Ctx):
    if c.spec.ttnn_op.endswith("paged_fused_update_cache"):
        kc, k, vc, v = c.tensor("k_cache"), c.tensor("k"), c.tensor("v_cache"), c.tensor("v")
        b = c.spec.shapes["k"][1]
        return ttnn.experimental.paged_fused_update_cache(
            kc, k, vc, v, update_idxs=[0] * b, compute_kernel_config=c.ckc)
    cache_role, in_role = c.first("cache", "k_cache", "v_cache"), c.first("input", "k", "v")
    cache, x = c.tensor(cache_role), c.tensor(in_role)
    b = c.spec.shapes[in_role][1]
    return ttnn.experimental.paged_update_cache(cache, x, update_idxs=[0] * b, compute_kernel_config=c.ckc)


def run_typecast(c: Ctx):
    return ttnn.typecast(c.tensor("input"), c.dt("output"), memory_config=c.mc("output"))


def run_sdpa(c: Ctx):
    if c.spec.ttnn_op.endswith("_decode"):
        q, k, v = c.tensor("q"), c.tensor(c.first("k_cache", "k")), c.tensor(c.first("v_cache", "v"))
        b = c.spec.shapes["q"][1]
        kv_len = c.spec.shapes[c.first("k_cache", "k")][2]
        return ttnn.transformer.scaled_dot_product_attention_decode(
            q, k, v, is_causal=True, cur_pos=[kv_len - 1] * b, program_config=c.pc,
            compute_kernel_config=c.ckc, memory_config=c.mc("output"))
    q, k, v = c.tensor("q"), c.tensor("k"), c.tensor("v")
    return ttnn.transformer.scaled_dot_product_attention(
        q, k, v, is_causal=True, program_config=c.pc, compute_kernel_config=c.ckc,
        memory_config=c.mc("output"))


def run_concat_heads(c: Ctx):
    x = c.tensor("input")
    if c.spec.ttnn_op.endswith("_decode"):
        return ttnn.experimental.nlp_concat_heads_decode(
            x, num_heads=c.spec.shapes["input"][2], memory_config=c.mc("output"))
    return ttnn.experimental.nlp_concat_heads(x, memory_config=c.mc("output"))


def run_binary(c: Ctx):
    a, b = c.tensor("a"), c.tensor("b")
    kw = dict(memory_config=c.mc("output"), dtype=c.dt("output"))
    if c.spec.ttnn_op == "ttnn::multiply":
        # SwiGLU: SiLU fused on the left operand (the planner's `binary`, OpKind::Multiply).
        return ttnn.multiply(a, b, input_tensor_a_activations=[ttnn.UnaryOpType.SILU], **kw)
    return ttnn.add(a, b, **kw)


def run_slice(c: Ctx):
    x = c.tensor("input")
    s = c.spec.shapes["input"]
    # The last position of each prompt, as tt-transformers slices it: the whole tile row that holds
    # it, [0, 0, r, 0] .. [d0, d1, r + 32, hidden] with r = (seq-1) rounded down to a tile (a
    # one-row slice of a TILE tensor is a different, unaligned TT-NN path). The plan states the
    # output as [1, 1, batch, hidden]: the row pick and reshape that follow are not replayed.
    r = (s[2] - 1) // 32 * 32
    return ttnn.slice(x, [0, 0, r, 0], [s[0], s[1], min(r + 32, s[2]), s[3]], memory_config=c.mc("output"))


def run_to_sharded(c: Ctx):
    return ttnn.interleaved_to_sharded(c.tensor("input"), c.mc("output"))


def run_to_interleaved(c: Ctx):
    return ttnn.sharded_to_interleaved(c.tensor("input"), c.mc("output"))


def run_to_memory_config(c: Ctx):
    # The planner's reshards (`<consumer>.to_memory_config`, `embedding.to_memory_config`).
    return ttnn.to_memory_config(c.tensor("input"), c.mc("output"), dtype=c.dt("output"))


def run_reshape(c: Ctx):
    # `embedding.reshape`: [1, rows, width] -> [1, 1, rows, width], a view.
    return ttnn.reshape(c.tensor("input"), list(c.spec.shapes["output"]), memory_config=c.mc("output"))


RUNNERS = {
    "ttnn::to_memory_config": run_to_memory_config,
    "ttnn::reshape": run_reshape,
    "ttnn::linear": run_linear,
    "ttnn::matmul": run_linear,
    "ttnn::embedding": run_embedding,
    "ttnn::rms_norm": run_rms_norm,
    "ttnn::experimental::nlp_create_qkv_heads": run_create_heads,
    "ttnn::experimental::nlp_create_qkv_heads_decode": run_create_heads,
    "ttnn::experimental::rotary_embedding_llama": run_rotary,
    "ttnn::experimental::rotary_embedding_llama_fused_qk": run_rotary,
    "ttnn::fill_cache": run_fill_cache,
    "ttnn::experimental::paged_update_cache": run_paged_update,
    "ttnn::experimental::paged_fused_update_cache": run_paged_update,
    "ttnn::typecast": run_typecast,
    "ttnn::transformer::scaled_dot_product_attention": run_sdpa,
    "ttnn::transformer::scaled_dot_product_attention_decode": run_sdpa,
    "ttnn::experimental::nlp_concat_heads": run_concat_heads,
    "ttnn::experimental::nlp_concat_heads_decode": run_concat_heads,
    "ttnn::add": run_binary,
    "ttnn::multiply": run_binary,
    "ttnn::slice": run_slice,
    "ttnn::interleaved_to_sharded": run_to_sharded,
    "ttnn::sharded_to_interleaved": run_to_interleaved,
}


@dataclass
class Result:
    status: str  # "ok" | "rejected" | "unsupported" | "error"
    text: str = ""
    l1: int | None = None  # TT-NN's peak L1 bytes per core (CBs + L1 buffers)
    cb: int | None = None
    l1_buffers: int | None = None
    ms: float = 0.0


def replay_op(dev, spec: OpSpec) -> Result:
    """Two passes. (1) NORMAL mode on the mock device: tensors really allocate, the op validates
    and its program is created (CB placement checked against the real allocator); dispatch is
    dropped by the mock. (2) NO_DISPATCH graph capture of the same call, inputs created inside the
    capture, for TT-NN's L1 per core."""
    fn = RUNNERS.get(spec.ttnn_op)
    if fn is None:
        return Result("unsupported", f"no replay for {spec.ttnn_op}")
    t0 = time.perf_counter()
    c = Ctx(dev, spec)
    try:
        out = fn(c)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for o in outs:
            if o is not None:
                try:
                    ttnn.deallocate(o)
                except Exception:  # noqa: BLE001
                    pass
    except Exception as e:  # noqa: BLE001
        c.free()
        return Result("rejected", short(e), ms=(time.perf_counter() - t0) * 1e3)
    c.free()
    # (2) L1 from graph capture
    c = Ctx(dev, spec)
    r = Result("ok")
    ttnn.graph.begin_graph_capture(ttnn.graph.RunMode.NO_DISPATCH)
    ttnn.graph.disable_python_io_recording()
    try:
        fn(c)
    except Exception as e:  # noqa: BLE001
        r = Result("rejected", "(in NO_DISPATCH capture only) " + short(e))
    finally:
        g = ttnn.graph.end_graph_capture()
        c.free()
    try:
        u = ttnn.graph.extract_resource_usage_per_core(g)
        r.l1 = int(u.peak_total)
        # circular buffers: the legacy CBs plus Metal 2.0 dataflow buffers (most ops' CBs are the
        # latter in this wheel); each is its own peak, so the sum can exceed peak_total slightly
        r.cb = int(u.peak_cb) + int(getattr(u, "peak_dataflow_buffer", 0))
        r.l1_buffers = int(u.peak_l1)
    except Exception as e:  # noqa: BLE001
        r.text = (r.text + " " if r.text else "") + f"[no L1 figure: {short(e, 1)}]"
    r.ms = (time.perf_counter() - t0) * 1e3
    if c.notes:
        r.text = (r.text + " " if r.text else "") + "[replay: " + "; ".join(c.notes) + "]"
    return r


class TimedCtx(Ctx):
    """A Ctx that measures the time spent making the op's input tensors, so that the op's own
    dispatch (Python binding, validation, program-cache lookup and enqueue; the mock device drops
    the enqueued work) is the call's time minus it."""

    def __init__(self, dev, spec: OpSpec):
        super().__init__(dev, spec)
        self.alloc_s = 0.0

    def tensor(self, role, shape=None, dt=None, mc=None, layout=None):
        t0 = time.perf_counter()
        t = super().tensor(role, shape, dt, mc, layout)
        self.alloc_s += time.perf_counter() - t0
        return t

    # A program builds its configs once, not per call: converted on first use, then reused.
    def mc(self, role):
        return _converted(("mc", role, id(self.spec)), lambda: super(TimedCtx, self).mc(role))

    @property
    def pc(self):
        return _converted(("pc", id(self.spec)), lambda: program_config(self.spec.program_config))

    @property
    def ckc(self):
        return _converted(("ckc", id(self.spec)), lambda: compute_kernel_config(self.spec.compute_kernel_config))


_CONVERTED = {}


def _converted(key, make):
    if key not in _CONVERTED:
        _CONVERTED[key] = make()
    return _CONVERTED[key]


def time_dispatch(dev, ops, passes: int):
    """Runs the plan's ops in order `passes` times (a first pass fills the program cache and is not
    counted), each op's inputs made fresh and freed after it as the op's neighbours would hold
    them; returns each counted pass's dispatch seconds (input making excluded) and the ops run."""
    runnable = [s for s in ops if s.ttnn_op in RUNNERS]
    times = []
    for p in range(passes + 1):
        total = 0.0
        for spec in runnable:
            c = TimedCtx(dev, spec)
            t0 = time.perf_counter()
            out = RUNNERS[spec.ttnn_op](c)
            total += time.perf_counter() - t0 - c.alloc_s
            for o in out if isinstance(out, (list, tuple)) else [out]:
                if o is not None:
                    try:
                        ttnn.deallocate(o)
                    except Exception:  # noqa: BLE001
                        pass
            c.free()
        if p > 0:
            times.append(total)
    return times, len(runnable)


def cache_key(spec: OpSpec) -> str:
    return json.dumps(
        [spec.ttnn_op, spec.shapes, spec.memory_configs, spec.dtypes, spec.program_config, spec.compute_kernel_config],
        sort_keys=True,
    )


def kind(spec: OpSpec) -> str:
    """ttnn op plus, for matmuls, the program-config family: the rows of the L1-gap summary."""
    k = spec.ttnn_op.split("::")[-1]
    if spec.program_config and k in ("linear", "matmul"):
        k += ":" + spec.program_config["type"].replace("MatmulMultiCore", "").replace("ProgramConfig", "") or "MultiCore"
    elif spec.program_config and k == "rms_norm":
        k += ":" + spec.program_config["type"].replace("LayerNorm", "").replace("ProgramConfig", "")
    return k


EXPECTED_ARCH = {"n150": "WORMHOLE_B0", "n300": "WORMHOLE_B0", "t3k": "WORMHOLE_B0", "galaxy": "WORMHOLE_B0",
                 "p150": "BLACKHOLE", "p100": "BLACKHOLE"}
EXPECTED_GRID = {"n150": (8, 8), "p150": (13, 10)}  # tttv2-core/src/device/profile.rs


def main(argv=None) -> int:
    global ttnn
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", help="plan manifest JSON (`tttv2 plan --json`), '-' for stdin")
    ap.add_argument("--l1-warn", action="store_true", help="TT-NN L1 above the plan's estimate is a warning, not a failure")
    ap.add_argument("--no-cache", action="store_true", help="replay every op, even identical ones")
    ap.add_argument("--only", help="replay only ops whose name or ttnn_op contains this")
    ap.add_argument("--json-out", help="write per-op results as JSON here")
    ap.add_argument("--quiet", action="store_true", help="print only failing ops and the summary")
    ap.add_argument("--time-dispatch", type=int, metavar="PASSES",
                    help="after the replay, time PASSES runs of the whole op list with the program cache warm "
                         "(inputs kept): TT-NN's own Python dispatch cost per call")
    a = ap.parse_args(argv)

    with (sys.stdin if a.manifest == "-" else open(a.manifest)) as f:
        plan = adapt_manifest(json.load(f))
    if not os.environ.get("TT_METAL_MOCK_CLUSTER_DESC_PATH"):
        print("TT_METAL_MOCK_CLUSTER_DESC_PATH is not set: run through replay.sh", file=sys.stderr)
        return 2
    import ttnn as _ttnn  # noqa: E402

    ttnn = _ttnn
    dev = ttnn.open_device(device_id=0, l1_small_size=32768)
    arch = str(dev.arch()).split(".")[-1]
    want = EXPECTED_ARCH.get(plan.device)
    if want and want != arch:
        print(f"the plan is for {plan.device} ({want}) but the mock device is {arch}: set MOCK_DESC", file=sys.stderr)
        return 2
    grid = dev.compute_with_storage_grid_size()
    print(f"# {plan.label}: {len(plan.ops)} ops on mock {arch} {grid.x}x{grid.y}")
    if EXPECTED_GRID.get(plan.device, (grid.x, grid.y)) != (grid.x, grid.y):
        print(f"WARNING: tttv2's {plan.device} profile has a {EXPECTED_GRID[plan.device]} compute grid, "
              f"the mock device {grid.x}x{grid.y} (MOCK_DESC={os.environ.get('MOCK_DESC')})")

    results, cache, t_all = [], {}, time.perf_counter()
    for spec in plan.ops:
        if a.only and a.only not in spec.name and a.only not in spec.ttnn_op:
            continue
        key = cache_key(spec)
        if not a.no_cache and key in cache:
            r, cached = cache[key], True
        else:
            r, cached = replay_op(dev, spec), False
            cache[key] = r
        results.append((spec, r, cached))
        over = r.l1 is not None and spec.l1_plan and r.l1 > spec.l1_plan
        if cached and a.quiet:
            continue
        if a.quiet and r.status == "ok" and not over:
            continue
        if not cached or r.status != "ok" or over:
            l1 = f"{r.l1:>8}" if r.l1 is not None else "       -"
            flag = {"ok": "OK  ", "rejected": "REJ ", "unsupported": "UNSUP", "error": "ERR "}[r.status]
            if r.status == "ok" and over:
                flag = "L1> "
            if not cached:
                print(f"{flag} {spec.name:<40} {spec.ttnn_op.split('::')[-1]:<34} plan {spec.l1_plan:>8} ttnn {l1}"
                      f" (cb {r.cb}) {r.ms:7.1f} ms {r.text}")
    dispatch = None
    if a.time_dispatch:
        dispatch = time_dispatch(dev, plan.ops, a.time_dispatch)
    ttnn.close_device(dev)
    elapsed = time.perf_counter() - t_all

    # Summary
    n = len(results)
    rej = [(s, r) for s, r, _ in results if r.status == "rejected"]
    unsup = sorted({s.ttnn_op for s, r, _ in results if r.status == "unsupported"})
    over = [(s, r) for s, r, _ in results if r.status == "ok" and r.l1 is not None and s.l1_plan and r.l1 > s.l1_plan]
    print(f"\n## {plan.label}: {n} ops replayed ({len(cache)} distinct) in {elapsed:.1f} s; "
          f"{len(rej)} rejected; {len(over)} with TT-NN L1 above the plan's estimate"
          + (f"; not replayed (no single-chip TT-NN call): {', '.join(unsup)}" if unsup else ""))
    if rej:
        print("\n| rejected op | ttnn op | count | TT-NN's error |\n|---|---|---|---|")
        seen = {}
        for s, r in rej:
            k = (s.name.split(".", 2)[-1] if s.layer is not None else s.name, s.ttnn_op, r.text)
            seen[k] = seen.get(k, 0) + 1
        for (nm, op, txt), cnt in seen.items():
            print(f"| {nm} | {op.split('::')[-1]} | {cnt} | {txt[:400].replace('|', '/')} |")
    print("\n| op kind | ops | accepted | plan L1 max | TT-NN L1 max | largest gap (TT-NN - plan) | at |\n|---|---|---|---|---|---|---|")
    kinds = {}
    for s, r, _ in results:
        d = kinds.setdefault(kind(s), dict(n=0, ok=0, plan=0, tt=0, gap=None, at=""))
        d["n"] += 1
        d["ok"] += r.status == "ok"
        d["plan"] = max(d["plan"], s.l1_plan)
        if r.l1 is not None:
            d["tt"] = max(d["tt"], r.l1)
            g = r.l1 - s.l1_plan
            if d["gap"] is None or g > d["gap"]:
                d["gap"], d["at"] = g, s.name
    for k, d in sorted(kinds.items()):
        gap = "-" if d["gap"] is None else f"{d['gap']:+d}"
        print(f"| {k} | {d['n']} | {d['ok']} | {d['plan']} | {d['tt']} | {gap} | {d['at']} |")
    if dispatch:
        times, n_ops = dispatch
        med = sorted(times)[len(times) // 2]
        print(f"\n## TT-NN Python dispatch, program cache warm: {n_ops} ops per call, median of {len(times)} passes "
              f"{med * 1e3:.2f} ms per call ({med / max(n_ops, 1) * 1e6:.1f} us per op; min {min(times) * 1e3:.2f} ms, "
              f"max {max(times) * 1e3:.2f} ms)")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(
                {"plan": plan.label, "seconds": elapsed, "ops": [
                    {"name": s.name, "ttnn_op": s.ttnn_op, "kind": kind(s), "status": r.status, "text": r.text,
                     "l1_plan": s.l1_plan, "l1_ttnn": r.l1, "cb_ttnn": r.cb, "l1_buffers_ttnn": r.l1_buffers,
                     "cached": c}
                    for s, r, c in results]}, f, indent=1)
    if rej:
        return 1
    if over and not a.l1_warn:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
