use cxx::UniquePtr;
use tttv2_core::ttnn::{DataType, Layout, MemoryConfig};

use crate::bridge::ffi;
use crate::convert;
use crate::device::Device;
use crate::error::{Error, Result, backend};

/// A tensor on a device.
pub struct Tensor {
    pub(crate) inner: UniquePtr<ffi::Tensor>,
}

impl Tensor {
    /// Uploads row-major `data` of logical `shape`, converted to `dtype` (rounded as the device
    /// would round it) in `layout`, placed as `memory_config` says.
    pub fn from_f32(
        device: &Device,
        data: &[f32],
        shape: &[u32],
        dtype: DataType,
        layout: Layout,
        memory_config: &MemoryConfig,
    ) -> Result<Tensor> {
        let volume: u64 = shape.iter().map(|&d| d as u64).product();
        if volume != data.len() as u64 {
            return Err(Error::Shape {
                op: "from_f32",
                message: format!("shape {shape:?} holds {volume} values but {} were given", data.len()),
            });
        }
        let inner = ffi::tensor_from_f32(
            &device.inner,
            data,
            shape,
            convert::data_type(dtype),
            convert::layout(layout),
            &convert::memory_config(memory_config),
        )
        .map_err(backend("from_f32"))?;
        Ok(Tensor { inner })
    }

    /// A tensor of zeros of logical `shape` in `dtype` and `layout`, placed as `memory_config`
    /// says (`ttnn::zeros`): nothing is uploaded from the host.
    pub fn zeros(
        device: &Device,
        shape: &[u32],
        dtype: DataType,
        layout: Layout,
        memory_config: &MemoryConfig,
    ) -> Result<Tensor> {
        let inner = ffi::tensor_zeros(
            &device.inner,
            shape,
            convert::data_type(dtype),
            convert::layout(layout),
            &convert::memory_config(memory_config),
        )
        .map_err(backend("zeros"))?;
        Ok(Tensor { inner })
    }

    /// Reads the tensor back as logical row-major f32.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        ffi::tensor_to_f32(&self.inner).map_err(backend("to_f32"))
    }

    /// Logical shape.
    pub fn shape(&self) -> Vec<u32> {
        ffi::tensor_shape(&self.inner)
    }

    /// dtype.
    pub fn dtype(&self) -> DataType {
        convert::data_type_back(ffi::tensor_dtype(&self.inner))
    }

    /// Where the tensor lives.
    pub fn memory_config(&self) -> MemoryConfig {
        convert::memory_config_back(&ffi::tensor_memory_config(&self.inner))
    }

    /// Layout.
    pub fn layout(&self) -> Layout {
        convert::layout_back(ffi::tensor_layout(&self.inner))
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.shape())
            .field("dtype", &self.dtype())
            .field("layout", &self.layout())
            .finish()
    }
}

/// Where one shard of a sharded tensor lives.
pub use crate::bridge::ffi::ShardPlacement;

impl Tensor {
    /// Uploads UINT32 `data` (token ids) of logical `shape`.
    pub fn from_u32(
        device: &Device,
        data: &[u32],
        shape: &[u32],
        layout: Layout,
        memory_config: &MemoryConfig,
    ) -> Result<Tensor> {
        let volume: u64 = shape.iter().map(|&d| d as u64).product();
        if volume != data.len() as u64 {
            return Err(Error::Shape {
                op: "from_u32",
                message: format!("shape {shape:?} holds {volume} values but {} were given", data.len()),
            });
        }
        let inner = ffi::tensor_from_u32(
            &device.inner,
            data,
            shape,
            convert::layout(layout),
            &convert::memory_config(memory_config),
        )
        .map_err(backend("from_u32"))?;
        Ok(Tensor { inner })
    }

    /// Reads a UINT32 tensor back.
    pub fn to_u32(&self) -> Result<Vec<u32>> {
        ffi::tensor_to_u32(&self.inner).map_err(backend("to_u32"))
    }

    /// The shards of a sharded tensor in shard order (empty when interleaved).
    pub fn shards(&self) -> Vec<ShardPlacement> {
        ffi::tensor_shards(&self.inner)
    }

    /// The buffer of shard `index` (`rows x cols` values of the physical 2D shape, padding
    /// included).
    pub fn shard_values(&self, index: u32) -> Result<Vec<f32>> {
        ffi::tensor_shard_values(&self.inner, index).map_err(backend("shard_values"))
    }

    /// The tensor's device pages as 32-bit words (host backend diagnostic): ROW_MAJOR pages are
    /// rows; TILE pages are 32x32 tiles of four 16x16 faces; bf16 holds two values per word
    /// (the first in the low half), bfloat8_b / bfloat4_b use tt-metal's block-float packing.
    pub fn raw_words(&self) -> Result<Vec<u32>> {
        ffi::tensor_raw_words(&self.inner).map_err(backend("raw_words"))
    }
}
