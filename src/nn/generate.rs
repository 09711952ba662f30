//! Text generation on a [`CausalLm`] (a model `#[ttt_model]` generated): prefill each user's prompt, then decode all users together one
//! token per step, choosing tokens greedily or by seeded top-p sampling, until EOS, the token
//! limit or the end of the KV cache.
//!
//! A prompt longer than the largest prefill bucket is prefilled up to the bucket and its
//! remaining tokens are fed through decode steps (one per token, alongside the other users),
//! which writes the same KV cache a longer prefill would. Chunked prefill with attention over
//! earlier chunks (TT-NN's `chunked_scaled_dot_product_attention`) is not implemented.

use std::time::Instant;

use crate::{Device, Error, Result};

/// A causal language model that prefills one user's prompt at a time and decodes a batch of
/// users one token per step: what `#[ttt_model]` generates for a decode model. The generation
/// loop below drives it; it runs no op of its own.
pub trait CausalLm {
    /// Users per decode step.
    fn batch(&self) -> u32;
    /// Positions the KV cache holds per user.
    fn max_seq_len(&self) -> u32;
    /// The longest prompt one prefill call takes.
    fn max_prefill_len(&self) -> u32;
    /// Runs user `user`'s prompt, fills its KV-cache rows from position 0, returns the logits of
    /// its last token.
    fn prefill(&mut self, device: &Device, user: u32, tokens: &[u32]) -> Result<Vec<f32>>;
    /// One step: user `u` feeds `tokens[u]` at `positions[u]`; returns each user's logits.
    fn decode(&mut self, device: &Device, tokens: &[u32], positions: &[u32]) -> Result<Vec<Vec<f32>>>;
}

/// How the next token is chosen from the logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely token (ties: the lowest id, reported in [`Generation::ties`]).
    Greedy,
    /// Nucleus sampling: softmax(logits / temperature), keep the most likely tokens until their
    /// probability reaches `p`, draw from them. `seed` makes it reproducible (user `u` draws from
    /// its own stream, `seed + u`).
    TopP {
        /// Probability mass kept, in (0, 1].
        p: f32,
        /// Softmax temperature, > 0.
        temperature: f32,
        /// RNG seed.
        seed: u64,
    },
}

/// What [`generate`] does.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// New tokens per user at most.
    pub max_new_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// A user stops after producing one of these (it is kept as its last token).
    pub eos: Vec<u32>,
}

/// Why a user stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It produced an EOS token.
    Eos,
    /// It produced `max_new_tokens`.
    MaxTokens,
    /// Its KV cache is full.
    CacheFull,
}

/// A greedy choice between equal logits: several tokens share the maximum and the lowest id was
/// taken. Under bf16 logits this happens, and the other choice is as likely; it is reported so
/// that a caller can say so rather than present the pick as the model's preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tie {
    /// The user.
    pub user: usize,
    /// The index of the new token in that user's output (0: the token after the prompt).
    pub step: usize,
    /// Every token at the maximum, ascending; the first is the one taken.
    pub tokens: Vec<u32>,
}

/// The result of [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Per user, the new tokens.
    pub tokens: Vec<Vec<u32>>,
    /// Per user, why it stopped.
    pub stops: Vec<StopReason>,
    /// Greedy choices between tied logits, in the order they were made.
    pub ties: Vec<Tie>,
    /// Prompt tokens run through prefill calls, and the seconds they took.
    pub prefill_tokens: usize,
    /// Seconds spent in prefill calls.
    pub prefill_secs: f64,
    /// Decode steps run (each advances every active user by one token).
    pub decode_steps: usize,
    /// Tokens produced or consumed by decode steps, summed over users.
    pub decode_tokens: usize,
    /// Seconds spent in decode steps.
    pub decode_secs: f64,
}

/// A seeded token chooser.
#[derive(Debug, Clone)]
pub struct Sampler {
    sampling: Sampling,
    state: u64,
}

/// The tokens whose logit equals the maximum (NaNs never do), ascending.
pub fn top_tokens(logits: &[f32]) -> Vec<u32> {
    let max = logits.iter().copied().filter(|v| !v.is_nan()).fold(f32::NEG_INFINITY, f32::max);
    logits.iter().enumerate().filter(|(_, v)| **v == max).map(|(i, _)| i as u32).collect()
}

impl Sampler {
    /// A sampler for one user.
    pub fn new(sampling: Sampling, user: u64) -> Result<Sampler> {
        if let Sampling::TopP { p, temperature, .. } = sampling
            // Written so that NaN fails both checks.
            && !((p > 0.0 && p <= 1.0) && (temperature > 0.0 && temperature.is_finite()))
        {
            return Err(Error::Shape {
                op: "generate",
                message: format!(
                    "top-p needs 0 < p <= 1 and a positive temperature, got p = {p}, temperature = {temperature}"
                ),
            });
        }
        let seed = match sampling {
            Sampling::TopP { seed, .. } => seed.wrapping_add(user),
            Sampling::Greedy => 0,
        };
        Ok(Sampler { sampling, state: seed })
    }

    /// splitmix64: a uniform draw in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next token from `logits` (NaNs are never chosen).
    pub fn sample(&mut self, logits: &[f32]) -> Result<u32> {
        let finite = || logits.iter().enumerate().filter(|(_, v)| !v.is_nan());
        let greedy = finite().fold(None, |best: Option<(usize, f32)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        });
        let Some((best, max)) = greedy else {
            return Err(Error::Shape { op: "generate", message: "the logits are empty or all NaN".into() });
        };
        let Sampling::TopP { p, temperature, .. } = self.sampling else {
            return Ok(best as u32);
        };
        // Softmax in f64, relative to the maximum.
        let mut probs: Vec<(usize, f64)> =
            finite().map(|(i, &v)| (i, (((v - max) / temperature) as f64).exp())).collect();
        let total: f64 = probs.iter().map(|(_, q)| q).sum();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut kept = 0.0;
        let mut n = 0;
        for (_, q) in &probs {
            kept += q / total;
            n += 1;
            if kept >= p as f64 {
                break;
            }
        }
        let mut r = self.uniform() * probs[..n].iter().map(|(_, q)| q).sum::<f64>();
        for &(i, q) in &probs[..n] {
            if r < q {
                return Ok(i as u32);
            }
            r -= q;
        }
        Ok(probs[n - 1].0 as u32)
    }
}

/// One user's progress.
struct User {
    /// Prompt tokens not yet fed.
    pending: std::collections::VecDeque<u32>,
    /// Next position to write in the KV cache.
    pos: u32,
    /// The token to feed next once the prompt is consumed.
    last: Option<u32>,
    out: Vec<u32>,
    stop: Option<StopReason>,
    sampler: Sampler,
}

impl User {
    /// Chooses the next token from `logits` and takes it; a greedy tie is added to `ties`.
    fn choose(
        &mut self,
        logits: &[f32],
        opts: &GenerateOptions,
        max_seq: u32,
        on_token: &mut impl FnMut(usize, u32),
        u: usize,
        ties: &mut Vec<Tie>,
    ) -> Result<()> {
        let token = self.sampler.sample(logits)?;
        if opts.sampling == Sampling::Greedy {
            let top = top_tokens(logits);
            if top.len() > 1 {
                ties.push(Tie { user: u, step: self.out.len(), tokens: top });
            }
        }
        self.accept(token, opts, max_seq, on_token, u);
        Ok(())
    }

    fn accept(
        &mut self,
        token: u32,
        opts: &GenerateOptions,
        max_seq: u32,
        on_token: &mut impl FnMut(usize, u32),
        u: usize,
    ) {
        self.out.push(token);
        self.last = Some(token);
        on_token(u, token);
        if opts.eos.contains(&token) {
            self.stop = Some(StopReason::Eos);
        } else if self.out.len() >= opts.max_new_tokens {
            self.stop = Some(StopReason::MaxTokens);
        } else if self.pos >= max_seq {
            self.stop = Some(StopReason::CacheFull);
        }
    }
}

/// Generates for up to `batch` users of `model` at once (see the module docs).
/// `on_token(user, token)` sees every new token as soon as it is chosen.
pub fn generate(
    model: &mut impl CausalLm,
    device: &Device,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions,
    mut on_token: impl FnMut(usize, u32),
) -> Result<Generation> {
    {
        let batch = model.batch() as usize;
        if prompts.is_empty() || prompts.len() > batch {
            return Err(Error::Shape {
                op: "generate",
                message: format!("the plan serves 1 to {batch} users, got {} prompts", prompts.len()),
            });
        }
        let max_seq = model.max_seq_len();
        let mut g = Generation {
            tokens: Vec::new(),
            stops: Vec::new(),
            ties: Vec::new(),
            prefill_tokens: 0,
            prefill_secs: 0.0,
            decode_steps: 0,
            decode_tokens: 0,
            decode_secs: 0.0,
        };
        let mut users = Vec::with_capacity(prompts.len());
        for (u, prompt) in prompts.iter().enumerate() {
            if prompt.is_empty() {
                return Err(Error::Shape { op: "generate", message: format!("prompt {u} is empty") });
            }
            if prompt.len() as u32 >= max_seq {
                return Err(Error::Shape {
                    op: "generate",
                    message: format!("prompt {u} has {} tokens; the KV cache holds {max_seq} positions", prompt.len()),
                });
            }
            let mut user = User {
                pending: prompt.iter().copied().collect(),
                pos: 0,
                last: None,
                out: Vec::new(),
                stop: (opts.max_new_tokens == 0).then_some(StopReason::MaxTokens),
                sampler: Sampler::new(opts.sampling, u as u64)?,
            };
            let n = prompt.len().min(model.max_prefill_len() as usize);
            if n > 0 && user.stop.is_none() {
                let t = Instant::now();
                let logits = model.prefill(device, u as u32, &prompt[..n])?;
                g.prefill_secs += t.elapsed().as_secs_f64();
                g.prefill_tokens += n;
                user.pending.drain(..n);
                user.pos = n as u32;
                if user.pending.is_empty() {
                    user.choose(&logits, opts, max_seq, &mut on_token, u, &mut g.ties)?;
                }
            }
            users.push(user);
        }
        while users.iter().any(|u| u.stop.is_none()) {
            // Finished users keep their slot: they feed token 0 at position 0 of their own cache
            // rows, which nobody reads any more.
            let feed: Vec<(u32, u32)> = users
                .iter()
                .map(|u| match (u.stop, u.pending.front(), u.last) {
                    (None, Some(&t), _) => (t, u.pos),
                    (None, None, Some(t)) => (t, u.pos),
                    _ => (0, 0),
                })
                .collect();
            let (tokens, positions): (Vec<u32>, Vec<u32>) = feed.into_iter().unzip();
            let t = Instant::now();
            let logits = model.decode(device, &tokens, &positions)?;
            g.decode_secs += t.elapsed().as_secs_f64();
            g.decode_steps += 1;
            for (i, (user, l)) in users.iter_mut().zip(logits).enumerate() {
                if user.stop.is_some() {
                    continue;
                }
                g.decode_tokens += 1;
                user.pos += 1;
                if user.pending.pop_front().is_some() && !user.pending.is_empty() {
                    continue;
                }
                user.choose(&l, opts, max_seq, &mut on_token, i, &mut g.ties)?;
            }
        }
        for u in users {
            g.tokens.push(u.out);
            g.stops.push(u.stop.unwrap_or(StopReason::MaxTokens));
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum_and_skips_nan() {
        let mut s = Sampler::new(Sampling::Greedy, 0).unwrap();
        assert_eq!(s.sample(&[0.1, 3.0, f32::NAN, 3.0]).unwrap(), 1);
        assert!(s.sample(&[f32::NAN]).is_err());
    }

    #[test]
    fn ties_at_the_top_are_listed() {
        assert_eq!(top_tokens(&[0.1, 3.0, f32::NAN, 3.0, 2.0]), [1, 3]);
        assert_eq!(top_tokens(&[0.1, 3.0]), [1]);
    }

    /// A model whose logits are scripted: prefill gives `first`, decode step `i` gives `steps[i]`
    /// to every user.
    struct Scripted {
        first: Vec<f32>,
        steps: Vec<Vec<f32>>,
        calls: usize,
    }

    impl CausalLm for Scripted {
        fn batch(&self) -> u32 {
            2
        }
        fn max_seq_len(&self) -> u32 {
            64
        }
        fn max_prefill_len(&self) -> u32 {
            32
        }
        fn prefill(&mut self, _: &Device, _: u32, _: &[u32]) -> Result<Vec<f32>> {
            Ok(self.first.clone())
        }
        fn decode(&mut self, _: &Device, tokens: &[u32], _: &[u32]) -> Result<Vec<Vec<f32>>> {
            self.calls += 1;
            Ok(vec![self.steps[self.calls - 1].clone(); tokens.len()])
        }
    }

    #[test]
    fn greedy_ties_are_reported_with_user_step_and_tokens() {
        let device = Device::open(&crate::device::DeviceProfile::N150).unwrap();
        let mut m =
            Scripted { first: vec![0.0, 1.0, 0.5], steps: vec![vec![2.0, 0.0, 2.0], vec![0.0, 0.0, 3.0]], calls: 0 };
        let opts = GenerateOptions { max_new_tokens: 3, sampling: Sampling::Greedy, eos: vec![] };
        let g = generate(&mut m, &device, &[vec![1], vec![2, 1]], &opts, |_, _| {}).unwrap();
        assert_eq!(g.tokens, [[1, 0, 2], [1, 0, 2]]);
        // Step 1 (the second new token) tied 0 and 2 for both users; greedy took 0.
        assert_eq!(
            g.ties,
            [Tie { user: 0, step: 1, tokens: vec![0, 2] }, Tie { user: 1, step: 1, tokens: vec![0, 2] }]
        );
        // Sampling draws among ties by design: nothing to report.
        m.calls = 0;
        let opts = GenerateOptions { sampling: Sampling::TopP { p: 1.0, temperature: 1.0, seed: 3 }, ..opts };
        assert!(generate(&mut m, &device, &[vec![1]], &opts, |_, _| {}).unwrap().ties.is_empty());
    }

    #[test]
    fn top_p_is_seeded_and_stays_in_the_nucleus() {
        // Probabilities ∝ e^{logit}: 0.64, 0.24, 0.09, 0.03 (roughly).
        let logits = [3.0f32, 2.0, 1.0, -0.2];
        let draw = |seed| {
            let mut s = Sampler::new(Sampling::TopP { p: 0.8, temperature: 1.0, seed }, 0).unwrap();
            (0..4000).map(|_| s.sample(&logits).unwrap()).collect::<Vec<_>>()
        };
        let a = draw(42);
        assert_eq!(a, draw(42), "same seed, same draws");
        assert_ne!(a, draw(43));
        // p = 0.8 keeps tokens 0 and 1 (0.64 + 0.24 = 0.88 ≥ 0.8), renormalised: 0.73 / 0.27.
        assert!(a.iter().all(|&t| t < 2), "drew outside the nucleus");
        let share0 = a.iter().filter(|&&t| t == 0).count() as f64 / a.len() as f64;
        let e = |x: f64| x.exp();
        let want = e(3.0) / (e(3.0) + e(2.0));
        assert!((share0 - want).abs() < 0.03, "token 0 drawn {share0}, expected {want}");
    }

    #[test]
    fn tiny_p_or_temperature_is_greedy() {
        let logits = [0.5f32, 2.5, 2.4, -1.0];
        let mut s = Sampler::new(Sampling::TopP { p: 1e-6, temperature: 1.0, seed: 1 }, 0).unwrap();
        assert!((0..100).all(|_| s.sample(&logits).unwrap() == 1));
        let mut s = Sampler::new(Sampling::TopP { p: 1.0, temperature: 1e-3, seed: 1 }, 0).unwrap();
        assert!((0..100).all(|_| s.sample(&logits).unwrap() == 1));
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Sampler::new(Sampling::TopP { p: 0.0, temperature: 1.0, seed: 0 }, 0).is_err());
        assert!(Sampler::new(Sampling::TopP { p: 0.9, temperature: 0.0, seed: 0 }, 0).is_err());
    }
}
