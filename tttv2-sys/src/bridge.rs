//! The one static `cxx` bridge. cxx cannot see a bridge a proc-macro emits (cxx #808, #934), so
//! every entry point generated code may reach is declared here, and the macro emits only safe
//! Rust calls into [`crate::ops`].
//!
//! Config structs are flat, plain-data mirrors of TT-NN's (cxx shared structs cannot hold enums
//! with data, cxx #873): `MatmulConfig.kind` says which TT-NN program-config struct the fields
//! describe. Every fallible C++ function returns `Result`, so a C++ exception (TT-NN's
//! `TT_THROW`/`TT_FATAL` throw `std::runtime_error`) becomes an `Err` instead of crossing the FFI.

// The op functions take TT-NN's arguments one for one, as TT-NN's C++ signatures do.
#[allow(clippy::too_many_arguments)]
#[cxx::bridge(namespace = "tttv2::ffi")]
pub(crate) mod ffi {
    /// `tt::tt_metal::DataType` (same discriminants).
    #[derive(Debug)]
    #[repr(u8)]
    enum DataType {
        Bfloat16 = 0,
        Float32 = 1,
        Uint32 = 2,
        Bfloat8B = 3,
        Bfloat4B = 4,
    }

    /// `tt::tt_metal::Layout`.
    #[derive(Debug)]
    #[repr(u8)]
    enum Layout {
        RowMajor = 0,
        Tile = 1,
    }

    /// `tt::tt_metal::TensorMemoryLayout`.
    #[derive(Debug)]
    #[repr(u8)]
    enum TensorMemoryLayout {
        Interleaved = 0,
        HeightSharded = 2,
        WidthSharded = 3,
        BlockSharded = 4,
    }

    /// `tt::tt_metal::BufferType` (DRAM and L1 only).
    #[derive(Debug)]
    #[repr(u8)]
    enum BufferType {
        Dram = 0,
        L1 = 1,
    }

    /// `tt::tt_metal::ShardOrientation`.
    #[derive(Debug)]
    #[repr(u8)]
    enum ShardOrientation {
        RowMajor = 0,
        ColMajor = 1,
    }

    /// `tt::tt_metal::MathFidelity`.
    #[derive(Debug)]
    #[repr(u8)]
    enum MathFidelity {
        LoFi = 0,
        HiFi2 = 2,
        HiFi3 = 3,
        HiFi4 = 4,
    }

    /// The unary ops the bridge knows; mapped to `UnaryOpType` by name in the TT-NN backend.
    #[derive(Debug)]
    #[repr(u8)]
    enum UnaryOp {
        None = 0,
        Relu = 1,
        Silu = 2,
        Gelu = 3,
        Sigmoid = 4,
    }

    /// Which TT-NN program-config struct a `MatmulConfig` stands for.
    #[derive(Debug)]
    #[repr(u8)]
    enum MatmulKind {
        MultiCore = 0,
        Reuse = 1,
        MultiCast2D = 2,
        MultiCast1D = 3,
        DramSharded = 4,
    }

    /// Chip architecture.
    #[derive(Debug)]
    #[repr(u8)]
    enum Arch {
        Grayskull = 0,
        WormholeB0 = 1,
        Blackhole = 2,
    }

    /// The device the host backend emulates (and the TT-NN backend checks the real one against).
    #[derive(Debug, Clone)]
    struct DeviceDesc {
        name: String,
        arch: Arch,
        grid_x: u32,
        grid_y: u32,
        l1_bytes_per_core: u64,
        l1_reserved_bytes: u64,
        dram_banks: u32,
        dram_bytes: u64,
    }

    /// `ShardSpec` with its grid as `num_cores_to_corerangeset(num_cores, bbox, row_wise)`.
    #[derive(Debug, Clone, Copy)]
    struct ShardSpecDesc {
        start_x: u32,
        start_y: u32,
        end_x: u32,
        end_y: u32,
        num_cores: u32,
        shape_h: u32,
        shape_w: u32,
        orientation: ShardOrientation,
    }

    /// `MemoryConfig`.
    #[derive(Debug, Clone, Copy)]
    struct MemConfig {
        layout: TensorMemoryLayout,
        buffer: BufferType,
        has_shard: bool,
        shard: ShardSpecDesc,
    }

    /// `ComputeKernelConfig`.
    #[derive(Debug, Clone, Copy)]
    struct ComputeConfig {
        math_fidelity: MathFidelity,
        math_approx_mode: bool,
        fp32_dest_acc_en: bool,
        packer_l1_acc: bool,
        dst_full_sync_en: bool,
    }

    /// `UnaryWithParam` (op `None` = absent).
    #[derive(Debug, Clone, Copy)]
    struct Activation {
        op: UnaryOp,
        has_param: bool,
        param: f32,
    }

    /// Every matmul program-config family, flattened; fields a family lacks are ignored.
    #[derive(Debug, Clone, Copy)]
    struct MatmulConfig {
        kind: MatmulKind,
        grid_x: u32,
        grid_y: u32,
        in0_block_w: u32,
        out_subblock_h: u32,
        out_subblock_w: u32,
        out_block_h: u32,
        out_block_w: u32,
        per_core_m: u32,
        per_core_n: u32,
        transpose_mcast: bool,
        fuse_batch: bool,
        mcast_in0: bool,
        fused_activation: Activation,
    }

    /// `ttnn::prim::LayerNormProgramConfig`: the default or the sharded multi-core variant.
    #[derive(Debug, Clone, Copy)]
    struct NormConfig {
        /// `LayerNormShardedMultiCoreProgramConfig` (else `LayerNormDefaultProgramConfig`).
        sharded: bool,
        grid_x: u32,
        grid_y: u32,
        subblock_w: u32,
        block_h: u32,
        block_w: u32,
        inplace: bool,
        legacy_reduction: bool,
        legacy_rsqrt: bool,
        use_welford: bool,
    }

    /// `ttnn::operations::transformer::SDPAProgramConfig` (q/k chunk sizes in rows).
    #[derive(Debug, Clone, Copy)]
    struct SdpaConfig {
        grid_x: u32,
        grid_y: u32,
        q_chunk_size: u32,
        k_chunk_size: u32,
        exp_approx_mode: bool,
        max_cores_per_head_batch: u32,
    }

    /// Where one shard of a sharded tensor lives: its core and the rows / columns of the
    /// tensor's physical 2D shape it holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct ShardPlacement {
        /// Core column (DRAM bank for DRAM shards).
        core_x: u32,
        /// Core row.
        core_y: u32,
        /// First physical row the shard holds.
        row0: u32,
        /// First physical column the shard holds.
        col0: u32,
        /// Shard height.
        rows: u32,
        /// Shard width.
        cols: u32,
    }

    /// The three tensors `nlp_create_qkv_heads` returns.
    struct QkvHeads {
        q: UniquePtr<Tensor>,
        k: UniquePtr<Tensor>,
        v: UniquePtr<Tensor>,
    }

    unsafe extern "C++" {
        include!("tttv2-sys/include/tttv2/shim.h");

        /// An open device (host: an emulated one).
        type Device;
        /// A tensor on a device.
        type Tensor;

        /// `"host"` or `"ttnn"`.
        fn backend_name() -> String;
        /// Opens device `device_id` described by `desc`.
        fn open_device(desc: &DeviceDesc, device_id: u32) -> Result<UniquePtr<Device>>;
        /// The description of the opened device (as queried from it).
        fn device_desc(device: &Device) -> DeviceDesc;

        /// Uploads row-major f32 `data` of logical `shape`, converting to `dtype` and `layout`.
        fn tensor_from_f32(
            device: &Device,
            data: &[f32],
            shape: &[u32],
            dtype: DataType,
            layout: Layout,
            mem: &MemConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// A tensor of zeros (`ttnn::zeros`): the KV cache is created this way, without
        /// uploading a host buffer of zeros.
        fn tensor_zeros(
            device: &Device,
            shape: &[u32],
            dtype: DataType,
            layout: Layout,
            mem: &MemConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// Reads a tensor back as logical row-major f32.
        fn tensor_to_f32(tensor: &Tensor) -> Result<Vec<f32>>;
        /// Logical shape.
        fn tensor_shape(tensor: &Tensor) -> Vec<u32>;
        /// dtype.
        fn tensor_dtype(tensor: &Tensor) -> DataType;
        /// Layout.
        fn tensor_layout(tensor: &Tensor) -> Layout;
        /// Memory config.
        fn tensor_memory_config(tensor: &Tensor) -> MemConfig;

        /// `ttnn::matmul(a, b, memory_config, dtype, program_config, compute_kernel_config)`.
        fn matmul(
            a: &Tensor,
            b: &Tensor,
            mem: &MemConfig,
            dtype: DataType,
            program_config: &MatmulConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::linear` with a bias.
        fn linear(
            a: &Tensor,
            b: &Tensor,
            bias: &Tensor,
            mem: &MemConfig,
            dtype: DataType,
            program_config: &MatmulConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::add(a, b)`.
        fn add(a: &Tensor, b: &Tensor, mem: &MemConfig, dtype: DataType) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::silu(a)`.
        fn silu(a: &Tensor, mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::rms_norm(x, epsilon, weight, .., mem, program_config, compute)`.
        fn rms_norm(
            x: &Tensor,
            epsilon: f32,
            weight: &Tensor,
            program_config: &NormConfig,
            mem: &MemConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::multiply(a, b, dtype, mem, .., lhs_activations = [lhs_activation])`.
        fn multiply(
            a: &Tensor,
            b: &Tensor,
            mem: &MemConfig,
            dtype: DataType,
            lhs_activation: UnaryOp,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::gelu(a, fast_and_approximate_mode)`.
        fn gelu(a: &Tensor, fast_and_approximate: bool, mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::layer_norm(x, epsilon, weight, bias)`; `weight` / `bias` may be null.
        unsafe fn layer_norm(
            x: &Tensor,
            epsilon: f32,
            weight: *const Tensor,
            bias: *const Tensor,
            mem: &MemConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::scale_mask_softmax(x, scale, mask, mem, is_causal_mask)` over the last dim;
        /// `mask` may be null (then `causal` masks keys after the query).
        unsafe fn softmax(
            x: &Tensor,
            scale: f32,
            mask: *const Tensor,
            causal: bool,
            mem: &MemConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;

        /// Uploads UINT32 data (token ids).
        fn tensor_from_u32(
            device: &Device,
            data: &[u32],
            shape: &[u32],
            layout: Layout,
            mem: &MemConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// Reads a UINT32 tensor back.
        fn tensor_to_u32(tensor: &Tensor) -> Result<Vec<u32>>;
        /// The shards of a sharded tensor, in shard order (empty when interleaved).
        fn tensor_shards(tensor: &Tensor) -> Vec<ShardPlacement>;
        /// The values one core's shard buffer holds (`rows x cols`, padding included).
        fn tensor_shard_values(tensor: &Tensor, index: u32) -> Result<Vec<f32>>;
        /// The device pages of the tensor as 32-bit words (diagnostic; host backend).
        fn tensor_raw_words(tensor: &Tensor) -> Result<Vec<u32>>;
        /// `ttnn::typecast(x, dtype, mem)`.
        fn typecast(x: &Tensor, dtype: DataType, mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::to_layout(x, layout, dtype, mem)` (tilize / untilize).
        fn to_layout(x: &Tensor, layout: Layout, dtype: DataType, mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::to_memory_config(x, mem)` (interleaved <-> sharded, L1 <-> DRAM).
        fn to_memory_config(x: &Tensor, mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::slice(x, begins, ends, step = 1)`: the sub-tensor `begins[i]..ends[i]` of each dim.
        fn slice(x: &Tensor, begins: &[u32], ends: &[u32], mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::reshape(x, shape)`: the same values under another logical shape of equal volume.
        fn reshape(x: &Tensor, shape: &[u32], mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// Packs row-major `rows x cols` floats as tt-metal's `pack_as_bfp{8,4}_tiles` does.
        fn pack_block_float(data: &[f32], rows: u32, cols: u32, dtype: DataType) -> Result<Vec<u32>>;
        /// Unpacks block-float words back to row-major floats.
        fn unpack_block_float(words: &[u32], rows: u32, cols: u32, dtype: DataType) -> Result<Vec<f32>>;
        /// The host sgemm: row-major `c = a * b` (m x k times k x n); `num_threads` 0 = all cores.
        fn host_sgemm(m: u32, n: u32, k: u32, a: &[f32], b: &[f32], c: &mut [f32], num_threads: u32) -> Result<()>;
        /// Host backend: which matmul implementation the calling thread uses (0 = automatic,
        /// 1 = the general per-region path, 2 = the small-M path, 3 = the prepared-weight path for
        /// any M). Tests and benches only.
        fn host_set_matmul_path(path: u32) -> Result<()>;
        /// Host backend: how many times the calling thread has gathered a sharded tensor's shards
        /// into one buffer (0 on the TT-NN backend). Tests only.
        fn host_sharded_gathers() -> u64;

        /// `ttnn::embedding(ids, weight, layout, dtype, mem)`.
        fn embedding(
            ids: &Tensor,
            weight: &Tensor,
            mem: &MemConfig,
            dtype: DataType,
            layout: Layout,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::experimental::rotary_embedding_llama(x, cos, sin, trans_mat, is_decode_mode)`.
        fn rotary_embedding_llama(
            x: &Tensor,
            cos: &Tensor,
            sin: &Tensor,
            trans_mat: &Tensor,
            is_decode: bool,
            mem: &MemConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::transformer::scaled_dot_product_attention`; `mask` may be null.
        unsafe fn sdpa(
            q: &Tensor,
            k: &Tensor,
            v: &Tensor,
            mask: *const Tensor,
            is_causal: bool,
            has_scale: bool,
            scale: f32,
            program_config: &SdpaConfig,
            mem: &MemConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::transformer::scaled_dot_product_attention_decode` with `cur_pos` per user.
        fn sdpa_decode(
            q: &Tensor,
            k: &Tensor,
            v: &Tensor,
            cur_pos: &[u32],
            has_scale: bool,
            scale: f32,
            program_config: &SdpaConfig,
            mem: &MemConfig,
            compute: &ComputeConfig,
        ) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::update_cache(cache, input, update_idx, batch_offset)`, in place.
        fn update_cache(cache: Pin<&mut Tensor>, input: &Tensor, update_idx: u32, batch_offset: u32) -> Result<()>;
        /// `ttnn::fill_cache(cache, input, batch_idx, update_idx)`, in place.
        fn fill_cache(cache: Pin<&mut Tensor>, input: &Tensor, batch_idx: u32, update_idx: u32) -> Result<()>;
        /// `ttnn::experimental::paged_update_cache(cache, input, update_idxs)` without a page table.
        fn update_cache_per_user(cache: Pin<&mut Tensor>, input: &Tensor, update_idxs: &[u32]) -> Result<()>;
        /// `ttnn::experimental::nlp_create_qkv_heads` (prefill).
        fn nlp_create_qkv_heads(
            x: &Tensor,
            num_q_heads: u32,
            num_kv_heads: u32,
            transpose_k: bool,
            mem: &MemConfig,
        ) -> Result<QkvHeads>;
        /// `ttnn::experimental::nlp_create_qkv_heads_decode`.
        fn nlp_create_qkv_heads_decode(x: &Tensor, num_q_heads: u32, num_kv_heads: u32) -> Result<QkvHeads>;
        /// `ttnn::experimental::nlp_concat_heads`.
        fn nlp_concat_heads(x: &Tensor, mem: &MemConfig) -> Result<UniquePtr<Tensor>>;
        /// `ttnn::experimental::nlp_concat_heads_decode`.
        fn nlp_concat_heads_decode(x: &Tensor, num_heads: u32) -> Result<UniquePtr<Tensor>>;
    }
}

// SAFETY: both backends keep a tensor's state behind the opaque C++ object and never touch it
// from another thread on their own; the C++ types are immutable after creation except through
// `&mut`, which Rust's borrow rules already serialise.
unsafe impl Send for ffi::Tensor {}
unsafe impl Sync for ffi::Tensor {}
unsafe impl Send for ffi::Device {}
unsafe impl Sync for ffi::Device {}
