use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 1024, out = 1024, program_config = MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: (8, 8),
        in0_block_w: 2,
        out_subblock_h: 1,
        out_subblock_w: 1,
        per_core_M: 1,
        per_core_N: 1,
    })]
    proj: Linear,
}

fn main() {}
