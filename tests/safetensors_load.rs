//! Loading weights from safetensors checkpoints: single file, sharded with an index, dtype
//! conversion and errors that name the tensor.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use tttv2::Device;
use tttv2::nn::{SafetensorsWeights, WeightSource};
use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", batch = 32)]
struct Proj {
    #[linear(in = 64, out = 32, bias = true)]
    proj: Linear,
}

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn write(path: &std::path::Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: HashMap<String, TensorView<'_>> =
        tensors.iter().map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

#[test]
fn single_file_and_sharded_checkpoints_load_by_hugging_face_name() {
    let dir = std::env::temp_dir().join(format!("tttv2-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w: Vec<f32> = (0..32 * 64).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect();
    let b: Vec<f32> = (0..32).map(|i| i as f32 * 0.5).collect();
    // bf16 of b: the values are exactly representable, so the round trip is exact.
    let b_bf16: Vec<u8> = b.iter().flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes()).collect();

    write(
        &dir.join("model.safetensors"),
        &[
            ("proj.weight", Dtype::F32, vec![32, 64], bytes_f32(&w)),
            ("proj.bias", Dtype::BF16, vec![32], b_bf16.clone()),
        ],
    );
    let single = SafetensorsWeights::open(&dir).unwrap();
    assert_eq!(single.weight("proj.bias").unwrap().data.as_ref(), b.as_slice());
    assert_eq!(single.weight("proj.weight").unwrap().shape, vec![32, 64]);
    let device = Device::open(&proj_plan::DEVICE).unwrap();
    Proj::load(&device, &single).unwrap();

    // Sharded: the index maps each tensor to its shard.
    let sharded = dir.join("sharded");
    std::fs::create_dir_all(&sharded).unwrap();
    write(
        &sharded.join("model-00001-of-00002.safetensors"),
        &[("proj.weight", Dtype::F32, vec![32, 64], bytes_f32(&w))],
    );
    write(&sharded.join("model-00002-of-00002.safetensors"), &[("proj.bias", Dtype::BF16, vec![32], b_bf16)]);
    std::fs::write(
        sharded.join("model.safetensors.index.json"),
        r#"{"metadata": {}, "weight_map": {"proj.weight": "model-00001-of-00002.safetensors", "proj.bias": "model-00002-of-00002.safetensors"}}"#,
    )
    .unwrap();
    let st = SafetensorsWeights::open(&sharded).unwrap();
    assert_eq!(st.names().collect::<Vec<_>>(), ["proj.bias", "proj.weight"]);
    assert_eq!(st.weight("proj.weight").unwrap().data.as_ref(), w.as_slice());
    Proj::load(&device, &st).unwrap();

    // A checkpoint that does not match the model names the tensor and both shapes.
    let bad = dir.join("bad.safetensors");
    write(
        &bad,
        &[("proj.weight", Dtype::F32, vec![64, 32], bytes_f32(&w)), ("proj.bias", Dtype::F32, vec![32], bytes_f32(&b))],
    );
    let err = Proj::load(&device, &SafetensorsWeights::open(&bad).unwrap()).err().unwrap();
    assert_eq!(err.to_string(), "weight `proj.weight`: expected shape [32, 64] ([out, in]) but found [64, 32]");
    let err = SafetensorsWeights::open(&bad).unwrap().weight("model.norm.weight").err().unwrap();
    assert_eq!(
        err.to_string(),
        format!("weight `model.norm.weight`: not found in the checkpoint {} (2 tensors)", bad.display())
    );
    let err = SafetensorsWeights::open(dir.join("nowhere")).err().unwrap();
    assert!(err.to_string().contains("cannot open"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
