use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::Layout;

use super::WeightSource;
use crate::{Device, Error, Result, Tensor};

/// A linear layer's tensors on the device: the weight as `[in, out]` (TT-NN's `linear` takes
/// `x · W`) and the optional bias as `[1, out]`.
pub struct Linear {
    /// `[in, out]`, in the planned weight dtype and memory config.
    pub weight: Tensor,
    /// `[1, out]`, if the layer has a bias.
    pub bias: Option<Tensor>,
}

impl Linear {
    /// Loads `{name}.weight` (Hugging Face layout `[out, in]`) and, if the plan has a bias,
    /// `{name}.bias` (`[out]`), and uploads them as `cfg` says.
    pub fn load(device: &Device, weights: &impl WeightSource, name: &str, cfg: &LinearConfig) -> Result<Linear> {
        let (k, n) = (cfg.k as usize, cfg.n as usize);
        let wname = format!("{name}.weight");
        let w = weights.weight(&wname)?;
        if w.shape != [n, k] {
            return Err(Error::Weight {
                name: wname,
                message: format!("expected shape [{n}, {k}] ([out, in]) but found {:?}", w.shape),
            });
        }
        // [out, in] -> [in, out]
        let mut t = vec![0.0f32; k * n];
        for (o, row) in w.data.chunks_exact(k).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                t[i * n + o] = v;
            }
        }
        let weight =
            Tensor::from_f32(device, &t, &[cfg.k, cfg.n], cfg.weight_dtype, Layout::Tile, &cfg.weight_memory_config)?;
        let bias = if cfg.bias {
            let bname = format!("{name}.bias");
            let b = weights.weight(&bname)?;
            if b.shape != [n] && b.shape != [1, n] {
                return Err(Error::Weight {
                    name: bname,
                    message: format!("expected shape [{n}] but found {:?}", b.shape),
                });
            }
            Some(Tensor::from_f32(
                device,
                &b.data,
                &[1, cfg.n],
                cfg.weight_dtype,
                Layout::Tile,
                &cfg.bias_memory_config(),
            )?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }

    /// Uploads `x` (row-major `[m, k]`) in the dtype, layout and memory config `cfg` expects.
    pub fn input(device: &Device, x: &[f32], cfg: &LinearConfig) -> Result<Tensor> {
        Tensor::from_f32(device, x, &[cfg.m, cfg.k], cfg.input_dtype, Layout::Tile, &cfg.input_memory_config)
    }
}
