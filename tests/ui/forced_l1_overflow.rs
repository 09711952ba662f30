use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", batch = 1024, policy = "accuracy")]
struct Mlp {
    #[linear(in = 8192, out = 8192, program_config = MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: (8, 8),
        in0_block_w: 32,
        out_subblock_h: 1,
        out_subblock_w: 4,
        per_core_M: 4,
        per_core_N: 32,
    })]
    proj: Linear,
}

fn main() {}
