// The cores of a shard grid, shared by the host and the TT-NN backend (header-only, C++17, no
// dependencies, so a host test can compile it on its own: tests/shard_grid_cores.rs).
//
// A ShardSpecDesc (src/bridge.rs) describes its grid as tttv2-core's ShardGrid does
// (tttv2-core/src/ttnn/core_coord.rs): the first `num_cores` cores of the inclusive bounding box
// (start_x, start_y) ..= (end_x, end_y), taken row by row (ROW_MAJOR: x fastest) or column by
// column (COL_MAJOR: y fastest), starting at the box's own start. Shard i sits on core i.
//
// TT-NN describes the same cores with a CoreRangeSet. Its shard order is corerange_to_cores(grid,
// _, row_wise = orientation == ROW_MAJOR), which walks the set's ranges in order and each range
// in orientation order (tt_metal/common/core_coord.cpp @ 13adda80), and CoreRangeSet's
// std::vector<CoreRange>&& constructor keeps the ranges' order. So the ranges below, in this
// order, give TT-NN exactly the cores and the shard order of shard_grid_cores().
//
// (tt::tt_metal::num_cores_to_corerangeset(start, n, grid_size, row_wise) is not this: it reads
// grid_size as the whole grid from the origin and wraps rows to x = 0 / columns to y = 0,
// tt_metal/common/work_split.cpp @ 13adda80.)
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tttv2::grid {

/// An inclusive rectangle of cores, (x0, y0) ..= (x1, y1).
struct CoreRect {
  uint32_t x0, y0, x1, y1;
};

/// The rectangles (at most two) that hold exactly the first `num_cores` cores of the box
/// (start_x, start_y) ..= (end_x, end_y) in orientation order, in that order: the full rows (or
/// columns), then the partial last row (or column). Throws std::invalid_argument for an empty or
/// inverted box or num_cores outside 1..=box.
inline std::vector<CoreRect> shard_grid_ranges(uint32_t start_x, uint32_t start_y, uint32_t end_x, uint32_t end_y,
                                               uint32_t num_cores, bool row_wise) {
  if (start_x > end_x || start_y > end_y)
    throw std::invalid_argument("shard grid: bounding box end (" + std::to_string(end_x) + "," + std::to_string(end_y) +
                                ") is before its start (" + std::to_string(start_x) + "," + std::to_string(start_y) + ")");
  const uint64_t w = uint64_t(end_x) - start_x + 1, h = uint64_t(end_y) - start_y + 1;
  if (num_cores == 0 || num_cores > w * h)
    throw std::invalid_argument("shard grid: num_cores " + std::to_string(num_cores) + " must be in 1..=" +
                                std::to_string(w * h) + " (its bounding box)");
  // Along the fast axis a line holds `line` cores; `full` whole lines, then `rest` cores.
  const uint32_t line = uint32_t(row_wise ? w : h);
  const uint32_t full = num_cores / line, rest = num_cores % line;
  std::vector<CoreRect> out;
  if (row_wise) {
    if (full) out.push_back({start_x, start_y, end_x, start_y + full - 1});
    if (rest) out.push_back({start_x, start_y + full, start_x + rest - 1, start_y + full});
  } else {
    if (full) out.push_back({start_x, start_y, start_x + full - 1, end_y});
    if (rest) out.push_back({start_x + full, start_y, start_x + full, start_y + rest - 1});
  }
  return out;
}

/// The cores of shard_grid_ranges() as (x, y), in shard order: each rectangle in turn, walked
/// row by row (row_wise) or column by column.
inline std::vector<std::pair<uint32_t, uint32_t>> shard_grid_cores(uint32_t start_x, uint32_t start_y, uint32_t end_x,
                                                                   uint32_t end_y, uint32_t num_cores, bool row_wise) {
  std::vector<std::pair<uint32_t, uint32_t>> cores;
  cores.reserve(num_cores);
  for (const CoreRect& r : shard_grid_ranges(start_x, start_y, end_x, end_y, num_cores, row_wise)) {
    if (row_wise) {
      for (uint32_t y = r.y0; y <= r.y1; ++y)
        for (uint32_t x = r.x0; x <= r.x1; ++x) cores.emplace_back(x, y);
    } else {
      for (uint32_t x = r.x0; x <= r.x1; ++x)
        for (uint32_t y = r.y0; y <= r.y1; ++y) cores.emplace_back(x, y);
    }
  }
  return cores;
}

}  // namespace tttv2::grid
