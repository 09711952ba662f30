use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Tiny {
    #[embedding(vocab = 4096, dim = 512)]
    embed_tokens: Embedding,
    #[decoder(repeat = 2, attention(heads = 8), mlp(intermediate = 1536))]
    layers: Decoder,
}

fn main() {}
