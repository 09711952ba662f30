"""How TT-NN 0.81.1 mappers split uneven dims (host-side only; mock mesh needed just to build mappers).

    D=/work/shared/tools/ttnn-mock
    TT_METAL_MOCK_CLUSTER_DESC_PATH=$D/cluster_descs/t3k_cluster_desc.yaml $D/run.sh fake python mapper_probe.py
"""
import os
import sys

os.environ.setdefault("TT_LOGGER_LEVEL", "error")
import numpy as np  # noqa: E402
import ttnn  # noqa: E402


def short(e):
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    if "backtrace:" in lines:
        lines = lines[: lines.index("backtrace:")]
    return " | ".join(l for l in lines[:3] if l != "info:")


ttnn.set_fabric_config(ttnn.FabricConfig.FABRIC_1D)
mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4), dispatch_core_config=ttnn.DispatchCoreConfig(ttnn.DispatchCoreType.WORKER))
for w in (256, 96, 100, 4):
    for name, mapper in (("ShardTensorToMesh(dim=3)", ttnn.ShardTensorToMesh(mesh, dim=3)),
                         ("ShardTensor2dMesh(dims=(None,3))", ttnn.ShardTensor2dMesh(mesh, mesh_shape=(2, 4), dims=(None, 3)))):
        try:
            h = ttnn.Tensor(np.arange(w, dtype=np.float32).reshape(1, 1, 1, w), data_type=ttnn.float32,
                            layout=ttnn.ROW_MAJOR_LAYOUT, mesh_mapper=mapper)
            shards = ttnn.get_device_tensors(h)
            firsts = [int(np.asarray(s.to_list()).reshape(-1)[0]) for s in shards]
            print(f"[OK ] width {w} {name}: {len(shards)} shards of {list(shards[0].shape)}; first element per shard "
                  f"(shard order) {firsts}; topology {h.tensor_topology()}", flush=True)
        except Exception as e:  # noqa: BLE001
            print(f"[ERR] width {w} {name}: {type(e).__name__}: {short(e)}", flush=True)
sys.stdout.flush()
os._exit(0)
