use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", batch = 128)]
struct Mlp {
    #[linear(in = 4096, out = 4096, program_config = MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
        in0_block_w: 8,
        per_core_M: 4,
        per_core_N: 4,
    })]
    proj: Linear,
}

fn main() {}
