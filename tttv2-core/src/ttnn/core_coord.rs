use serde::{Deserialize, Serialize};

/// A logical worker-core coordinate or a grid size (`CoreCoord` = `tt::xy_pair`: x is the column,
/// y the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CoreCoord {
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

impl CoreCoord {
    /// A coordinate or grid size.
    pub const fn new(x: u32, y: u32) -> Self {
        CoreCoord { x, y }
    }

    /// Number of cores in a grid of this size.
    pub const fn area(self) -> u32 {
        self.x * self.y
    }
}

/// An inclusive rectangle of cores (`CoreRange`: `end` is inclusive, as in tt-metal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoreRange {
    /// First core.
    pub start: CoreCoord,
    /// Last core, inclusive.
    pub end: CoreCoord,
}

impl CoreRange {
    /// The rectangle `(0,0) ..= (grid.x-1, grid.y-1)`.
    pub const fn from_grid(grid: CoreCoord) -> Self {
        CoreRange { start: CoreCoord::new(0, 0), end: CoreCoord::new(grid.x - 1, grid.y - 1) }
    }

    /// Width and height of the rectangle.
    pub const fn grid_size(self) -> CoreCoord {
        CoreCoord::new(self.end.x - self.start.x + 1, self.end.y - self.start.y + 1)
    }
}

/// The cores a sharded tensor lives on.
///
/// TT-NN describes them with a `CoreRangeSet`; every shard grid TT-NN's matmul and the planners
/// build is `num_cores_to_corerangeset(num_cores, grid, row_wise = true)` (matmul-rules.md §3, §6):
/// the first `num_cores` cores of `bounding_box` taken row by row. We keep exactly that form so the
/// type stays `Copy` and can live in a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShardGrid {
    /// The rectangle the cores are taken from.
    pub bounding_box: CoreRange,
    /// How many cores, filled row by row from `bounding_box.start`.
    pub num_cores: u32,
}

impl ShardGrid {
    /// `num_cores` cores of a `grid`-sized rectangle at the origin, row-wise, described by the
    /// bounding box of the cores taken (as TT-NN's `num_cores_to_corerangeset` describes them, and
    /// as ops that pick their own output grid report it), so one set of cores has one description.
    pub const fn row_wise(num_cores: u32, grid: CoreCoord) -> Self {
        if num_cores == 0 || grid.x == 0 {
            return ShardGrid { bounding_box: CoreRange::from_grid(grid), num_cores };
        }
        let w = if num_cores < grid.x { num_cores } else { grid.x };
        let rows = num_cores.div_ceil(grid.x);
        ShardGrid {
            bounding_box: CoreRange { start: CoreCoord::new(0, 0), end: CoreCoord::new(w - 1, rows - 1) },
            num_cores,
        }
    }

    /// Columns and rows the cores actually occupy (the bounding box TT-NN computes from the
    /// `CoreRangeSet`): one partial row when `num_cores` is below the rectangle's width, else full
    /// rows plus a partial last one.
    pub const fn extent(&self) -> CoreCoord {
        let w = self.bounding_box.grid_size().x;
        if w == 0 || self.num_cores <= w {
            CoreCoord::new(self.num_cores, 1)
        } else {
            CoreCoord::new(w, self.num_cores.div_ceil(w))
        }
    }

    /// Whether the cores form a full rectangle.
    pub const fn is_rectangular(&self) -> bool {
        let e = self.extent();
        e.x * e.y == self.num_cores
    }
}
