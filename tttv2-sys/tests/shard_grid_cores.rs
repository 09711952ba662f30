//! The cores of a shard grid that does not start at the origin, as both backends pick them.
//!
//! Both backends take a shard grid's cores from one helper, `cpp/common/shard_grid.h`: the host
//! backend places shard i on `shard_grid_cores(...)[i]`, the TT-NN backend builds its
//! `CoreRangeSet` from `shard_grid_ranges(...)`, in order (`cpp/ttnn/backend.cc`, `to_tt(const
//! MemConfig&)`). TT-NN's shard order over a `CoreRangeSet` is `corerange_to_cores(grid, _,
//! row_wise)`: the ranges in order, each walked row by row (x fastest) or column by column
//! (tt_metal/common/core_coord.cpp @ 13adda80, `grid_to_cores(start, end, row_wise)`).
//!
//! 1. The helper is compiled on its own with the system C++ compiler and run over grids not at
//!    (0, 0); its ranges, walked the TT-NN way (`tt_order` below), and its cores must equal the
//!    cores written out by hand here.
//! 2. The host backend, through the bridge, must place shards on those same cores.
//!
//! Before the fix, the TT-NN backend called `num_cores_to_corerangeset(start, num_cores, size,
//! row_wise)` with `size` the bounding box's width x height, which TT-NN reads as a grid from the
//! origin (tt_metal/common/work_split.cpp @ 13adda80): for the 4x3 box at (2, 1) with 6 cores
//! row-wise it picks (2,1) (3,1) then wraps to x = 0: (0,2) (1,2) (2,2) (3,2), not the host's
//! (2,1) (3,1) (4,1) (5,1) (2,2) (3,2); grids whose start lies outside `size` abort with TT_FATAL.
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use tttv2_core::ttnn::*;
use tttv2_sys::Tensor;

type Core = (u32, u32);
type Rect = (u32, u32, u32, u32);

/// One grid: bounding box (x0, y0, x1, y1), num_cores, row-wise.
struct Case {
    bbox: Rect,
    num_cores: u32,
    row_wise: bool,
    /// The expected cores in shard order, written out by hand from the definition (the first
    /// `num_cores` cores of the box in orientation order).
    cores: &'static [Core],
}

const CASES: &[Case] = &[
    // 4 wide, 3 tall at (2, 1); 6 cores row by row: one full row, then 2 of the next.
    Case { bbox: (2, 1, 5, 3), num_cores: 6, row_wise: true, cores: &[(2, 1), (3, 1), (4, 1), (5, 1), (2, 2), (3, 2)] },
    // The same box column by column: two full columns of 3.
    Case {
        bbox: (2, 1, 5, 3),
        num_cores: 6,
        row_wise: false,
        cores: &[(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)],
    },
    // 3x3 at (1, 2), 7 cores column by column: two full columns, then 1 of the third.
    Case {
        bbox: (1, 2, 3, 4),
        num_cores: 7,
        row_wise: false,
        cores: &[(1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4), (3, 2)],
    },
    // Fewer cores than the box is wide: a partial first row only.
    Case { bbox: (4, 6, 7, 7), num_cores: 3, row_wise: true, cores: &[(4, 6), (5, 6), (6, 6)] },
    // The whole box, not at the origin.
    Case { bbox: (6, 5, 7, 6), num_cores: 4, row_wise: true, cores: &[(6, 5), (7, 5), (6, 6), (7, 6)] },
];

const DRIVER: &str = r#"
#include <cstdio>
#include <cstdlib>
#include "shard_grid.h"
// args: x0 y0 x1 y1 num_cores row_wise. Prints "R x0 y0 x1 y1" per range, "C x y" per core,
// or "E <message>" when the helper throws.
int main(int argc, char** argv) {
  if (argc != 7) return 2;
  unsigned v[6];
  for (int i = 0; i < 6; ++i) v[i] = unsigned(std::strtoul(argv[i + 1], nullptr, 10));
  try {
    for (const auto& r : tttv2::grid::shard_grid_ranges(v[0], v[1], v[2], v[3], v[4], v[5] != 0))
      std::printf("R %u %u %u %u\n", r.x0, r.y0, r.x1, r.y1);
    for (const auto& c : tttv2::grid::shard_grid_cores(v[0], v[1], v[2], v[3], v[4], v[5] != 0))
      std::printf("C %u %u\n", c.first, c.second);
  } catch (const std::exception& e) {
    std::printf("E %s\n", e.what());
  }
  return 0;
}
"#;

/// Builds the driver against `cpp/common/shard_grid.h`, once per test binary run (the tests run on
/// parallel threads of one process).
fn driver() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(build_driver).clone()
}

fn build_driver() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shard_grid_cores");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("driver-{}.cc", std::process::id()));
    let exe = dir.join(format!("driver-{}", std::process::id()));
    std::fs::write(&src, DRIVER).unwrap();
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cpp/common");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".to_owned());
    let out = Command::new(&cxx)
        .args(["-std=c++17", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C++ compiler {cxx}: {e}"));
    assert!(
        out.status.success(),
        "compiling the shard_grid.h driver failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// The helper's ranges and cores for one grid, or its error text.
fn run(exe: &PathBuf, bbox: Rect, num_cores: u32, row_wise: bool) -> Result<(Vec<Rect>, Vec<Core>), String> {
    let args = [bbox.0, bbox.1, bbox.2, bbox.3, num_cores, row_wise as u32].map(|v| v.to_string());
    let out = Command::new(exe).args(&args).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut ranges, mut cores) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut it = line.split(' ');
        match it.next() {
            Some("E") => return Err(it.collect::<Vec<_>>().join(" ")),
            Some(tag) => {
                let n: Vec<u32> = it.map(|v| v.parse().unwrap()).collect();
                match tag {
                    "R" => ranges.push((n[0], n[1], n[2], n[3])),
                    "C" => cores.push((n[0], n[1])),
                    _ => panic!("bad driver line {line}"),
                }
            }
            None => {}
        }
    }
    Ok((ranges, cores))
}

/// TT-NN's shard order over a CoreRangeSet built from `ranges` in order: corerange_to_cores walks
/// the ranges in order, each with grid_to_cores(start, end, row_wise).
fn tt_order(ranges: &[Rect], row_wise: bool) -> Vec<Core> {
    let mut cores = Vec::new();
    for &(x0, y0, x1, y1) in ranges {
        if row_wise {
            for y in y0..=y1 {
                cores.extend((x0..=x1).map(|x| (x, y)));
            }
        } else {
            for x in x0..=x1 {
                cores.extend((y0..=y1).map(|y| (x, y)));
            }
        }
    }
    cores
}

#[test]
fn helper_picks_the_expected_cores_off_the_origin() {
    let exe = driver();
    for c in CASES {
        let (ranges, cores) = run(&exe, c.bbox, c.num_cores, c.row_wise).unwrap();
        let what = format!("bbox {:?}, {} cores, row_wise {}", c.bbox, c.num_cores, c.row_wise);
        assert_eq!(cores, c.cores, "{what}: shard_grid_cores");
        // The TT-NN backend's CoreRangeSet: the same cores in the same order, no core twice.
        assert_eq!(tt_order(&ranges, c.row_wise), c.cores, "{what}: shard_grid_ranges {ranges:?}");
        assert!(ranges.len() <= 2, "{what}: {ranges:?}");
        for &(x0, y0, x1, y1) in &ranges {
            assert!(
                x0 >= c.bbox.0 && y0 >= c.bbox.1 && x1 <= c.bbox.2 && y1 <= c.bbox.3,
                "{what}: {ranges:?} leaves the box"
            );
        }
    }
    // Exact shapes of the ranges for the first case: the full row, then the partial one.
    assert_eq!(run(&exe, (2, 1, 5, 3), 6, true).unwrap().0, vec![(2, 1, 5, 1), (2, 2, 3, 2)]);
}

#[test]
fn helper_rejects_grids_it_cannot_fill() {
    let exe = driver();
    let err = run(&exe, (2, 1, 5, 3), 13, true).unwrap_err();
    assert!(err.contains("num_cores 13 must be in 1..=12"), "{err}");
    let err = run(&exe, (2, 1, 5, 3), 0, false).unwrap_err();
    assert!(err.contains("num_cores 0"), "{err}");
    let err = run(&exe, (5, 1, 2, 3), 1, true).unwrap_err();
    assert!(err.contains("before its start"), "{err}");
}

fn sharded(bbox: Rect, num_cores: u32, row_wise: bool, layout: TensorMemoryLayout, shape: [u32; 2]) -> MemoryConfig {
    MemoryConfig {
        memory_layout: layout,
        buffer_type: BufferType::L1,
        shard_spec: Some(ShardSpec {
            grid: ShardGrid {
                bounding_box: CoreRange { start: CoreCoord::new(bbox.0, bbox.1), end: CoreCoord::new(bbox.2, bbox.3) },
                num_cores,
            },
            shape,
            orientation: if row_wise { ShardOrientation::RowMajor } else { ShardOrientation::ColMajor },
        }),
    }
}

#[test]
fn host_backend_places_shards_on_the_same_cores() {
    let dev = device();
    for c in CASES {
        let n = c.num_cores;
        // Height sharded: n shards of 32 rows; width sharded: n shards of 32 columns.
        for (layout, shape, tensor_shape) in [
            (TensorMemoryLayout::HeightSharded, [32, 64], [32 * n, 64]),
            (TensorMemoryLayout::WidthSharded, [32, 32], [32, 32 * n]),
        ] {
            let mem = sharded(c.bbox, n, c.row_wise, layout, shape);
            let data = Rng(7).vec((tensor_shape[0] * tensor_shape[1]) as usize);
            let t = Tensor::from_f32(&dev, &data, &tensor_shape, DataType::Bfloat16, Layout::Tile, &mem).unwrap();
            let placed: Vec<Core> = t.shards().iter().map(|s| (s.core_x, s.core_y)).collect();
            assert_eq!(placed, c.cores, "bbox {:?}, {n} cores, row_wise {}, {layout:?}", c.bbox, c.row_wise);
            // Shard i holds the i-th block of rows (height) or columns (width).
            for (i, s) in t.shards().iter().enumerate() {
                let (r, col) =
                    if layout == TensorMemoryLayout::HeightSharded { (32 * i as u32, 0) } else { (0, 32 * i as u32) };
                assert_eq!((s.row0, s.col0), (r, col), "shard {i}");
            }
            assert_eq!(t.to_f32().unwrap(), bf16v(&data), "round trip through the shards");
        }
    }
}
