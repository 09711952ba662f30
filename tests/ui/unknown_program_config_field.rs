use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 1024, out = 1024, program_config = MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
        in0_block_w: 2,
        per_core_M: 1,
        per_core_N: 4,
        out_subblock_w: 4,
    })]
    proj: Linear,
}

fn main() {}
