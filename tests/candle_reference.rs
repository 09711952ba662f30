//! Tests of the candle Llama reference harness (`tests/support/llama_ref.rs`) that the Llama
//! accuracy tests rely on: the synthetic checkpoint is what it claims to be, candle runs on it
//! deterministically, and candle's Llama computes what a plain f64 Llama written here from the
//! Hugging Face definition computes.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use support::llama_ref::*;

/// Prompt used throughout; ids spread over the tiny vocab.
const PROMPT: [u32; 7] = [1, 17, 200, 3, 99, 42, 250];

fn read_checkpoint(dir: &Path) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(dir.join("model.safetensors")).expect("read model.safetensors");
    let st = SafeTensors::deserialize(&bytes).expect("parse model.safetensors");
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), Dtype::F32, "{name} should be F32");
            let values = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

fn tied_mqa_spec() -> TinyLlamaSpec {
    // A second shape exercising the other branches: tied embeddings, one KV head (MQA), a
    // Llama-3 style theta, a smaller eps and a larger head_dim.
    TinyLlamaSpec {
        hidden: 96,
        intermediate: 256,
        heads: 3,
        kv_heads: 1,
        head_dim: 32,
        layers: 2,
        vocab: 384,
        rms_norm_eps: 1e-6,
        rope_theta: 500_000.0,
        tie_word_embeddings: true,
        max_position_embeddings: 128,
    }
}

// ---------------------------------------------------------------------------------------------
// Checkpoint
// ---------------------------------------------------------------------------------------------

#[test]
fn checkpoint_round_trips_with_hugging_face_names_shapes_and_values() {
    for (spec, seed) in [(TinyLlamaSpec::tiny(), 7u64), (tied_mqa_spec(), 8)] {
        let dir = TempDir::new("candle-ref-ckpt").unwrap();
        write_checkpoint(dir.path(), &spec, seed).unwrap();

        // config.json is a Hugging Face LlamaForCausalLM config.
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
        assert_eq!(config["architectures"], serde_json::json!(["LlamaForCausalLM"]));
        assert_eq!(config["model_type"], "llama");
        assert_eq!(config["torch_dtype"], "float32");
        assert_eq!(config["hidden_size"], spec.hidden);
        assert_eq!(config["intermediate_size"], spec.intermediate);
        assert_eq!(config["num_attention_heads"], spec.heads);
        assert_eq!(config["num_key_value_heads"], spec.kv_heads);
        assert_eq!(config["head_dim"], spec.head_dim);
        assert_eq!(config["num_hidden_layers"], spec.layers);
        assert_eq!(config["vocab_size"], spec.vocab);
        assert_eq!(config["rms_norm_eps"], spec.rms_norm_eps);
        assert_eq!(config["rope_theta"], spec.rope_theta);
        assert_eq!(config["tie_word_embeddings"], spec.tie_word_embeddings);
        assert_eq!(config["max_position_embeddings"], spec.max_position_embeddings);

        // Every expected tensor, nothing else, with the HF [out, in] shapes spelled out here
        // independently of `tensor_shapes`.
        let (h, q, kv, i, v) =
            (spec.hidden, spec.heads * spec.head_dim, spec.kv_heads * spec.head_dim, spec.intermediate, spec.vocab);
        let mut expected: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        expected.insert("model.embed_tokens.weight".into(), vec![v, h]);
        expected.insert("model.norm.weight".into(), vec![h]);
        if !spec.tie_word_embeddings {
            expected.insert("lm_head.weight".into(), vec![v, h]);
        }
        for l in 0..spec.layers {
            for (suffix, shape) in [
                ("self_attn.q_proj.weight", vec![q, h]),
                ("self_attn.k_proj.weight", vec![kv, h]),
                ("self_attn.v_proj.weight", vec![kv, h]),
                ("self_attn.o_proj.weight", vec![h, q]),
                ("mlp.gate_proj.weight", vec![i, h]),
                ("mlp.up_proj.weight", vec![i, h]),
                ("mlp.down_proj.weight", vec![h, i]),
                ("input_layernorm.weight", vec![h]),
                ("post_attention_layernorm.weight", vec![h]),
            ] {
                expected.insert(format!("model.layers.{l}.{suffix}"), shape);
            }
        }
        let stored = read_checkpoint(dir.path());
        let stored_shapes: BTreeMap<String, Vec<usize>> =
            stored.iter().map(|(n, (s, _))| (n.clone(), s.clone())).collect();
        assert_eq!(stored_shapes, expected);
        assert_eq!(stored.contains_key("lm_head.weight"), !spec.tie_word_embeddings);

        // Values: exactly the documented generator, in the documented ranges, not degenerate.
        for (name, (shape, values)) in &stored {
            assert_eq!(values, &synthetic_tensor(seed, name, shape), "{name}");
            assert!(values.iter().all(|x| x.is_finite()), "{name}");
            let distinct = values.iter().map(|x| x.to_bits()).collect::<std::collections::HashSet<_>>().len();
            assert!(distinct > values.len() / 2, "{name} looks degenerate");
            let bound = if shape.len() == 1 {
                assert!(values.iter().all(|&x| (0.9..1.1).contains(&x)), "{name}: norm weights near 1");
                continue;
            } else if name == "model.embed_tokens.weight" {
                1.0
            } else {
                (3.0 / shape[1] as f32).sqrt()
            };
            assert!(values.iter().all(|&x| x.abs() <= bound), "{name}: |w| <= {bound}");
            let max = values.iter().fold(0f32, |m, &x| m.max(x.abs()));
            assert!(max > 0.9 * bound, "{name}: uses its range (max {max}, bound {bound})");
        }
    }
}

#[test]
fn tensors_are_independent_streams_and_seeds_matter() {
    let shape = [8, 8];
    let a = synthetic_tensor(1, "model.layers.0.self_attn.q_proj.weight", &shape);
    assert_eq!(a, synthetic_tensor(1, "model.layers.0.self_attn.q_proj.weight", &shape));
    assert_ne!(a, synthetic_tensor(2, "model.layers.0.self_attn.q_proj.weight", &shape));
    assert_ne!(a, synthetic_tensor(1, "model.layers.0.self_attn.k_proj.weight", &shape));
    // Tying the head must not change any other tensor.
    let mut tied = TinyLlamaSpec::tiny();
    tied.tie_word_embeddings = true;
    let (d1, d2) = (TempDir::new("candle-ref-untied").unwrap(), TempDir::new("candle-ref-tied").unwrap());
    write_checkpoint(d1.path(), &TinyLlamaSpec::tiny(), 5).unwrap();
    write_checkpoint(d2.path(), &tied, 5).unwrap();
    let (untied, tied) = (read_checkpoint(d1.path()), read_checkpoint(d2.path()));
    for (name, t) in &tied {
        assert_eq!(Some(t), untied.get(name), "{name}");
    }
}

#[test]
fn invalid_specs_and_checkpoints_are_errors_not_panics() {
    let dir = TempDir::new("candle-ref-bad").unwrap();
    let mut bad = TinyLlamaSpec::tiny();
    bad.kv_heads = 3; // does not divide 4 heads
    let err = write_checkpoint(dir.path(), &bad, 1).unwrap_err();
    assert!(err.to_string().contains("kv_heads"), "{err}");

    // head_dim that candle would silently ignore.
    let mut odd = TinyLlamaSpec::tiny();
    odd.head_dim = 32; // 4 * 32 != 64
    write_checkpoint(dir.path(), &odd, 1).unwrap();
    let err = CandleLlama::load(dir.path()).err().expect("head_dim mismatch must be refused");
    assert!(err.to_string().contains("head_dim"), "{err}");

    // A checkpoint missing a layer tensor: candle itself would panic in Llama::load.
    let spec = TinyLlamaSpec::tiny();
    write_checkpoint(dir.path(), &spec, 1).unwrap();
    let mut stored = read_checkpoint(dir.path());
    stored.remove("model.layers.1.mlp.up_proj.weight");
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> =
        stored.into_iter().map(|(n, (s, v))| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect())).collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors")).unwrap();
    let err = CandleLlama::load(dir.path()).err().expect("missing tensor must be refused");
    assert!(err.to_string().contains("model.layers.1.mlp.up_proj.weight"), "{err}");

    // Positions beyond the RoPE table and out-of-vocab tokens.
    write_checkpoint(dir.path(), &spec, 1).unwrap();
    let model = CandleLlama::load(dir.path()).unwrap();
    let mut cache = model.new_cache().unwrap();
    assert!(model.forward(&[1, 2], spec.max_position_embeddings - 1, &mut cache).is_err());
    assert!(model.forward(&[spec.vocab as u32], 0, &mut cache).is_err());
    assert!(model.forward(&[], 0, &mut cache).is_err());
}

// ---------------------------------------------------------------------------------------------
// candle runs
// ---------------------------------------------------------------------------------------------

#[test]
fn candle_is_deterministic_in_the_seed() {
    let spec = TinyLlamaSpec::tiny();
    let (a, b, c) = (
        TempDir::new("candle-ref-a").unwrap(),
        TempDir::new("candle-ref-b").unwrap(),
        TempDir::new("candle-ref-c").unwrap(),
    );
    write_checkpoint(a.path(), &spec, 42).unwrap();
    write_checkpoint(b.path(), &spec, 42).unwrap();
    write_checkpoint(c.path(), &spec, 43).unwrap();
    let bytes = |d: &TempDir| std::fs::read(d.path().join("model.safetensors")).unwrap();
    assert_eq!(bytes(&a), bytes(&b), "same seed, same file");
    assert_ne!(bytes(&a), bytes(&c));

    let la = candle_prefill_logits(a.path(), &PROMPT);
    let lb = candle_prefill_logits(b.path(), &PROMPT);
    let lc = candle_prefill_logits(c.path(), &PROMPT);
    assert_eq!(la.len(), spec.vocab);
    assert!(la.iter().all(|x| x.is_finite()));
    assert_eq!(la, lb, "same seed, bit-identical logits");
    let d = max_abs_diff(&la, &lc);
    assert!(d > 0.1, "different seed should give different logits (max diff {d})");
    assert!(pcc(&la, &lc) < 0.9, "different seed should give unrelated logits");
    // The weights keep activations O(1): logits neither vanish nor explode.
    let std = (la.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / la.len() as f64).sqrt();
    assert!((0.1..20.0).contains(&std), "logit rms {std}");
}

#[test]
fn greedy_decode_and_kv_cache_are_consistent() {
    let spec = TinyLlamaSpec::tiny();
    let dir = TempDir::new("candle-ref-greedy").unwrap();
    write_checkpoint(dir.path(), &spec, 3).unwrap();
    let steps = 12;
    let ids = candle_greedy(dir.path(), &PROMPT, steps);
    assert_eq!(ids.len(), steps);
    assert!(ids.iter().all(|&t| (t as usize) < spec.vocab), "{ids:?}");
    assert_eq!(ids, candle_greedy(dir.path(), &PROMPT, steps), "greedy is deterministic");
    assert!(candle_greedy(dir.path(), &PROMPT, 0).is_empty());

    // The first id is the argmax of the prefill logits; each logit vector yields its id.
    let logits = candle_decode_logits(dir.path(), &PROMPT, steps);
    assert_eq!(logits.len(), steps);
    assert_eq!(logits[0], candle_prefill_logits(dir.path(), &PROMPT));
    for (k, l) in logits.iter().enumerate() {
        assert_eq!(argmax(l), Some(ids[k]), "step {k}");
    }

    // Teacher forcing with candle's own ids reproduces the greedy logits.
    let forced = candle_forced_logits(dir.path(), &PROMPT, &ids[..steps - 1]);
    assert_eq!(forced, logits);

    // KV-cache decode at index_pos = n agrees with a fresh prefill of the whole sequence.
    for k in [1, 5, steps - 1] {
        let mut seq = PROMPT.to_vec();
        seq.extend_from_slice(&ids[..k]);
        let fresh = candle_prefill_logits(dir.path(), &seq);
        let (p, d) = (pcc(&fresh, &logits[k]), max_abs_diff(&fresh, &logits[k]));
        assert!(p > 0.99999 && d < 1e-4, "step {k}: cached vs fresh pcc {p} max diff {d}");
    }
}

// ---------------------------------------------------------------------------------------------
// An independent f64 Llama, from the Hugging Face definition
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum RopeLayout {
    /// Hugging Face `rotate_half`: dimension i pairs with i + head_dim/2.
    RotateHalf,
    /// Meta's original layout: dimension 2i pairs with 2i + 1. Used only to show the
    /// comparison would notice the wrong convention.
    Interleaved,
}

struct RefModel {
    spec: TinyLlamaSpec,
    w: HashMap<String, Vec<f64>>,
}

impl RefModel {
    fn load(dir: &Path, spec: &TinyLlamaSpec) -> Self {
        let w =
            read_checkpoint(dir).into_iter().map(|(n, (_, v))| (n, v.into_iter().map(f64::from).collect())).collect();
        Self { spec: spec.clone(), w }
    }

    fn t(&self, name: &str) -> &[f64] {
        self.w.get(name).unwrap_or_else(|| panic!("missing {name}"))
    }

    /// y = W x with W stored [out, in] row-major (HF nn.Linear layout).
    fn linear(&self, name: &str, x: &[f64]) -> Vec<f64> {
        let w = self.t(name);
        let n_in = x.len();
        assert_eq!(w.len() % n_in, 0, "{name}");
        w.chunks_exact(n_in).map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum()).collect()
    }

    /// x / sqrt(mean(x²) + eps) · weight.
    fn rms_norm(&self, name: &str, x: &[f64]) -> Vec<f64> {
        let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        let inv = 1.0 / (ms + self.spec.rms_norm_eps).sqrt();
        x.iter().zip(self.t(name)).map(|(v, g)| v * inv * g).collect()
    }

    /// Rotates every head of `x` (heads × head_dim, head-major) for position `pos`.
    fn rope(&self, x: &mut [f64], pos: usize, layout: RopeLayout) {
        let d = self.spec.head_dim;
        let half = d / 2;
        for head in x.chunks_exact_mut(d) {
            for i in 0..half {
                let inv_freq = self.spec.rope_theta.powf(-((2 * i) as f64) / d as f64);
                let (s, c) = (pos as f64 * inv_freq).sin_cos();
                let (a, b) = match layout {
                    RopeLayout::RotateHalf => (i, i + half),
                    RopeLayout::Interleaved => (2 * i, 2 * i + 1),
                };
                let (xa, xb) = (head[a], head[b]);
                head[a] = xa * c - xb * s;
                head[b] = xb * c + xa * s;
            }
        }
    }

    /// Logits at every position of `tokens` (causal), computed without any cache.
    fn forward_all(&self, tokens: &[u32], layout: RopeLayout) -> Vec<Vec<f64>> {
        let s = &self.spec;
        let (d, group) = (s.head_dim, s.heads / s.kv_heads);
        let emb = self.t("model.embed_tokens.weight");
        let mut xs: Vec<Vec<f64>> =
            tokens.iter().map(|&t| emb[t as usize * s.hidden..(t as usize + 1) * s.hidden].to_vec()).collect();
        for l in 0..s.layers {
            let p = format!("model.layers.{l}");
            // Attention block.
            let normed: Vec<Vec<f64>> =
                xs.iter().map(|x| self.rms_norm(&format!("{p}.input_layernorm.weight"), x)).collect();
            let mut qs = Vec::new();
            let mut ks = Vec::new();
            let mut vs = Vec::new();
            for (pos, x) in normed.iter().enumerate() {
                let mut q = self.linear(&format!("{p}.self_attn.q_proj.weight"), x);
                let mut k = self.linear(&format!("{p}.self_attn.k_proj.weight"), x);
                self.rope(&mut q, pos, layout);
                self.rope(&mut k, pos, layout);
                qs.push(q);
                ks.push(k);
                vs.push(self.linear(&format!("{p}.self_attn.v_proj.weight"), x));
            }
            for t in 0..xs.len() {
                let mut attn = vec![0.0; s.heads * d];
                for h in 0..s.heads {
                    let kvh = h / group; // GQA: consecutive query heads share a KV head
                    let q = &qs[t][h * d..(h + 1) * d];
                    let scores: Vec<f64> = (0..=t)
                        .map(|j| {
                            q.iter().zip(&ks[j][kvh * d..(kvh + 1) * d]).map(|(a, b)| a * b).sum::<f64>()
                                / (d as f64).sqrt()
                        })
                        .collect();
                    let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|x| (x - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for (j, ej) in e.iter().enumerate() {
                        for i in 0..d {
                            attn[h * d + i] += ej / z * vs[j][kvh * d + i];
                        }
                    }
                }
                let o = self.linear(&format!("{p}.self_attn.o_proj.weight"), &attn);
                xs[t].iter_mut().zip(o).for_each(|(x, o)| *x += o);
            }
            // MLP block: down(silu(gate(x)) * up(x)).
            for x in xs.iter_mut() {
                let n = self.rms_norm(&format!("{p}.post_attention_layernorm.weight"), x);
                let gate = self.linear(&format!("{p}.mlp.gate_proj.weight"), &n);
                let up = self.linear(&format!("{p}.mlp.up_proj.weight"), &n);
                let act: Vec<f64> = gate.iter().zip(&up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
                let down = self.linear(&format!("{p}.mlp.down_proj.weight"), &act);
                x.iter_mut().zip(down).for_each(|(x, y)| *x += y);
            }
        }
        let head = if s.tie_word_embeddings { "model.embed_tokens.weight" } else { "lm_head.weight" };
        xs.iter().map(|x| self.linear(head, &self.rms_norm("model.norm.weight", x))).collect()
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[test]
fn candle_matches_an_independent_f64_llama() {
    const PCC_MIN: f64 = 0.9999;
    const MAX_ABS: f64 = 1e-3;
    for (spec, seed) in [(TinyLlamaSpec::tiny(), 11u64), (tied_mqa_spec(), 12)] {
        let dir = TempDir::new("candle-ref-f64").unwrap();
        write_checkpoint(dir.path(), &spec, seed).unwrap();
        let reference = RefModel::load(dir.path(), &spec);

        // Prefill: candle's last-position logits vs the reference.
        let want_all = reference.forward_all(&PROMPT, RopeLayout::RotateHalf);
        let want = to_f32(want_all.last().unwrap());
        let got = candle_prefill_logits(dir.path(), &PROMPT);
        let (p, d) = (pcc(&got, &want), max_abs_diff(&got, &want));
        let rms = (want.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / want.len() as f64).sqrt();
        println!(
            "prefill  hidden {} heads {}/{} tied {}: 1-pcc {:.2e} max abs {d:.3e} (logit rms {rms:.3})",
            spec.hidden,
            spec.heads,
            spec.kv_heads,
            spec.tie_word_embeddings,
            1.0 - p
        );
        assert!(p > PCC_MIN && d < MAX_ABS, "prefill: pcc {p} max abs {d}");
        assert_eq!(argmax(&got), argmax(&want));

        // Decode with the KV cache, teacher-forced with the reference's own greedy ids: every
        // step against a cache-free reference forward of the whole sequence.
        let steps = 8;
        let mut seq = PROMPT.to_vec();
        let mut wants = vec![want.clone()];
        for _ in 0..steps {
            seq.push(argmax(wants.last().unwrap()).unwrap());
            wants.push(to_f32(reference.forward_all(&seq, RopeLayout::RotateHalf).last().unwrap()));
        }
        let gots = candle_forced_logits(dir.path(), &PROMPT, &seq[PROMPT.len()..]);
        assert_eq!(gots.len(), steps + 1);
        let (mut worst_p, mut worst_d) = (1.0f64, 0.0f64);
        for (k, (g, w)) in gots.iter().zip(&wants).enumerate() {
            let (p, d) = (pcc(g, w), max_abs_diff(g, w));
            assert!(p > PCC_MIN && d < MAX_ABS, "decode step {k}: pcc {p} max abs {d}");
            worst_p = worst_p.min(p);
            worst_d = worst_d.max(d);
        }
        println!("decode   {steps} steps: worst 1-pcc {:.2e} worst max abs {worst_d:.3e}", 1.0 - worst_p);
        // candle's greedy ids equal the reference's.
        assert_eq!(candle_greedy(dir.path(), &PROMPT, steps), seq[PROMPT.len()..].to_vec());

        // The comparison is sharp enough to tell RoPE conventions apart.
        let wrong = to_f32(reference.forward_all(&PROMPT, RopeLayout::Interleaved).last().unwrap());
        let (wp, wd) = (pcc(&got, &wrong), max_abs_diff(&got, &wrong));
        println!("interleaved-RoPE reference instead: pcc {wp:.6} max abs {wd:.3e}");
        assert!(wd > 100.0 * MAX_ABS && wp < PCC_MIN, "wrong RoPE layout not detected: pcc {wp} max abs {wd}");
    }
}
