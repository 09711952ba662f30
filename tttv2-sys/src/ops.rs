//! The ops generated code calls. Each takes the `const` configs the optimizer chose and passes
//! them straight to the backend: no lookup, no dispatch on config.

use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::{ComputeKernelConfig, DataType, MatmulProgramConfig, MemoryConfig};

use crate::bridge::ffi;
use crate::convert;
use crate::error::{Error, Result, backend};
use crate::tensor::Tensor;

/// `ttnn::linear(x, weight, bias)` with the planned configs. Checks that `x` has the `[.., m, k]`
/// shape the configs were chosen for before calling the backend.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, cfg: &LinearConfig) -> Result<Tensor> {
    let shape = x.shape();
    let rows: u64 = shape[..shape.len().saturating_sub(1)].iter().map(|&d| d as u64).product();
    if shape.len() < 2 || shape[shape.len() - 1] != cfg.k || rows != cfg.m as u64 {
        return Err(Error::Shape {
            op: "linear",
            message: format!(
                "the plan was made for x of [{}, {}] but x is {:?}",
                cfg.m, cfg.k, shape
            ),
        });
    }
    if bias.is_some() != cfg.bias {
        return Err(Error::Shape {
            op: "linear",
            message: format!("the plan {} a bias", if cfg.bias { "expects" } else { "has no" }),
        });
    }
    let mem = convert::memory_config(&cfg.memory_config);
    let pc = convert::matmul_config(&cfg.program_config);
    let ckc = convert::compute_config(&cfg.compute_kernel_config);
    let dt = convert::data_type(cfg.dtype);
    let out = match bias {
        Some(b) => ffi::linear(&x.inner, &weight.inner, &b.inner, &mem, dt, &pc, &ckc),
        None => ffi::matmul(&x.inner, &weight.inner, &mem, dt, &pc, &ckc),
    }
    .map_err(backend("linear"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::matmul(a, b)` with explicit configs, for callers outside generated code.
pub fn matmul(
    a: &Tensor,
    b: &Tensor,
    program_config: &MatmulProgramConfig,
    compute_kernel_config: &ComputeKernelConfig,
    memory_config: &MemoryConfig,
    dtype: DataType,
) -> Result<Tensor> {
    let out = ffi::matmul(
        &a.inner,
        &b.inner,
        &convert::memory_config(memory_config),
        convert::data_type(dtype),
        &convert::matmul_config(program_config),
        &convert::compute_config(compute_kernel_config),
    )
    .map_err(backend("matmul"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::add(a, b)`.
pub fn add(a: &Tensor, b: &Tensor, memory_config: &MemoryConfig, dtype: DataType) -> Result<Tensor> {
    let out = ffi::add(&a.inner, &b.inner, &convert::memory_config(memory_config), convert::data_type(dtype))
        .map_err(backend("add"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::silu(a)`.
pub fn silu(a: &Tensor, memory_config: &MemoryConfig) -> Result<Tensor> {
    let out = ffi::silu(&a.inner, &convert::memory_config(memory_config)).map_err(backend("silu"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::rms_norm(x, epsilon, weight)`.
pub fn rms_norm(
    x: &Tensor,
    epsilon: f32,
    weight: &Tensor,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    let out = ffi::rms_norm(
        &x.inner,
        epsilon,
        &weight.inner,
        &convert::memory_config(memory_config),
        &convert::compute_config(compute_kernel_config),
    )
    .map_err(backend("rms_norm"))?;
    Ok(Tensor { inner: out })
}
