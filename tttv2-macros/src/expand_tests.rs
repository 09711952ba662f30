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
    assert!(flat.contains("let up = ops::linear(x, &self.up.weight, self.up.bias.as_ref(), &mlp_plan::UP)?"), "{flat}");
    assert!(flat.contains("drop(up); Ok(down)"), "{flat}");
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

/// A small Llama declared field by field, for prefill of one 128-token prompt (a plan the runtime
/// executes, so the expansion has the typed `PREFILL` configs).
fn small_llama(args: proc_macro2::TokenStream, tied: bool, arch: impl Fn(tttv2_core::device::Arch) -> bool) -> String {
    pretty(expand_with(
        args,
        quote! {
            pub struct SmallLlama {
                #[embedding(vocab = 2048, dim = 512)]
                embed_tokens: Embedding,
                #[decoder(repeat = 4, eps = 1e-5,
                          attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
                          mlp(intermediate = 1536, activation = "silu"))]
                layers: Decoder,
                #[rms_norm(dim = 512, eps = 1e-5)]
                norm: RmsNorm,
                #[lm_head(vocab = 2048, tied = #tied)]
                lm_head: LmHead,
            }
        },
        arch,
    ))
}

fn flat(code: &str) -> String {
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of `pub const FIELD: LinearConfig = LinearConfig { … }` (up to its closing
/// `dtype: …,`) in the emitted plan module.
fn linear_config<'a>(code: &'a str, field: &str) -> &'a str {
    let start = code
        .find(&format!("pub const {}: LinearConfig = LinearConfig {{", field.to_uppercase()))
        .unwrap_or_else(|| panic!("no `{field}` config"));
    let len = code[start..].find("dtype: DataType::").and_then(|i| code[start + i..].find(',').map(|j| i + j)).unwrap();
    &code[start..start + len]
}

#[test]
fn devices_emit_one_plan_module_per_enabled_device() {
    use tttv2_core::device::Arch;
    let args = quote!(devices = ["wormhole_b0", "blackhole"], mode = "prefill", batch = 1, seq_len = 128);
    let both = small_llama(args.clone(), false, |_| true);
    assert!(!both.contains("compile_error"), "{both}");
    assert!(both.contains("pub mod wormhole_b0 {") && both.contains("pub mod blackhole {"));
    assert!(both.contains("DeviceProfile::N150") && both.contains("DeviceProfile::P150"));
    assert!(both.contains("pub use wormhole_b0::*;"), "the first listed device backs the methods");
    // Only the devices whose tttv2 feature is on are planned and emitted.
    let wh = small_llama(args.clone(), false, |a| a == Arch::WormholeB0);
    assert!(wh.contains("pub mod wormhole_b0 {") && !wh.contains("pub mod blackhole") && !wh.contains("P150"));
    let bh = small_llama(args.clone(), false, |a| a == Arch::Blackhole);
    assert!(bh.contains("pub use blackhole::*;") && !bh.contains("pub mod wormhole_b0") && !bh.contains("N150"));
    assert!(!bh.contains("compile_error"));
    // None on: one error naming the features, next to the full expansion.
    let none = small_llama(args, false, |_| false);
    assert_eq!(none.matches("compile_error").count(), 1, "{none}");
    assert!(none.contains("[device-feature] none of `devices` is compiled in"));

    // A chain of linears: the same layout, snapshotted.
    let code = pretty(expand_with(
        quote!(devices = ["wormhole_b0", "blackhole"], batch = 32),
        quote! {
            pub struct Mlp {
                #[linear(in = 1024, out = 4096, activation = "silu")]
                up: Linear,
                #[linear(in = 4096, out = 1024)]
                down: Linear,
            }
        },
        |_| true,
    ));
    snapshot("mlp_devices", &code);
}

/// Dead-code elimination: only what the model uses is emitted.
#[test]
fn unused_bias_and_untied_lm_head_weights_are_not_emitted() {
    // A linear without bias: its config says so and forward passes no bias.
    let code = pretty(expand_with(
        quote!(device = "wormhole_b0", batch = 32),
        quote! {
            pub struct Mlp {
                #[linear(in = 1024, out = 4096, activation = "silu", bias = true)]
                up: Linear,
                #[linear(in = 4096, out = 1024)]
                down: Linear,
            }
        },
        |_| true,
    ));
    let f = flat(&code);
    let down = &f[f.find("pub const DOWN: LinearConfig").unwrap()..];
    assert!(down.contains("bias: false"), "{down}");
    let tight: String = f.split_whitespace().collect();
    assert!(tight.contains("letdown=ops::linear(&up,&self.down.weight,None,&mlp_plan::DOWN)?"), "{f}");
    assert!(!f.contains("self.down.bias"), "no bias argument for a layer without bias");
    assert!(f.contains("self.up.bias.as_ref()"), "the layer with bias keeps it");

    // A tied LM head reads the embedding table: no `lm_head.weight` anywhere in the expansion.
    let tied = small_llama(quote!(device = "wormhole_b0", mode = "prefill", batch = 1, seq_len = 128), true, |_| true);
    assert!(!tied.contains("lm_head.weight"));
    let untied =
        small_llama(quote!(device = "wormhole_b0", mode = "prefill", batch = 1, seq_len = 128), false, |_| true);
    assert!(untied.contains("lm_head.weight"), "the check above can fail");
    // No Llama op consumes a bias (Llama projections have none).
    assert!(!untied.contains(".bias"), "no bias weight is named in the plan");
    assert!(!untied.contains("bias: true"));
}

/// Fusions: QKV as one matmul; SiLU fused into the matmul program config (chain of linears) or
/// into the multiply of SwiGLU (Llama), never a separate op.
#[test]
fn qkv_is_one_matmul_and_silu_is_fused() {
    let code = small_llama(quote!(device = "wormhole_b0", mode = "prefill", batch = 1, seq_len = 128), false, |_| true);
    let f = flat(&code);
    let (heads, kv_heads, head_dim) = (8, 2, 64);
    let wqkv = linear_config(&f, "wqkv");
    assert!(wqkv.contains(&format!("k: 512, n: {},", (heads + 2 * kv_heads) * head_dim)), "{wqkv}");
    // One op per layer consumes q_proj, k_proj and v_proj together; none of them alone.
    let manifest = manifest_of(&code);
    let ops = manifest["ops"].as_array().unwrap();
    let qkv: Vec<_> = ops
        .iter()
        .filter(|o| o["weights"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("q_proj")))
        .collect();
    assert_eq!(qkv.len(), 4, "one QKV matmul per layer");
    for op in qkv {
        let w: Vec<&str> = op["weights"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[1].ends_with("k_proj.weight") && w[2].ends_with("v_proj.weight"));
    }
    // SwiGLU: gate and up matmuls, then one multiply (the SiLU runs on its first input inside
    // the multiply); no standalone activation op.
    let kinds: Vec<&str> = ops.iter().filter(|o| o["layer"] == 0).map(|o| o["op"].as_str().unwrap()).collect();
    assert!(!kinds.iter().any(|k| k.contains("silu") || k.contains("unary") || k.contains("activation")), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "multiply").count(), 1, "{kinds:?}");

    // A chain of linears: the activation is the matmul's `fused_activation`.
    let mlp = flat(&pretty(expand_with(
        quote!(device = "wormhole_b0", batch = 32),
        quote! {
            pub struct Mlp {
                #[linear(in = 1024, out = 4096, activation = "silu")]
                up: Linear,
                #[linear(in = 4096, out = 1024)]
                down: Linear,
            }
        },
        |_| true,
    )));
    let up = &mlp[mlp.find("pub const UP").unwrap()..mlp.find("pub const DOWN").unwrap()];
    assert!(up.contains("fused_activation: Some(UnaryWithParam::new(UnaryOpType::Silu))"), "{up}");
    let down = &mlp[mlp.find("pub const DOWN").unwrap()..];
    assert!(down.contains("fused_activation: None"));
    assert!(!mlp.contains("ops::silu") && !mlp.contains("ops::unary"), "no separate activation call in forward");
}

/// Constant folding: everything the plan fixes is a `const` in the expansion, computed by the
/// macro; nothing is planned or looked up at run time.
#[test]
fn plan_values_are_folded_into_consts() {
    let code = small_llama(quote!(device = "wormhole_b0", mode = "prefill", batch = 1, seq_len = 128), false, |_| true);
    let f = flat(&code);
    let head = "pub const ROPE_INV_FREQ: [f32; 32] = [";
    let at = f.find(head).unwrap_or_else(|| panic!("no folded RoPE frequencies")) + head.len();
    // RoPE frequencies are folded at build time: θ_i = 10000^(-2i/64), i < 32.
    let freqs: Vec<f64> = f[at..at + f[at..].find(']').unwrap()]
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_end_matches("f32").parse().unwrap())
        .collect();
    assert_eq!(freqs.len(), 32);
    for (i, v) in freqs.iter().enumerate() {
        let want = 10000f64.powf(-(2.0 * i as f64) / 64.0);
        assert!((v - want).abs() <= want * 1e-7, "θ_{i} = {v}, want {want}");
    }
    // So is SDPA's scale, 1/sqrt(64), passed to the one SDPA call of the layer function.
    assert_eq!(f.matches("Some(0.125f32)").count(), 1, "{f}");
    assert!(f.contains("0.00001f32"));
    // Four identical layers share one layer function, called in a loop over the layers.
    assert_eq!(f.matches("fn prefill_128_layer(").count(), 1);
    assert!(f.contains("for layer in &mut self.layers[0..4]"));
    // The program only passes the consts along: no planner, no config parsing, no lookups.
    let impl_block = &f[f.find("impl SmallLlama").unwrap()..];
    assert!(!impl_block.contains("plan_llama") && !impl_block.contains("::plan::"));
    assert!(impl_block.contains("&prefill_128::WQKV"));
}

/// Prefill buckets that differ only in configs share one function, generic over the bucket trait;
/// the buckets' own consts are only the configs they differ in.
#[test]
fn buckets_differing_only_in_configs_share_one_function() {
    let code = small_llama(quote!(device = "wormhole_b0", mode = "decode", batch = 4, seq_len = 256), false, |_| true);
    let f = flat(&code);
    assert_eq!(f.matches("fn prefill_bucket<B: ").count(), 1, "{f}");
    assert_eq!(f.matches("fn prefill_layer<B: ").count(), 1);
    assert!(!f.contains("fn prefill_128") && !f.contains("fn prefill_256"));
    assert!(f.contains(".prefill_bucket::<small_llama_plan::Prefill128>(device, user, tokens);"));
    assert!(f.contains("impl PrefillBucket for Prefill128 {") && f.contains("impl PrefillBucket for Prefill256 {"));
    // The bucket's length where the plan has it, not a const per use.
    assert!(f.contains("&[1, 1, B::LEN, 512]") && f.contains("m: Self::LEN,"));
    assert!(!f.contains("WQKV_M:"));
    // A config the buckets agree on is written once: the decode step's LM head and the trait's.
    assert_eq!(f.matches("const LM_HEAD: LinearConfig").count(), 2);
    assert!(f.contains("h = Self::prefill_layer::<B>(layer, h, &self.prefill_ropes[B::INDEX], user)?;"));
}

/// The manifest embedded in an expansion.
fn manifest_of(code: &str) -> serde_json::Value {
    let line = code.lines().find(|l| l.trim_start().starts_with("pub const MANIFEST_JSON: &str = ")).unwrap();
    let lit = line.trim_start().trim_start_matches("pub const MANIFEST_JSON: &str = ").trim_end_matches(';');
    serde_json::from_str(&syn::parse_str::<syn::LitStr>(lit).unwrap().value()).unwrap()
}

/// Every key of the field-by-field declaration reaches the planned config: the manifest's `model`
/// section equals the config written out by hand, with every value away from its default. A key
/// parsed and then dropped (as `qkv_bias` once was, running a Qwen2 without its biases) fails here;
/// a new `LlamaConfig` field fails to compile here until this test says what declares it.
#[test]
fn every_declared_field_reaches_the_plan() {
    use tttv2_core::hf::{LlamaConfig, RopeScaling};
    let code = pretty(expand_with(
        quote!(device = "wormhole_b0", mode = "decode", batch = 1, seq_len = 1024),
        quote! {
            pub struct EveryField {
                #[embedding(vocab = 2048, dim = 512)]
                embed_tokens: Embedding,
                #[decoder(repeat = 3, eps = 1e-6, max_position_embeddings = 32768,
                          attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 500000.0,
                                    rope_scaling(factor = 8.0, low_freq_factor = 2.0, high_freq_factor = 6.0,
                                                 original_max_position_embeddings = 4096),
                                    qkv_bias = true, sliding_window = 2048),
                          mlp(intermediate = 1536, activation = "silu"))]
                layers: Decoder,
                #[rms_norm(dim = 512, eps = 1e-6)]
                norm: RmsNorm,
                #[lm_head(vocab = 2048, tied = true)]
                lm_head: LmHead,
            }
        },
        |_| true,
    ));
    assert!(!code.contains("compile_error"), "{code}");
    let planned: LlamaConfig = serde_json::from_value(manifest_of(&code)["model"].clone()).unwrap();
    let declared = LlamaConfig {
        hidden_size: 512,
        intermediate_size: 1536,
        num_attention_heads: 8,
        num_key_value_heads: 2,
        head_dim: 64,
        num_hidden_layers: 3,
        vocab_size: 2048,
        rms_norm_eps: 1e-6,
        rope_theta: 500_000.0,
        rope_scaling: Some(RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 2.0,
            high_freq_factor: 6.0,
            original_max_position_embeddings: 4096,
        }),
        tie_word_embeddings: true,
        max_position_embeddings: 32768,
        // Not declarable: neither changes what the program computes (a checkpoint's dtype is
        // converted at load; token ids are the chat layer's).
        torch_dtype: None,
        bos_token_id: Vec::new(),
        eos_token_id: Vec::new(),
        sliding_window: Some(2048),
        qkv_bias: true,
    };
    assert_eq!(planned, declared);
}

/// The `pub fn` signatures of the inherent impls of `ty` (the plan module's too, as `plan::…`).
fn public_signatures(tokens: proc_macro2::TokenStream, ty: &str) -> Vec<String> {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a Rust file");
    let mut sigs = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Impl(i)
                if i.trait_.is_none() && {
                    let t = &i.self_ty;
                    quote!(#t).to_string() == ty
                } =>
            {
                for f in &i.items {
                    if let syn::ImplItem::Fn(f) = f
                        && matches!(f.vis, syn::Visibility::Public(_))
                    {
                        let sig = &f.sig;
                        sigs.push(quote!(#sig).to_string());
                    }
                }
            }
            syn::Item::Mod(m) => {
                for f in m.content.iter().flat_map(|(_, items)| items) {
                    if let syn::Item::Fn(f) = f {
                        let sig = &f.sig;
                        sigs.push(format!("plan::{}", quote!(#sig)));
                    }
                }
            }
            _ => {}
        }
    }
    sigs.sort();
    sigs
}

/// A declaration with errors expands to a stub with exactly the public methods the real
/// expansion has, so code using the model resolves alike and shows no errors of its own.
#[test]
fn the_stub_has_the_methods_of_the_expansion() {
    let llama = |batch: u32, mode: &str| {
        let seq = if mode == "decode" { quote!(seq_len = 256) } else { quote!(seq_len = 128) };
        expand_with(
            quote!(device = "wormhole_b0", mode = #mode, batch = #batch, #seq),
            quote! {
                pub struct TinyLlama {
                    #[embedding(vocab = 4096, dim = 512)]
                    embed_tokens: Embedding,
                    #[decoder(repeat = 2, attention(heads = 8, kv_heads = 2), mlp(intermediate = 1536))]
                    layers: Decoder,
                    #[rms_norm(dim = 512)]
                    norm: RmsNorm,
                    #[lm_head(vocab = 4096)]
                    lm_head: LmHead,
                }
            },
            |_| true,
        )
    };
    for (mode, bad_batch) in [("decode", 64), ("prefill", 4)] {
        let (real, stub) = (llama(1, mode), llama(bad_batch, mode));
        assert!(stub.to_string().contains("compile_error"), "{mode}: batch {bad_batch} is an error");
        assert!(!real.to_string().contains("compile_error"), "{mode}: batch 1 is not");
        let real = public_signatures(real, "TinyLlama");
        let stub = public_signatures(stub, "TinyLlama");
        let expected = if mode == "decode" { 8 } else { 6 }; // load, prefill, (decode, generate,) weight_bytes, manifest, graph, plan::model_config
        assert_eq!(real.len(), expected, "{mode}: {real:?}");
        assert_eq!(stub, real, "{mode}");
    }
    let mlp = |out: proc_macro2::TokenStream| {
        expand_with(
            quote!(device = "wormhole_b0", batch = 32),
            quote! {
                pub struct Mlp {
                    #[linear(in = 1024, #out)]
                    up: Linear,
                }
            },
            |_| true,
        )
    };
    let (real, stub) = (mlp(quote!(out = 4096)), mlp(quote!()));
    assert!(stub.to_string().contains("compile_error"));
    // The MLP's plan module has no functions; compare the impls.
    let strip = |v: Vec<String>| v.into_iter().filter(|s| !s.starts_with("plan::")).collect::<Vec<_>>();
    assert_eq!(strip(public_signatures(stub, "Mlp")), strip(public_signatures(real, "Mlp")));
}
