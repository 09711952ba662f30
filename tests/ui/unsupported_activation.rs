use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", mode = "decode", batch = 1)]
struct Tiny {
    #[embedding(vocab = 4096, dim = 512)]
    embed_tokens: Embedding,
    #[decoder(repeat = 2, attention(heads = 8), mlp(intermediate = 1536, activation = "gelu"))]
    layers: Decoder,
    #[rms_norm(dim = 512)]
    norm: RmsNorm,
    #[lm_head(vocab = 4096)]
    lm_head: LmHead,
}

fn main() {}
