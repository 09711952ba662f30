//! The text forms of planning options, parsed once for every front end: the `#[ttt_model]`
//! attribute and the `tttv2` command read `mode`, memory sizes and per-layer overrides with these
//! functions, so `memory_budget = "8GiB"` and `--memory-budget 8GiB` cannot mean two things.

use crate::plan::Mode;
use crate::plan::llama::{LayerOverride, WeightGroup};
use crate::ttnn::{DataType, MathFidelity};

impl Mode {
    /// Parses `prefill` / `decode`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "prefill" => Some(Mode::Prefill),
            "decode" => Some(Mode::Decode),
            _ => None,
        }
    }
}

/// A memory size in bytes: a number with an optional unit, decimal (`kB`, `MB`, `GB`) or binary
/// (`KiB`, `MiB`, `GiB`), any case, space allowed before the unit (`"8GB"`, `"1.5 GiB"`,
/// `"4096"`), or `unlimited` (`u64::MAX`). The error says what was expected.
pub fn parse_memory_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s == "unlimited" {
        return Ok(u64::MAX);
    }
    let expected = || format!("expected bytes, <n>GB, <n>GiB (or kB, MB, KiB, MiB) or `unlimited`, got `{text}`");
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.trim().parse().map_err(|_| expected())?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(expected()),
    };
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("must be positive, got `{text}`"));
    }
    Ok((n * multiplier) as u64)
}

impl std::str::FromStr for LayerOverride {
    type Err = String;

    /// `<group>[@<first>-<last>]=<dtype>[:<fidelity>]`, e.g. `w1w3@0-3=bf16:hifi4` or
    /// `lm_head=:hifi2` (fidelity only).
    fn from_str(v: &str) -> Result<LayerOverride, String> {
        let err = || format!("expected <group>[@<first>-<last>]=<dtype>[:<fidelity>], got `{v}`");
        let (lhs, rhs) = v.split_once('=').ok_or_else(err)?;
        let (group, layers) = match lhs.split_once('@') {
            Some((g, r)) => {
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                let a: u32 = a.parse().map_err(|_| err())?;
                let b: u32 = b.parse().map_err(|_| err())?;
                if a > b {
                    return Err(err());
                }
                (g, Some((a, b)))
            }
            None => (lhs, None),
        };
        let group = WeightGroup::parse(group)
            .ok_or_else(|| format!("unknown weight group `{group}` (wqkv, wo, w1w3, w2, lm_head)"))?;
        let (dt, fid) = match rhs.split_once(':') {
            Some((d, f)) => (d, Some(f)),
            None => (rhs, None),
        };
        let dtype = if dt.is_empty() {
            None
        } else {
            Some(DataType::parse(dt).ok_or_else(|| format!("unknown dtype `{dt}`"))?)
        };
        let math_fidelity = match fid {
            Some(f) => Some(
                MathFidelity::parse(f)
                    .ok_or_else(|| format!("unknown math fidelity `{f}` (lofi, hifi2, hifi3, hifi4)"))?,
            ),
            None => None,
        };
        Ok(LayerOverride { layers, group, dtype, math_fidelity })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_in_every_unit() {
        assert_eq!(parse_memory_size("8GB"), Ok(8_000_000_000));
        assert_eq!(parse_memory_size("8 GiB"), Ok(8 << 30));
        assert_eq!(parse_memory_size("1.5gib"), Ok(3 << 29));
        assert_eq!(parse_memory_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_memory_size("64kB"), Ok(64_000));
        assert_eq!(parse_memory_size("4096"), Ok(4096));
        assert_eq!(parse_memory_size("unlimited"), Ok(u64::MAX));
        for bad in ["lots", "8TB", "-1GB", "0", "", "GB", "NaN"] {
            assert!(parse_memory_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides() {
        let o: LayerOverride = "w1w3@0-3=bf16:hifi4".parse().unwrap();
        assert_eq!((o.layers, o.group), (Some((0, 3)), WeightGroup::W1W3));
        assert_eq!((o.dtype, o.math_fidelity), (Some(DataType::Bfloat16), Some(MathFidelity::HiFi4)));
        let o: LayerOverride = "lm_head=:hifi2".parse().unwrap();
        assert_eq!((o.layers, o.dtype, o.math_fidelity), (None, None, Some(MathFidelity::HiFi2)));
        for bad in ["w1w3", "w9=bf16", "w2@3-1=bf16", "w2=bf17", "w2=bf16:hifi9", "w2@x=bf16"] {
            assert!(bad.parse::<LayerOverride>().is_err(), "{bad}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("decode"), Some(Mode::Decode));
        assert_eq!(Mode::parse("prefill"), Some(Mode::Prefill));
        assert_eq!(Mode::parse("training"), None);
    }
}
