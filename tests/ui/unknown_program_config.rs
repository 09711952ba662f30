use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 1024, out = 1024, program_config = MatmulMultiCoreReuseMulticast1DConfig {
        in0_block_w: 2,
    })]
    proj: Linear,
}

fn main() {}
