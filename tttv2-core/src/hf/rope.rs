//! RoPE inverse frequencies, as transformers computes them (`modeling_rope_utils.py`,
//! `ROPE_INIT_FUNCTIONS`: `_compute_default_rope_parameters`,
//! `_compute_linear_scaling_rope_parameters`, `_compute_dynamic_ntk_parameters`,
//! `_compute_llama3_parameters`).

use super::{LlamaConfig, RopeScaling};

impl LlamaConfig {
    /// RoPE inverse frequencies `θ_i = theta^(-2i/d)` for `i < d/2` (`d = head_dim`), scaled as
    /// the config's `rope_scaling` / `rope_parameters` asks:
    /// - default: as is;
    /// - `linear`: every frequency divided by `factor`;
    /// - `dynamic`: as is — transformers scales the base only for sequences longer than
    ///   `max_position_embeddings`, which the planner never plans (`seq_len = max(seq_len,
    ///   max_position_embeddings)` makes the NTK base factor exactly 1);
    /// - `llama3`: long wavelengths (above `original / low_freq_factor`) divided by `factor`,
    ///   short ones (below `original / high_freq_factor`) kept, a smooth blend between.
    ///
    /// Computed in f64 and rounded once to f32; transformers computes in f32 (`torch.float`), so
    /// the two agree to about one f32 ulp.
    pub fn rope_inv_freq(&self) -> Vec<f32> {
        let d = self.head_dim as usize;
        let mut inv_freq: Vec<f64> = (0..d / 2).map(|i| self.rope_theta.powf(-((2 * i) as f64) / d as f64)).collect();
        match self.rope_scaling {
            None | Some(RopeScaling::Dynamic { .. }) => {}
            Some(RopeScaling::Linear { factor }) => inv_freq.iter_mut().for_each(|f| *f /= factor),
            Some(RopeScaling::Llama3 {
                factor,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings,
            }) => {
                let original = original_max_position_embeddings as f64;
                let (low_wavelen, high_wavelen) = (original / low, original / high);
                for f in &mut inv_freq {
                    let wavelen = 2.0 * std::f64::consts::PI / *f;
                    if wavelen > low_wavelen {
                        *f /= factor;
                    } else if wavelen >= high_wavelen {
                        let smooth = (original / wavelen - low) / (high - low);
                        *f = (1.0 - smooth) * *f / factor + smooth * *f;
                    }
                }
            }
        }
        inv_freq.into_iter().map(|f| f as f32).collect()
    }
}
