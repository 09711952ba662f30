//! Conversions from tttv2-core's TT-NN mirror types to the flat bridge structs.

use tttv2_core::device::{Arch, DeviceProfile};
use tttv2_core::ttnn::{
    BufferType, ComputeKernelConfig, DataType, Layout, MathFidelity, MatmulProgramConfig, MemoryConfig,
    ShardOrientation, TensorMemoryLayout, UnaryOpType, UnaryWithParam,
};

use crate::bridge::ffi;

pub(crate) fn data_type(d: DataType) -> ffi::DataType {
    match d {
        DataType::Bfloat16 => ffi::DataType::Bfloat16,
        DataType::Float32 => ffi::DataType::Float32,
        DataType::Uint32 => ffi::DataType::Uint32,
        DataType::Bfloat8B => ffi::DataType::Bfloat8B,
        DataType::Bfloat4B => ffi::DataType::Bfloat4B,
    }
}

pub(crate) fn data_type_back(d: ffi::DataType) -> DataType {
    match d {
        ffi::DataType::Float32 => DataType::Float32,
        ffi::DataType::Uint32 => DataType::Uint32,
        ffi::DataType::Bfloat8B => DataType::Bfloat8B,
        ffi::DataType::Bfloat4B => DataType::Bfloat4B,
        _ => DataType::Bfloat16,
    }
}

pub(crate) fn layout(l: Layout) -> ffi::Layout {
    match l {
        Layout::RowMajor => ffi::Layout::RowMajor,
        Layout::Tile => ffi::Layout::Tile,
    }
}

pub(crate) fn layout_back(l: ffi::Layout) -> Layout {
    if l == ffi::Layout::RowMajor { Layout::RowMajor } else { Layout::Tile }
}

pub(crate) fn memory_config(m: &MemoryConfig) -> ffi::MemConfig {
    let layout = match m.memory_layout {
        TensorMemoryLayout::Interleaved => ffi::TensorMemoryLayout::Interleaved,
        TensorMemoryLayout::HeightSharded => ffi::TensorMemoryLayout::HeightSharded,
        TensorMemoryLayout::WidthSharded => ffi::TensorMemoryLayout::WidthSharded,
        TensorMemoryLayout::BlockSharded => ffi::TensorMemoryLayout::BlockSharded,
    };
    let buffer = match m.buffer_type {
        BufferType::Dram => ffi::BufferType::Dram,
        BufferType::L1 => ffi::BufferType::L1,
    };
    let shard = match m.shard_spec {
        Some(s) => ffi::ShardSpecDesc {
            start_x: s.grid.bounding_box.start.x,
            start_y: s.grid.bounding_box.start.y,
            end_x: s.grid.bounding_box.end.x,
            end_y: s.grid.bounding_box.end.y,
            num_cores: s.grid.num_cores,
            shape_h: s.shape[0],
            shape_w: s.shape[1],
            orientation: match s.orientation {
                ShardOrientation::RowMajor => ffi::ShardOrientation::RowMajor,
                ShardOrientation::ColMajor => ffi::ShardOrientation::ColMajor,
            },
        },
        None => ffi::ShardSpecDesc {
            start_x: 0,
            start_y: 0,
            end_x: 0,
            end_y: 0,
            num_cores: 0,
            shape_h: 0,
            shape_w: 0,
            orientation: ffi::ShardOrientation::RowMajor,
        },
    };
    ffi::MemConfig { layout, buffer, has_shard: m.shard_spec.is_some(), shard }
}

pub(crate) fn memory_config_back(m: &ffi::MemConfig) -> MemoryConfig {
    use tttv2_core::ttnn::{CoreCoord, CoreRange, ShardGrid, ShardSpec};
    let memory_layout = match m.layout {
        ffi::TensorMemoryLayout::HeightSharded => TensorMemoryLayout::HeightSharded,
        ffi::TensorMemoryLayout::WidthSharded => TensorMemoryLayout::WidthSharded,
        ffi::TensorMemoryLayout::BlockSharded => TensorMemoryLayout::BlockSharded,
        _ => TensorMemoryLayout::Interleaved,
    };
    let buffer_type = if m.buffer == ffi::BufferType::L1 { BufferType::L1 } else { BufferType::Dram };
    let shard_spec = m.has_shard.then(|| ShardSpec {
        grid: ShardGrid {
            bounding_box: CoreRange {
                start: CoreCoord::new(m.shard.start_x, m.shard.start_y),
                end: CoreCoord::new(m.shard.end_x, m.shard.end_y),
            },
            num_cores: m.shard.num_cores,
        },
        shape: [m.shard.shape_h, m.shard.shape_w],
        orientation: if m.shard.orientation == ffi::ShardOrientation::ColMajor {
            ShardOrientation::ColMajor
        } else {
            ShardOrientation::RowMajor
        },
    });
    MemoryConfig { memory_layout, buffer_type, shard_spec }
}

pub(crate) fn compute_config(c: &ComputeKernelConfig) -> ffi::ComputeConfig {
    ffi::ComputeConfig {
        math_fidelity: match c.math_fidelity {
            MathFidelity::LoFi => ffi::MathFidelity::LoFi,
            MathFidelity::HiFi2 => ffi::MathFidelity::HiFi2,
            MathFidelity::HiFi3 => ffi::MathFidelity::HiFi3,
            MathFidelity::HiFi4 => ffi::MathFidelity::HiFi4,
        },
        math_approx_mode: c.math_approx_mode,
        fp32_dest_acc_en: c.fp32_dest_acc_en,
        packer_l1_acc: c.packer_l1_acc,
        dst_full_sync_en: c.dst_full_sync_en,
    }
}

fn activation(a: Option<UnaryWithParam>) -> ffi::Activation {
    match a {
        None => ffi::Activation { op: ffi::UnaryOp::None, has_param: false, param: 0.0 },
        Some(a) => ffi::Activation {
            op: match a.op_type {
                UnaryOpType::Relu => ffi::UnaryOp::Relu,
                UnaryOpType::Silu => ffi::UnaryOp::Silu,
                UnaryOpType::Gelu => ffi::UnaryOp::Gelu,
                UnaryOpType::Sigmoid => ffi::UnaryOp::Sigmoid,
            },
            has_param: a.param.is_some(),
            param: a.param.unwrap_or(0.0),
        },
    }
}

pub(crate) fn matmul_config(p: &MatmulProgramConfig) -> ffi::MatmulConfig {
    let mut c = ffi::MatmulConfig {
        kind: ffi::MatmulKind::MultiCore,
        grid_x: 0,
        grid_y: 0,
        in0_block_w: 0,
        out_subblock_h: 0,
        out_subblock_w: 0,
        out_block_h: 0,
        out_block_w: 0,
        per_core_m: 0,
        per_core_n: 0,
        transpose_mcast: false,
        fuse_batch: false,
        mcast_in0: false,
        fused_activation: activation(p.fused_activation()),
    };
    match p {
        MatmulProgramConfig::MultiCore(_) => {}
        MatmulProgramConfig::Reuse(r) => {
            c.kind = ffi::MatmulKind::Reuse;
            c.grid_x = r.compute_with_storage_grid_size.x;
            c.grid_y = r.compute_with_storage_grid_size.y;
            c.in0_block_w = r.in0_block_w;
            c.out_subblock_h = r.out_subblock_h;
            c.out_subblock_w = r.out_subblock_w;
            c.per_core_m = r.per_core_M;
            c.per_core_n = r.per_core_N;
        }
        MatmulProgramConfig::MultiCast2D(r) => {
            c.kind = ffi::MatmulKind::MultiCast2D;
            c.grid_x = r.compute_with_storage_grid_size.x;
            c.grid_y = r.compute_with_storage_grid_size.y;
            c.in0_block_w = r.in0_block_w;
            c.out_subblock_h = r.out_subblock_h;
            c.out_subblock_w = r.out_subblock_w;
            c.out_block_h = r.out_block_h;
            c.out_block_w = r.out_block_w;
            c.per_core_m = r.per_core_M;
            c.per_core_n = r.per_core_N;
            c.transpose_mcast = r.transpose_mcast;
            c.fuse_batch = r.fuse_batch;
        }
        MatmulProgramConfig::MultiCast1D(r) => {
            c.kind = ffi::MatmulKind::MultiCast1D;
            c.grid_x = r.compute_with_storage_grid_size.x;
            c.grid_y = r.compute_with_storage_grid_size.y;
            c.in0_block_w = r.in0_block_w;
            c.out_subblock_h = r.out_subblock_h;
            c.out_subblock_w = r.out_subblock_w;
            c.out_block_h = r.out_block_h;
            c.out_block_w = r.out_block_w;
            c.per_core_m = r.per_core_M;
            c.per_core_n = r.per_core_N;
            c.fuse_batch = r.fuse_batch;
            c.mcast_in0 = r.mcast_in0;
        }
        MatmulProgramConfig::DramSharded(r) => {
            c.kind = ffi::MatmulKind::DramSharded;
            c.in0_block_w = r.in0_block_w;
            c.per_core_m = r.per_core_M;
            c.per_core_n = r.per_core_N;
        }
    }
    c
}

pub(crate) fn device_desc(p: &DeviceProfile) -> ffi::DeviceDesc {
    ffi::DeviceDesc {
        name: p.name.to_owned(),
        arch: match p.arch {
            Arch::Grayskull => ffi::Arch::Grayskull,
            Arch::WormholeB0 => ffi::Arch::WormholeB0,
            Arch::Blackhole => ffi::Arch::Blackhole,
        },
        grid_x: p.compute_grid.x,
        grid_y: p.compute_grid.y,
        l1_bytes_per_core: p.l1_bytes_per_core,
        l1_reserved_bytes: p.l1_reserved_bytes,
        dram_banks: p.dram_banks,
        dram_bytes: p.dram_bytes,
    }
}

pub(crate) fn norm_config(p: &tttv2_core::ttnn::LayerNormProgramConfig) -> ffi::NormConfig {
    use tttv2_core::ttnn::LayerNormProgramConfig as P;
    match p {
        P::Default(d) => ffi::NormConfig {
            sharded: false,
            grid_x: 0,
            grid_y: 0,
            subblock_w: 0,
            block_h: 0,
            block_w: 0,
            inplace: false,
            legacy_reduction: d.legacy_reduction,
            legacy_rsqrt: d.legacy_rsqrt,
            use_welford: d.use_welford,
        },
        P::Sharded(s) => ffi::NormConfig {
            sharded: true,
            grid_x: s.compute_with_storage_grid_size.x,
            grid_y: s.compute_with_storage_grid_size.y,
            subblock_w: s.subblock_w,
            block_h: s.block_h,
            block_w: s.block_w,
            inplace: s.inplace,
            legacy_reduction: s.legacy_reduction,
            legacy_rsqrt: s.legacy_rsqrt,
            use_welford: s.use_welford,
        },
    }
}

pub(crate) fn sdpa_config(p: &tttv2_core::ttnn::SDPAProgramConfig) -> ffi::SdpaConfig {
    ffi::SdpaConfig {
        grid_x: p.compute_with_storage_grid_size.x,
        grid_y: p.compute_with_storage_grid_size.y,
        q_chunk_size: p.q_chunk_size,
        k_chunk_size: p.k_chunk_size,
        exp_approx_mode: p.exp_approx_mode.unwrap_or(false),
        max_cores_per_head_batch: p.max_cores_per_head_batch,
    }
}

pub(crate) fn unary_op(op: Option<UnaryOpType>) -> ffi::UnaryOp {
    match op {
        None => ffi::UnaryOp::None,
        Some(UnaryOpType::Relu) => ffi::UnaryOp::Relu,
        Some(UnaryOpType::Silu) => ffi::UnaryOp::Silu,
        Some(UnaryOpType::Gelu) => ffi::UnaryOp::Gelu,
        Some(UnaryOpType::Sigmoid) => ffi::UnaryOp::Sigmoid,
    }
}
