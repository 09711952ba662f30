use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 1024, out = 1024, activation = "silu", program_config = MatmulMultiCoreReuseProgramConfig {
        compute_with_storage_grid_size: (8, 8),
        in0_block_w: 2,
        out_subblock_h: 1,
        out_subblock_w: 8,
        per_core_M: 1,
        per_core_N: 32,
    })]
    proj: Linear,
}

fn main() {}
