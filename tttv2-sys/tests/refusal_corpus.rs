//! The refusal corpus (`tools/ttnn-replay/corpus/bad_configs.json`: one bad config per rule the
//! host backend checks) through the host backend. Writes each case's outcome (refused with which
//! text, or accepted) to `$CORPUS_OUT` (default `<tmp>/host_results.json`), where
//! `tools/ttnn-replay/corpus/corpus.py compare` sets them next to TT-NN's on its mock device.
//! Fails when the host accepts a case that names a host rule (`host_src` is a host file).
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use tttv2_core::device::DeviceProfile;
use tttv2_core::ttnn::*;
use tttv2_sys::{Device, Tensor, ops};

#[derive(Deserialize)]
struct Spec {
    shape: Vec<u32>,
    dtype: DataType,
    layout: Layout,
    mem: MemoryConfig,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    host_src: String,
    op: String,
    tensors: BTreeMap<String, Spec>,
    program_config: Option<serde_json::Value>,
    compute_kernel_config: Option<ComputeKernelConfig>,
    output_mem: Option<MemoryConfig>,
    output_dtype: Option<DataType>,
    batch_idx: Option<u32>,
}

#[derive(Deserialize)]
struct Corpus {
    cases: Vec<Case>,
}

fn make(dev: &Device, s: &Spec) -> Result<Tensor, String> {
    Tensor::zeros(dev, &s.shape, s.dtype, s.layout, &s.mem).map_err(|e| e.to_string())
}

fn run(dev: &Device, c: &Case) -> Result<(), String> {
    let mut t = BTreeMap::new();
    for (role, s) in &c.tensors {
        t.insert(role.as_str(), make(dev, s)?);
    }
    let ckc = c.compute_kernel_config.unwrap_or(ComputeKernelConfig {
        math_fidelity: MathFidelity::HiFi4,
        math_approx_mode: false,
        fp32_dest_acc_en: false,
        packer_l1_acc: false,
        dst_full_sync_en: false,
    });
    let out = c.output_mem.unwrap_or(MemoryConfig::DRAM_INTERLEAVED);
    let dt = c.output_dtype.unwrap_or(DataType::Bfloat16);
    let pc = c.program_config.clone();
    let sdpa_pc = || -> SDPAProgramConfig { serde_json::from_value(pc.clone().unwrap()).unwrap() };
    let e = |r: tttv2_sys::Result<Tensor>| r.map(|_| ()).map_err(|e| e.to_string());
    match c.op.as_str() {
        "tensor" => Ok(()),
        "matmul" => {
            let pc: MatmulProgramConfig = serde_json::from_value(pc.unwrap()).unwrap();
            e(ops::matmul(&t["a"], &t["b"], &pc, &ckc, &out, dt))
        }
        "embedding" => e(ops::embedding(&t["ids"], &t["weight"], &out, dt, Layout::Tile)),
        "rotary_prefill" => {
            e(ops::rotary_embedding_llama(&t["x"], &t["cos"], &t["sin"], &t["trans_mat"], false, &out, &ckc))
        }
        "sdpa" => {
            e(ops::scaled_dot_product_attention(&t["q"], &t["k"], &t["v"], None, true, None, &sdpa_pc(), &out, &ckc))
        }
        "sdpa_decode" => {
            let b = c.tensors["q"].shape[1] as usize;
            let s = c.tensors["k"].shape[2];
            e(ops::scaled_dot_product_attention_decode(
                &t["q"],
                &t["k"],
                &t["v"],
                &vec![s - 1; b],
                None,
                &sdpa_pc(),
                &out,
                &ckc,
            ))
        }
        "fill_cache" => {
            let input = t.remove("input").unwrap();
            let cache = t.get_mut("cache").unwrap();
            ops::fill_cache(cache, &input, c.batch_idx.unwrap_or(0), 0).map_err(|e| e.to_string())
        }
        other => panic!("unknown op {other} in case {}", c.id),
    }
}

#[test]
fn host_refuses_every_corpus_case() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("tools/ttnn-replay/corpus/bad_configs.json");
    let corpus: Corpus = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let dev = Device::open(&DeviceProfile::N150).unwrap();
    let mut results = Vec::new();
    let mut accepted = Vec::new();
    for c in &corpus.cases {
        let r = run(&dev, c);
        if r.is_ok() && c.host_src.starts_with("tttv2-sys/") {
            accepted.push(c.id.clone());
        }
        results.push(serde_json::json!({
            "id": c.id,
            "status": if r.is_ok() { "accepted" } else { "rejected" },
            "text": r.err().unwrap_or_default(),
        }));
    }
    let out = std::env::var("CORPUS_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("host_results.json"));
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&serde_json::json!({ "backend": "host", "results": results })).unwrap(),
    )
    .unwrap();
    eprintln!("{} cases, host results in {}", corpus.cases.len(), out.display());
    assert!(accepted.is_empty(), "the host backend accepted corpus cases that name one of its rules: {accepted:?}");
}
