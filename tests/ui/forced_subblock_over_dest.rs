use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", batch = 128)]
struct Mlp {
    #[linear(in = 1024, out = 1024, program_config = MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: (8, 4),
        in0_block_w: 4,
        out_subblock_h: 1,
        out_subblock_w: 16,
        per_core_M: 1,
        per_core_N: 4,
    })]
    proj: Linear,
}

fn main() {}
