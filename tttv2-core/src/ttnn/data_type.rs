use serde::{Deserialize, Serialize};

/// Tile height in elements: TT-NN works on 32×32 tiles made of four 16×16 faces
/// (`ttnn::TILE_SIZE`, `tt::constants::TILE_HEIGHT`; hardware.md "Common to all architectures").
pub const TILE_HEIGHT: u32 = 32;
/// Tile width in elements (see [`TILE_HEIGHT`]).
pub const TILE_WIDTH: u32 = 32;

/// Element type of a tensor, mirroring `tt::tt_metal::DataType` (discriminants equal TT-NN's,
/// `tensor_types.hpp`: BFLOAT16=0, FLOAT32=1, UINT32=2, BFLOAT8_B=3, BFLOAT4_B=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum DataType {
    /// bfloat16: 1 sign, 8 exponent, 7 mantissa bits.
    Bfloat16 = 0,
    /// IEEE float32.
    Float32 = 1,
    /// Unsigned 32-bit integers (token ids).
    Uint32 = 2,
    /// Block float: 16 values share one 8-bit exponent, 7-bit mantissa plus sign each. TILE only.
    #[serde(rename = "BFLOAT8_B")]
    Bfloat8B = 3,
    /// Block float: 16 values share one 8-bit exponent, 3-bit mantissa plus sign each. TILE only.
    #[serde(rename = "BFLOAT4_B")]
    Bfloat4B = 4,
}

impl DataType {
    /// Bytes of one 32×32 tile in this format
    /// (`tt_metal/api/tt-metalium/tt_backend_api_types.hpp::tile_size`, hardware.md).
    pub const fn tile_bytes(self) -> u64 {
        match self {
            DataType::Float32 | DataType::Uint32 => 4096,
            DataType::Bfloat16 => 2048,
            // 1024 mantissa/sign bytes + 64 shared-exponent bytes (16 per face row group).
            DataType::Bfloat8B => 1088,
            DataType::Bfloat4B => 576,
        }
    }

    /// TT-NN's spelling, e.g. `BFLOAT8_B`.
    pub const fn ttnn_name(self) -> &'static str {
        match self {
            DataType::Bfloat16 => "BFLOAT16",
            DataType::Float32 => "FLOAT32",
            DataType::Uint32 => "UINT32",
            DataType::Bfloat8B => "BFLOAT8_B",
            DataType::Bfloat4B => "BFLOAT4_B",
        }
    }

    /// Block-float formats exist only in TILE layout (hardware.md "Block-float").
    pub const fn is_block_float(self) -> bool {
        matches!(self, DataType::Bfloat8B | DataType::Bfloat4B)
    }

    /// Whether TT-NN accepts this type as a floating-point matmul operand.
    pub const fn is_float(self) -> bool {
        !matches!(self, DataType::Uint32)
    }

    /// Parses TT-NN's spelling or the short forms users write (`bf16`, `bfp8`, `bfloat8_b`, …).
    pub fn parse(s: &str) -> Option<DataType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "bfloat16" | "bf16" => DataType::Bfloat16,
            "float32" | "f32" | "fp32" => DataType::Float32,
            "uint32" | "u32" => DataType::Uint32,
            "bfloat8_b" | "bfp8" | "bfp8_b" | "bf8" => DataType::Bfloat8B,
            "bfloat4_b" | "bfp4" | "bfp4_b" | "bf4" => DataType::Bfloat4B,
            _ => return None,
        })
    }
}

/// Memory layout of a tensor's pages, mirroring `tt::tt_metal::Layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum Layout {
    /// Rows stored contiguously.
    RowMajor = 0,
    /// 32×32 tiles of four 16×16 faces; what every compute op consumes.
    Tile = 1,
}
