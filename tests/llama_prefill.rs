//! The Llama prefill runtime on the host backend, driven by configs the planner chose.

use tttv2::device::{DeviceProfile, SystemProfile};
use tttv2::hf::LlamaConfig;
use tttv2::nn::{Weights, synthetic};
use tttv2::nn::llama::{Llama, LlamaPlans};
use tttv2::op::llama::LlamaPrefillConfig;
use tttv2::plan::Mode;
use tttv2::plan::llama::{LlamaOptions, plan_llama};
use tttv2::Device;

fn tiny() -> LlamaConfig {
    LlamaConfig {
        hidden_size: 256,
        intermediate_size: 512,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 64,
        num_hidden_layers: 2,
        vocab_size: 512,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        rope_scaling: None,
        tie_word_embeddings: false,
        max_position_embeddings: 2048,
        torch_dtype: None,
        bos_token_id: Vec::new(),
        eos_token_id: Vec::new(),
        sliding_window: None,
    }
}


#[test]
fn tiny_llama_prefill_runs_with_planned_configs() {
    let cfg = tiny();
    let mut opts = LlamaOptions::new(Mode::Prefill, 1);
    opts.seq_len = 128;
    let plan = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    let pc = LlamaPrefillConfig::from_plan(&plan).unwrap();
    let (h, i, v) = (256usize, 512usize, 512usize);
    let mut w = Weights::new();
    let mut seed = 100;
    let mut add = |w: &mut Weights, name: String, shape: Vec<usize>, scale: f32| {
        seed += 1;
        let n = shape.iter().product();
        w.insert(name, shape, synthetic(n, seed, scale));
    };
    add(&mut w, "model.embed_tokens.weight".into(), vec![v, h], 1.0);
    add(&mut w, "lm_head.weight".into(), vec![v, h], 0.06);
    w.insert("model.norm.weight", vec![h], vec![1.0; h]);
    for l in 0..2 {
        let p = |s: &str| format!("model.layers.{l}.{s}");
        add(&mut w, p("self_attn.q_proj.weight"), vec![256, h], 0.06);
        add(&mut w, p("self_attn.k_proj.weight"), vec![128, h], 0.06);
        add(&mut w, p("self_attn.v_proj.weight"), vec![128, h], 0.06);
        add(&mut w, p("self_attn.o_proj.weight"), vec![h, 256], 0.06);
        add(&mut w, p("mlp.gate_proj.weight"), vec![i, h], 0.06);
        add(&mut w, p("mlp.up_proj.weight"), vec![i, h], 0.06);
        add(&mut w, p("mlp.down_proj.weight"), vec![h, i], 0.04);
        w.insert(p("input_layernorm.weight"), vec![h], vec![1.0; h]);
        w.insert(p("post_attention_layernorm.weight"), vec![h], vec![1.0; h]);
    }
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let mut model = Llama::load(&device, &w, LlamaPlans { prefill: vec![pc], decode: None }).unwrap();
    let tokens: Vec<u32> = (0..100).map(|t| (t * 37 % 512) as u32).collect();
    let logits = model.prefill(&device, 0, &tokens).unwrap();
    assert_eq!(logits.len(), v);
    assert!(logits.iter().all(|x| x.is_finite()));
}
