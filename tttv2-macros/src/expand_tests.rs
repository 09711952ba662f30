//! Snapshots of the expansion, pretty-printed, so every change to the generated code shows up in
//! review. The snapshots live in `tests/expanded/` at the repository root.

use quote::quote;

use crate::emit::expand_with;

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a Rust file");
    prettyplease::unparse(&file)
}

fn snapshot(name: &str, code: &str) {
    insta::with_settings!({ snapshot_path => "../../tests/expanded", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, code);
    });
}

#[test]
fn mlp_expansion() {
    let code = pretty(expand_with(
        quote!(device = "wormhole_b0", batch = 32),
        quote! {
            /// Up-projection with a fused SiLU, then down-projection.
            pub struct Mlp {
                #[linear(in = 1024, out = 4096, activation = "silu", bias = true)]
                up: Linear,
                #[linear(in = 4096, out = 1024)]
                down: Linear,
            }
        },
        |_| true,
    ));
    snapshot("mlp", &code);
    // The configs are consts and forward is a straight line of op calls.
    assert!(code.contains("pub const UP: LinearConfig = LinearConfig {"));
    let flat: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("::tttv2::ops::linear( x, &self.up.weight, self.up.bias.as_ref(), &mlp_plan::UP, )?"), "{flat}");
    assert!(!code.contains("match "), "no runtime dispatch on config");
}

#[test]
fn errors_expand_to_compile_errors_and_a_stub() {
    let code = expand_with(
        quote!(device = "wormhole_b0"),
        quote! {
            pub struct Mlp {
                #[linear(in = 64)]
                up: Linear,
            }
        },
        |_| true,
    )
    .to_string();
    assert!(code.contains("compile_error"));
    assert!(code.contains("pub struct Mlp"), "the stub keeps the type so other code still resolves");
}

#[test]
fn two_layer_llama_expansion() {
    let code = pretty(expand_with(
        quote!(device = "wormhole_b0", mode = "decode", batch = 8, seq_len = 256),
        quote! {
            /// A 2-layer Llama declared field by field.
            pub struct TinyLlama {
                #[embedding(vocab = 4096, dim = 512)]
                embed_tokens: Embedding,
                #[decoder(repeat = 2, eps = 1e-5,
                          attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
                          mlp(intermediate = 1536, activation = "silu"))]
                layers: Decoder,
                #[rms_norm(dim = 512, eps = 1e-5)]
                norm: RmsNorm,
                #[lm_head(vocab = 4096, tied = false)]
                lm_head: LmHead,
            }
        },
        |_| true,
    ));
    assert!(code.contains("pub const MANIFEST_JSON: &str"));
    // The JSON and DOT blobs are snapshotted on their own, pretty-printed.
    let mut elided = String::new();
    let mut manifest = String::new();
    for line in code.lines() {
        match line.trim_start().split_once(": &str = ") {
            Some((decl, value)) => {
                if decl.ends_with("MANIFEST_JSON") {
                    let unquoted: String = syn::parse_str::<syn::LitStr>(value.trim_end_matches(';')).unwrap().value();
                    manifest = unquoted;
                }
                elided.push_str(&format!("{}: &str = \"…\";\n", &line[..line.find(": &str = ").unwrap()]));
            }
            None => {
                elided.push_str(line);
                elided.push('\n');
            }
        }
    }
    snapshot("tiny_llama", &elided);
    snapshot("tiny_llama.manifest", &manifest);
}
