//! The generated `forward` of an MLP on the host backend against an f32 reference computed here
//! with plain loops over the same weights (no tttv2 code involved in the reference).
//!
//! Tolerances come from the formats, not from fitting: bf16 has an 8-bit significand, so
//! rounding one value has relative error at most u = 2^-9 ≈ 0.00195 (RMS u/√3). Under the
//! `accuracy` policy every input, weight and intermediate is rounded once or twice to bf16 and
//! accumulation is fp32, so the output's error is a few u relative to its RMS: we require a
//! normalised RMS error ≤ 8u = 0.0156 and PCC ≥ 0.9999. Under `performance` the weights are
//! bfloat8_b (16 values share an exponent; 7 magnitude bits below the block maximum, so a typical
//! weight at ~0.4× the block max has RMS relative error ≈ 2^-6 / √12 / 0.4 ≈ 1.1%) and HiFi2 drops
//! the lowest mantissa bit of the activations: about 1.5% normalised RMS error for the two layers.
//! We require ≤ 5% (a 3× margin) and PCC ≥ 0.998.

use tttv2::nn::{Weights, synthetic};
use tttv2::{Device, ttt_model};

#[ttt_model(device = "wormhole_b0", batch = 64, policy = "accuracy")]
struct AccurateMlp {
    #[linear(in = 512, out = 1024, activation = "silu", bias = true)]
    up: Linear,
    #[linear(in = 1024, out = 256)]
    down: Linear,
}

#[ttt_model(device = "wormhole_b0", batch = 64, policy = "performance")]
struct FastMlp {
    #[linear(in = 512, out = 1024, activation = "silu", bias = true)]
    up: Linear,
    #[linear(in = 1024, out = 256)]
    down: Linear,
}

struct Data {
    x: Vec<f32>,
    up_w: Vec<f32>,
    up_b: Vec<f32>,
    down_w: Vec<f32>,
}

fn data() -> Data {
    Data {
        x: synthetic(64 * 512, 11, 1.0),
        up_w: synthetic(1024 * 512, 12, 0.08),
        up_b: synthetic(1024, 13, 0.2),
        down_w: synthetic(256 * 1024, 14, 0.05),
    }
}

fn weights(d: &Data) -> Weights {
    let mut w = Weights::new();
    w.insert("up.weight", vec![1024, 512], d.up_w.clone()).insert("up.bias", vec![1024], d.up_b.clone()).insert(
        "down.weight",
        vec![256, 1024],
        d.down_w.clone(),
    );
    w
}

/// y = down(silu(up(x))) in f64, with Hugging Face `[out, in]` weights.
fn reference(d: &Data) -> Vec<f64> {
    let (m, k, h, n) = (64, 512, 1024, 256);
    let mut hidden = vec![0.0f64; m * h];
    for i in 0..m {
        for o in 0..h {
            let mut acc = d.up_b[o] as f64;
            for j in 0..k {
                acc += d.x[i * k + j] as f64 * d.up_w[o * k + j] as f64;
            }
            hidden[i * h + o] = acc / (1.0 + (-acc).exp());
        }
    }
    let mut y = vec![0.0f64; m * n];
    for i in 0..m {
        for o in 0..n {
            y[i * n + o] = (0..h).map(|j| hidden[i * h + j] * d.down_w[o * h + j] as f64).sum();
        }
    }
    y
}

/// (normalised RMS error, Pearson correlation).
fn compare(got: &[f32], want: &[f64]) -> (f64, f64) {
    let n = want.len() as f64;
    let rms = (want.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    let err = (got.iter().zip(want).map(|(&g, &w)| (g as f64 - w).powi(2)).sum::<f64>() / n).sqrt();
    let (mg, mw) = (got.iter().map(|&v| v as f64).sum::<f64>() / n, want.iter().sum::<f64>() / n);
    let cov: f64 = got.iter().zip(want).map(|(&g, &w)| (g as f64 - mg) * (w - mw)).sum();
    let vg: f64 = got.iter().map(|&g| (g as f64 - mg).powi(2)).sum();
    let vw: f64 = want.iter().map(|&w| (w - mw).powi(2)).sum();
    (err / rms, cov / (vg * vw).sqrt())
}

#[test]
fn accuracy_policy_matches_f64_reference() {
    let d = data();
    let device = Device::open(&accurate_mlp_plan::DEVICE).unwrap();
    let mlp = AccurateMlp::load(&device, &weights(&d)).unwrap();
    let y = mlp.forward(&AccurateMlp::input(&device, &d.x).unwrap()).unwrap();
    assert_eq!(y.shape(), vec![64, 256]);
    let (err, pcc) = compare(&y.to_f32().unwrap(), &reference(&d));
    eprintln!("accuracy: normalised RMS error {err:.5}, PCC {pcc:.6}");
    assert!(err <= 8.0 * 2f64.powi(-9), "normalised RMS error {err}");
    assert!(pcc >= 0.9999, "PCC {pcc}");
}

#[test]
fn performance_policy_matches_f64_reference_within_block_float_error() {
    let d = data();
    assert_eq!(fast_mlp_plan::UP.weight_dtype, tttv2::ttnn::DataType::Bfloat8B);
    let device = Device::open(&fast_mlp_plan::DEVICE).unwrap();
    let mlp = FastMlp::load(&device, &weights(&d)).unwrap();
    let y = mlp.forward(&FastMlp::input(&device, &d.x).unwrap()).unwrap();
    let (err, pcc) = compare(&y.to_f32().unwrap(), &reference(&d));
    eprintln!("performance: normalised RMS error {err:.5}, PCC {pcc:.6}");
    assert!(err <= 0.05, "normalised RMS error {err}");
    assert!(pcc >= 0.998, "PCC {pcc}");
    // Block-float weights must actually lose precision relative to the accurate plan.
    assert!(err > 2f64.powi(-9), "bfloat8_b weights should not be as exact as bf16 ({err})");
}

/// What runs is what was planned: `forward`'s op trace equals the program the planner makes for
/// the same declaration (`ModelPlan::program`), call for call, configs and tensor placements.
#[test]
fn forward_runs_its_program_call_for_call() {
    use tttv2::ir::{LayerDecl, LayerKind, LinearDecl, ModelDecl};
    use tttv2::plan::{Mode, Policy, plan_model};
    use tttv2::ttnn::UnaryOpType;

    let d = data();
    let layer = |name: &str, in_features, out_features, bias, activation| LayerDecl {
        name: name.into(),
        kind: LayerKind::Linear(LinearDecl {
            in_features,
            out_features,
            bias,
            activation,
            weight_dtype: None,
            math_fidelity: None,
            program_config: None,
        }),
    };
    for policy in [Policy::Accuracy, Policy::Performance] {
        let decl = ModelDecl {
            name: "Mlp".into(),
            device: accurate_mlp_plan::DEVICE,
            policy,
            mode: Mode::Prefill,
            batch: 64,
            layers: vec![layer("up", 512, 1024, true, Some(UnaryOpType::Silu)), layer("down", 1024, 256, false, None)],
        };
        let program = plan_model(&decl).unwrap().program(&decl);
        let want = tttv2::program::op_trace(&program.flatten());
        let device = Device::open(&accurate_mlp_plan::DEVICE).unwrap();
        tttv2::trace::start();
        match policy {
            Policy::Accuracy => {
                let mlp = AccurateMlp::load(&device, &weights(&d)).unwrap();
                let x = AccurateMlp::input(&device, &d.x).unwrap();
                tttv2::trace::take();
                tttv2::trace::start();
                mlp.forward(&x).unwrap();
            }
            Policy::Performance => {
                let mlp = FastMlp::load(&device, &weights(&d)).unwrap();
                let x = FastMlp::input(&device, &d.x).unwrap();
                tttv2::trace::take();
                tttv2::trace::start();
                mlp.forward(&x).unwrap();
            }
        }
        let ran = tttv2::trace::take();
        assert_eq!(want.len(), 2);
        tttv2::nn::trace::compare(&want, &ran).unwrap_or_else(|e| panic!("{policy:?}: {e}"));
    }
}
