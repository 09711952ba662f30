use serde::{Deserialize, Serialize};

use super::ShardGrid;

/// How a tensor is spread over banks or cores (`tt::tt_metal::TensorMemoryLayout`; TT-NN's values,
/// value 1 is unused there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum TensorMemoryLayout {
    /// Pages round-robin over all banks.
    Interleaved = 0,
    /// Rows split over cores; each core holds full rows.
    HeightSharded = 2,
    /// Columns split over cores; each core holds full columns.
    WidthSharded = 3,
    /// A 2D split over a core grid.
    BlockSharded = 4,
}

/// Which memory holds a tensor (`tt::tt_metal::BufferType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum BufferType {
    /// Device DRAM.
    Dram = 0,
    /// Per-core SRAM.
    L1 = 1,
}

/// Order in which shards are laid on the shard grid (`tt::tt_metal::ShardOrientation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum ShardOrientation {
    /// Shards fill the grid row by row.
    RowMajor = 0,
    /// Shards fill the grid column by column.
    ColMajor = 1,
}

/// `tt::tt_metal::ShardSpec`: the grid and the shape of one shard, in elements `[height, width]`
/// of the tensor flattened to 2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShardSpec {
    /// The cores holding the shards.
    pub grid: ShardGrid,
    /// `[height, width]` of one shard in elements.
    pub shape: [u32; 2],
    /// Shard order on the grid.
    pub orientation: ShardOrientation,
}

/// `tt::tt_metal::MemoryConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryConfig {
    /// Interleaved or one of the sharded layouts.
    pub memory_layout: TensorMemoryLayout,
    /// DRAM or L1.
    pub buffer_type: BufferType,
    /// Required for sharded layouts when the op cannot compute it.
    pub shard_spec: Option<ShardSpec>,
}

impl MemoryConfig {
    /// `ttnn::DRAM_MEMORY_CONFIG`: interleaved in DRAM; TT-NN's default output memory config.
    pub const DRAM_INTERLEAVED: MemoryConfig = MemoryConfig {
        memory_layout: TensorMemoryLayout::Interleaved,
        buffer_type: BufferType::Dram,
        shard_spec: None,
    };
    /// `ttnn::L1_MEMORY_CONFIG`: interleaved over the L1 banks.
    pub const L1_INTERLEAVED: MemoryConfig =
        MemoryConfig { memory_layout: TensorMemoryLayout::Interleaved, buffer_type: BufferType::L1, shard_spec: None };

    /// A sharded config.
    pub const fn sharded(memory_layout: TensorMemoryLayout, buffer_type: BufferType, shard_spec: ShardSpec) -> Self {
        MemoryConfig { memory_layout, buffer_type, shard_spec: Some(shard_spec) }
    }

    /// Whether the layout is one of the sharded ones.
    pub const fn is_sharded(&self) -> bool {
        !matches!(self.memory_layout, TensorMemoryLayout::Interleaved)
    }
}
