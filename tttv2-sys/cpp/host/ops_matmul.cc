// Host backend: matmul / linear. Validation follows TT-NN's (matmul-rules.md, which cites
// ttnn/cpp/ttnn/operations/matmul/device/matmul_device_operation.cpp @ 13adda80); the work is
// then split per core, per out_block and per K block exactly as the program config says, and
// the dest / intermediate-buffer rounding of the device kernels is modelled (see compute_region).

#include <algorithm>
#include <thread>

#include "host_impl.h"

namespace tttv2::ffi {
using namespace host_detail;

namespace {

// Which implementation matmul uses on this thread (host_set_matmul_path): 0 = automatic (the
// prepared-weight path, host::gemm_prepared, for every M), 1 = always the general per-region
// path (the reference model: per-call operand copies, one sgemm per region and K step), 2 = the
// prepared path for at most host::kSmallMaxRows rows (an error when M is larger), 3 = the prepared
// path for any M. Thread-local so that tests comparing the paths do not disturb each other.
thread_local uint32_t t_matmul_path = 0;

struct MatmulDims {
  uint32_t M, K, N;  // M fused over batch dims
  uint32_t Mt, Kt, Nt;
};

// TT-NN's program-config validation (matmul-rules.md §1-§6) and the CB L1 check
// (tt-metal program.cpp "Statically allocated circular buffers ... beyond max L1 size").
void validate_program_config(const DeviceDesc& dev, const MatmulDims& d, const MatmulConfig& pc,
                             const ComputeConfig& cc, const Tensor::Impl& a, const Tensor::Impl& b,
                             bool has_bias, DataType out_dtype, const MemConfig& out_mem) {
  const bool out_sharded = out_mem.layout != TensorMemoryLayout::Interleaved;
  uint64_t cb_bytes = 0;
  const uint64_t at = tile_bytes(a.dtype), bt = tile_bytes(b.dtype), ot = tile_bytes(out_dtype);
  auto grid_check = [&] {
    if (pc.grid_x == 0 || pc.grid_y == 0 || pc.grid_x > dev.grid_x || pc.grid_y > dev.grid_y)
      fatal(cat("compute_with_storage_grid_size (", pc.grid_x, ", ", pc.grid_y,
                ") must be non-zero and fit the device compute grid (", dev.grid_x, ", ", dev.grid_y, ")"));
  };
  auto subblock_check = [&] {
    if (pc.out_subblock_h == 0 || pc.out_subblock_w == 0) fatal("out_subblock_h and out_subblock_w must be non-zero");
    const uint32_t limit = dest_tiles(cc);
    if (pc.out_subblock_h * pc.out_subblock_w > limit)
      fatal(cat("out_subblock_w ", pc.out_subblock_w, " times out_subblock_h ", pc.out_subblock_h,
                " needs to be at most ", limit, " to fit in hardware"));
  };
  auto k_check = [&] {
    if (pc.in0_block_w == 0) fatal("in0_block_w must be non-zero");
    if (d.Kt % pc.in0_block_w != 0)
      fatal(cat("Kt ", d.Kt, " must be divisible by in0_block_w ", pc.in0_block_w));
  };
  auto block_check = [&] {
    if (pc.per_core_m == 0 || pc.per_core_n == 0) fatal("per_core_M and per_core_N must be non-zero");
    if (pc.out_block_h == 0 || pc.out_block_w == 0) fatal("out_block_h and out_block_w must be non-zero");
    if (pc.out_block_h % pc.out_subblock_h != 0) fatal(cat("out_block_h ", pc.out_block_h, " must be divisible by out_subblock_h ", pc.out_subblock_h));
    if (pc.out_block_w % pc.out_subblock_w != 0) fatal(cat("out_block_w ", pc.out_block_w, " must be divisible by out_subblock_w ", pc.out_subblock_w));
    if (pc.per_core_m % pc.out_block_h != 0) fatal(cat("per_core_M ", pc.per_core_m, " must be divisible by out_block_h ", pc.out_block_h));
    if (pc.per_core_n % pc.out_block_w != 0) fatal(cat("per_core_N ", pc.per_core_n, " must be divisible by out_block_w ", pc.out_block_w));
  };
  auto sharded_out_check = [&] {
    if (out_sharded && !(pc.out_subblock_w == pc.per_core_n || pc.out_subblock_h == 1))
      fatal(cat("Sharded output requires out_subblock_w == per_core_N or out_subblock_h == 1 (got out_subblock_h ",
                pc.out_subblock_h, ", out_subblock_w ", pc.out_subblock_w, ", per_core_N ", pc.per_core_n, ")"));
  };
  // CBs of the multicast factories (matmul-rules.md §8).
  auto mcast_cbs = [&] {
    const uint64_t num_blocks = d.Kt / pc.in0_block_w;
    const uint64_t mult = num_blocks > 1 ? 2 : 1;
    const bool l1_acc = cc.packer_l1_acc && ((has_bias && num_blocks > 1) || num_blocks > 2);
    const uint64_t interm_tile = cc.fp32_dest_acc_en ? 4096 : (l1_acc ? 2048 : ot);
    const uint64_t out_tiles = out_sharded ? uint64_t(pc.per_core_m) * pc.per_core_n : uint64_t(pc.out_block_h) * pc.out_block_w;
    const bool shares = interm_tile == ot && !(out_sharded && pc.per_core_m != pc.out_block_h);
    cb_bytes = uint64_t(pc.out_block_h) * pc.in0_block_w * mult * at + uint64_t(pc.out_block_w) * pc.in0_block_w * mult * bt +
               out_tiles * ot + (shares ? 0 : uint64_t(pc.out_block_h) * pc.out_block_w * interm_tile) +
               (has_bias ? uint64_t(pc.out_block_w) * bt : 0);
  };

  // In1 (operand B) memory layout (matmul_device_operation.cpp @ 13adda80, the 2D branch ~L1520,
  // 1D ~L1258 / ~L1333, Reuse ~L1718; matmul-rules.md §2-§4). Texts are TT-NN's.
  const bool a_sharded = a.mem.layout != TensorMemoryLayout::Interleaved;
  const bool b_sharded = b.mem.layout != TensorMemoryLayout::Interleaved;
  const ShardSpecDesc& bs = b.mem.shard;
  const uint32_t b_shard_wt = bs.shape_w / kTile;
  // Rows spanned by the bounding box of B's shard grid: the cores num_cores_to_corerangeset
  // (num_cores, bbox, row_wise = ROW_MAJOR) picks (ops_tensor.cc's shard_cores).
  auto b_grid_end_y = [&] {
    const uint32_t w = bs.end_x - bs.start_x + 1, h = bs.end_y - bs.start_y + 1;
    const uint32_t rows = bs.orientation == ShardOrientation::RowMajor ? div_up(bs.num_cores, w) : bs.num_cores;
    return bs.start_y + std::min(h, rows) - 1;
  };
  auto in1_2d_check = [&] {
    if (!b_sharded) return;
    if (pc.transpose_mcast) fatal("Transpose MCAST not supported when input B is sharded");
    if (b.mem.layout != TensorMemoryLayout::WidthSharded && b.mem.layout != TensorMemoryLayout::HeightSharded)
      fatal(cat("Input B memory layout must be WIDTH_SHARDED, HEIGHT_SHARDED, or DRAM ND_SHARDED, got: ", mem_layout_name(b.mem.layout)));
    if (b.mem.layout == TensorMemoryLayout::HeightSharded) {
      if (b.mem.buffer != BufferType::Dram) fatal("HEIGHT_SHARDED input B is only supported in DRAM, got: L1");
      if (pc.fuse_batch) fatal("HEIGHT_SHARDED input B requires fuse_batch=false for batched matmul");
      const uint32_t sh = bs.shape_h / kTile;
      if (b_shard_wt != d.Nt) fatal(cat("HEIGHT_SHARDED input B shard width (", b_shard_wt, " tiles) must equal N (", d.Nt, " tiles)"));
      if (sh < d.Kt) fatal(cat("HEIGHT_SHARDED input B shard height (", sh, " tiles) must be >= K (", d.Kt, " tiles)"));
      if (sh % d.Kt != 0)
        fatal(cat("HEIGHT_SHARDED input B shard height (", sh, " tiles) must be divisible by K (", d.Kt,
                  " tiles) so each bank holds complete [K, N] matrices"));
      // B's batch is 1 here (matmul_impl rejects batched weights), so batches_per_bank * num_banks >= 1.
    }
    if (b.mem.buffer != BufferType::Dram) {
      if (a_sharded && a.mem.layout != TensorMemoryLayout::HeightSharded)
        fatal(cat("Error - non-DRAM width sharded input B requires input A to be interleaved or height sharded, rather than ",
                  mem_layout_name(a.mem.layout)));
      if (pc.per_core_n != b_shard_wt)
        fatal(cat("per_core_N (", pc.per_core_n, ") must equal input tensor B shard shape[1] / in1_tile.get_width() (", b_shard_wt, ")"));
    }
    if (b.mem.layout == TensorMemoryLayout::WidthSharded && b_grid_end_y() != bs.start_y)
      fatal(cat("Width-sharded input tensor B grid bounding box must have equal start and end y coordinates, got start: ",
                bs.start_y, " vs end: ", b_grid_end_y()));
  };
  auto in1_1d_check = [&] {
    if (pc.mcast_in0) {
      if (b_sharded && b.mem.buffer == BufferType::L1) {
        if (b.mem.layout != TensorMemoryLayout::WidthSharded) fatal("Operand B can only be interleaved or L1 width sharded.");
        if (pc.per_core_n != b_shard_wt) fatal("Shard width must match per core N.");
      }
    } else if (b_sharded) {
      fatal("Error: Operand B must be interleaved.");
    }
  };
  auto in1_reuse_check = [&] {
    // M here is per batch: get_M_dim(a_shape_padded, in0_tile, fuse_batch = false).
    const uint32_t m_per_batch = div_up(a.shape[a.shape.size() - 2], kTile);
    if (a_sharded && b_sharded) {
      if (a.mem.buffer != b.mem.buffer)
        fatal(cat("Input tensors A and B must have matching buffer types, got A: ", a.mem.buffer == BufferType::Dram ? "DRAM" : "L1",
                  " vs B: ", b.mem.buffer == BufferType::Dram ? "DRAM" : "L1"));
      if (a.mem.layout != b.mem.layout)
        fatal(cat("Input tensors A and B must have matching memory layouts, got A: ", mem_layout_name(a.mem.layout), " vs B: ",
                  mem_layout_name(b.mem.layout)));
      const ShardSpecDesc& as = a.mem.shard;
      if (as.start_x != bs.start_x || as.start_y != bs.start_y || as.end_x != bs.end_x || as.end_y != bs.end_y ||
          as.num_cores != bs.num_cores)
        fatal("Input tensors A and B must have matching shard spec grids");
      if (as.orientation != bs.orientation)
        fatal(cat("Input tensors A and B must have matching shard orientations, got A: ",
                  as.orientation == ShardOrientation::RowMajor ? "ROW_MAJOR" : "COL_MAJOR", " vs B: ",
                  bs.orientation == ShardOrientation::RowMajor ? "ROW_MAJOR" : "COL_MAJOR"));
    }
    if (!b_sharded) return;
    if (pc.per_core_m % m_per_batch != 0) fatal("per_core_M must be a multiple of M if input b is sharded!");
    if (b.mem.layout == TensorMemoryLayout::WidthSharded)
      fatal(cat("Input B memory layout must not be WIDTH_SHARDED, got: ", mem_layout_name(b.mem.layout)));
    const uint32_t b_padded_w = round_up(d.N, kTile);
    if (bs.shape_w != b_padded_w)
      fatal(cat("Input B shard shape[1] (", bs.shape_w, ") must equal padded shape[-1] (", b_padded_w, ")"));
    if (pc.per_core_n * kTile != bs.shape_w)
      fatal(cat("per_core_N * in1_tile.get_width() (", pc.per_core_n * kTile, ") must equal in1_shard_shape[1] (", bs.shape_w, ")"));
    // K in elements: get_K_dim(a_shape_padded, nullopt).
    const uint32_t k_padded = round_up(d.K, kTile);
    if (bs.shape_h % k_padded != 0) fatal(cat("Input B shard shape[0] (", bs.shape_h, ") must be divisible by K (", k_padded, ")"));
  };

  switch (pc.kind) {
    case MatmulKind::MultiCore:
      if (a.mem.layout != TensorMemoryLayout::Interleaved || b.mem.layout != TensorMemoryLayout::Interleaved || out_sharded)
        fatal("MatmulMultiCoreProgramConfig requires interleaved inputs and output");
      cb_bytes = 2 * at + 2 * bt + 2 * ot;
      break;
    case MatmulKind::Reuse: {
      grid_check();
      subblock_check();
      k_check();
      if (pc.per_core_m == 0 || pc.per_core_n == 0) fatal("per_core_M and per_core_N must be non-zero");
      if (pc.per_core_n != d.Nt) fatal(cat("MatmulMultiCoreReuseProgramConfig requires per_core_N == Nt (", pc.per_core_n, " != ", d.Nt, ")"));
      if (pc.per_core_m % pc.out_subblock_h != 0) fatal(cat("per_core_M ", pc.per_core_m, " must be divisible by out_subblock_h ", pc.out_subblock_h));
      if (pc.per_core_n % pc.out_subblock_w != 0) fatal(cat("per_core_N ", pc.per_core_n, " must be divisible by out_subblock_w ", pc.out_subblock_w));
      if (d.Mt % pc.per_core_m != 0) fatal(cat("Mt ", d.Mt, " must be divisible by per_core_M ", pc.per_core_m));
      const uint32_t blocks = d.Mt / pc.per_core_m, cores = pc.grid_x * pc.grid_y;
      // tt-metal #54798: more output blocks than cores silently produced wrong output.
      if (blocks > cores) fatal(cat("Number of output blocks ", blocks, " exceeds the number of cores ", cores));
      in1_reuse_check();
      sharded_out_check();
      cb_bytes = uint64_t(pc.per_core_m) * pc.in0_block_w * 2 * at + uint64_t(pc.per_core_n) * pc.in0_block_w * 2 * bt +
                 uint64_t(pc.per_core_m) * pc.per_core_n * ot + (has_bias ? uint64_t(pc.per_core_n) * bt : 0);
      break;
    }
    case MatmulKind::MultiCast2D: {
      grid_check();
      subblock_check();
      k_check();
      block_check();
      const uint32_t by = div_up(d.Mt, pc.per_core_m), bx = div_up(d.Nt, pc.per_core_n);
      const uint32_t rows = pc.transpose_mcast ? pc.grid_x : pc.grid_y;
      const uint32_t cols = pc.transpose_mcast ? pc.grid_y : pc.grid_x;
      if (by > rows) fatal(cat("num_blocks_y ", by, " must be <= the number of grid rows ", rows));
      if (bx > cols) fatal(cat("num_blocks_x ", bx, " must be <= the number of grid columns ", cols));
      in1_2d_check();
      if (out_sharded && out_mem.layout != TensorMemoryLayout::BlockSharded) fatal("2D multicast matmul requires a BLOCK_SHARDED output when sharded");
      sharded_out_check();
      mcast_cbs();
      break;
    }
    case MatmulKind::MultiCast1D: {
      grid_check();
      subblock_check();
      k_check();
      block_check();
      const uint32_t blocks = div_up(d.Mt, pc.per_core_m) * div_up(d.Nt, pc.per_core_n);
      if (blocks > pc.grid_x * pc.grid_y)
        fatal(cat("Number of output blocks ", blocks, " must be <= the number of cores ", pc.grid_x * pc.grid_y));
      if (pc.mcast_in0 && div_up(d.Mt, pc.per_core_m) != 1)
        fatal(cat("mcast_in0 requires all of M on one core: ceil(Mt / per_core_M) = ", div_up(d.Mt, pc.per_core_m), " must be 1"));
      in1_1d_check();
      if (out_sharded) {
        const bool ok = pc.mcast_in0 ? out_mem.layout == TensorMemoryLayout::WidthSharded
                                     : out_mem.layout == TensorMemoryLayout::HeightSharded;
        if (!ok) fatal("1D multicast matmul output must be WIDTH_SHARDED (mcast_in0) or HEIGHT_SHARDED (mcast_in1)");
      }
      sharded_out_check();
      mcast_cbs();
      break;
    }
    case MatmulKind::DramSharded: {
      k_check();
      if (d.Mt != 1 || pc.per_core_m != 1)
        fatal(cat("currently only support in0 tensor height of tile height (Mt ", d.Mt, ", per_core_M ", pc.per_core_m, ")"));
      if (a.mem.layout != TensorMemoryLayout::WidthSharded || a.mem.buffer != BufferType::L1)
        fatal("DRAM-sharded matmul requires in0 to be L1 WIDTH_SHARDED");
      if (b.mem.layout != TensorMemoryLayout::WidthSharded || b.mem.buffer != BufferType::Dram)
        fatal("DRAM-sharded matmul requires in1 to be DRAM WIDTH_SHARDED");
      if (out_mem.layout != TensorMemoryLayout::WidthSharded || out_mem.buffer != BufferType::L1)
        fatal("DRAM-sharded matmul requires the output to be L1 WIDTH_SHARDED");
      const uint64_t n_compute = div_up(d.Nt, dev.dram_banks);
      const uint64_t num_blocks = d.Kt / pc.in0_block_w;
      cb_bytes = uint64_t(pc.in0_block_w) * (num_blocks > 1 ? 2 : 1) * at + n_compute * pc.in0_block_w * 3 * bt +
                 2 * n_compute * ot + uint64_t(pc.per_core_n) * ot;
      break;
    }
  }
  // CBs are placed from the L1 base (`l1_reserved_bytes`: the planner's base, TT-NN's allocator base
  // measured in tools/ttnn-replay/FINDINGS.md fix 3) and must end within L1; the text states the end
  // address against the whole L1, as TT-NN does (13adda80 dataflow_buffer.cpp:1571-1578).
  const uint64_t cb_end = dev.l1_reserved_bytes + cb_bytes;
  if (cb_end > dev.l1_bytes_per_core)
    fatal(cat("Statically allocated circular buffers on core range [(x=0,y=0) - (x=", pc.grid_x ? pc.grid_x - 1 : 0,
              ",y=", pc.grid_y ? pc.grid_y - 1 : 0, ")] grow to ", cb_end, " B which is beyond max L1 size of ",
              dev.l1_bytes_per_core, " B"));
}

// One rectangle of the output (in elements, clipped to M x N) that one core computes as one
// out_block; `core` is the index of the core in the config's grid.
struct Region {
  uint32_t r0, r1, c0, c1;
  uint32_t core;
};

// The regions each config produces (the factories' work split).
std::vector<Region> split_work(const DeviceDesc& dev, const MatmulDims& d, const MatmulConfig& pc) {
  std::vector<Region> out;
  auto clip = [&](uint32_t tr0, uint32_t tr1, uint32_t tc0, uint32_t tc1, uint32_t core) {
    const uint32_t r0 = std::min(d.M, tr0 * kTile), r1 = std::min(d.M, tr1 * kTile);
    const uint32_t c0 = std::min(d.N, tc0 * kTile), c1 = std::min(d.N, tc1 * kTile);
    if (r0 < r1 && c0 < c1) out.push_back(Region{r0, r1, c0, c1, core});
  };
  // A per-core block of per_core_M x per_core_N tiles cut into out_block_h x out_block_w blocks.
  auto core_block = [&](uint32_t by, uint32_t bx, uint32_t core, uint32_t obh, uint32_t obw) {
    for (uint32_t i = 0; i < pc.per_core_m; i += obh)
      for (uint32_t j = 0; j < pc.per_core_n; j += obw)
        clip(by * pc.per_core_m + i, by * pc.per_core_m + i + obh, bx * pc.per_core_n + j, bx * pc.per_core_n + j + obw, core);
  };
  switch (pc.kind) {
    case MatmulKind::MultiCore: {
      // split_work_to_cores(grid, Mt*Nt): each core gets a contiguous run of output tiles
      // (row-major over the tile grid); the first `rem` cores get one more.
      const uint32_t cores = dev.grid_x * dev.grid_y;
      const uint64_t tiles = uint64_t(d.Mt) * d.Nt;
      const uint64_t used = std::min<uint64_t>(cores, tiles);
      const uint64_t per = tiles / used, rem = tiles % used;
      uint64_t t = 0;
      for (uint64_t c = 0; c < used; ++c) {
        const uint64_t n = per + (c < rem ? 1 : 0);
        uint64_t t1 = t + n;
        while (t < t1) {  // one region per tile-row run
          const uint32_t row = uint32_t(t / d.Nt), col = uint32_t(t % d.Nt);
          const uint32_t run = uint32_t(std::min<uint64_t>(t1 - t, d.Nt - col));
          clip(row, row + 1, col, col + run, uint32_t(c));
          t += run;
        }
      }
      break;
    }
    case MatmulKind::Reuse: {
      const uint32_t blocks = d.Mt / pc.per_core_m;
      for (uint32_t b = 0; b < blocks; ++b) core_block(b, 0, b, pc.per_core_m, pc.per_core_n);
      break;
    }
    case MatmulKind::MultiCast2D: {
      // Grid rows hold M, columns hold N (swapped with transpose_mcast).
      const uint32_t by = div_up(d.Mt, pc.per_core_m), bx = div_up(d.Nt, pc.per_core_n);
      for (uint32_t y = 0; y < by; ++y)
        for (uint32_t x = 0; x < bx; ++x) {
          const uint32_t core = pc.transpose_mcast ? x * pc.grid_x + y : y * pc.grid_x + x;
          core_block(y, x, core, pc.out_block_h, pc.out_block_w);
        }
      break;
    }
    case MatmulKind::MultiCast1D: {
      const uint32_t by = div_up(d.Mt, pc.per_core_m), bx = div_up(d.Nt, pc.per_core_n);
      uint32_t core = 0;
      for (uint32_t y = 0; y < by; ++y)
        for (uint32_t x = 0; x < bx; ++x) core_block(y, x, core++, pc.out_block_h, pc.out_block_w);
      break;
    }
    case MatmulKind::DramSharded: {
      // One worker per DRAM bank, each computing ceil(Nt / banks) tiles of N
      // (matmul_multicore_reuse_mcast_dram_sharded_program_factory.cpp).
      const uint32_t per = div_up(d.Nt, dev.dram_banks);
      for (uint32_t bank = 0; bank < dev.dram_banks; ++bank) clip(0, d.Mt, bank * per, (bank + 1) * per, bank);
      break;
    }
  }
  return out;
}

// Rounds a rows x cols block (leading dimension ld) to `dt`. Block floats are quantized per
// 32x32 tile of the block, which is tile-aligned in the output.
void round_block(float* p, uint32_t rows, uint32_t cols, uint32_t ld, DataType dt) {
  if (dt == DataType::Float32) return;
  if (dt == DataType::Bfloat16 || dt == DataType::Uint32) {
    for (uint32_t r = 0; r < rows; ++r) host::round_to_bf16_inplace(p + size_t(r) * ld, cols);
    return;
  }
  std::vector<float> tmp(size_t(rows) * cols);
  for (uint32_t r = 0; r < rows; ++r) std::memcpy(&tmp[size_t(r) * cols], p + size_t(r) * ld, cols * sizeof(float));
  quantize(tmp, {rows, cols}, dt);
  for (uint32_t r = 0; r < rows; ++r) std::memcpy(p + size_t(r) * ld, &tmp[size_t(r) * cols], cols * sizeof(float));
}

// The operands as the FPU consumes them at a fidelity: C = A1*B1 (+ A2*B2). in0 feeds SrcB and
// in1 feeds SrcA (tt_metal/hw/inc/api/compute/matmul.h); the masks are numerics.h's.
struct FidelityOperands {
  std::vector<float> a1, b1, a2, b2;  // a2/b2 empty unless HiFi3
};

FidelityOperands fidelity_operands(const std::vector<float>& a, const std::vector<float>& b, MathFidelity f) {
  using host::FpuSrc;
  FidelityOperands o;
  auto hi = [](const std::vector<float>& x, FpuSrc s) {
    std::vector<float> h(x.size()), l(x.size());
    host::fidelity_split(x.data(), x.size(), s, h.data(), l.data());
    return std::make_pair(std::move(h), std::move(l));
  };
  switch (f) {
    case MathFidelity::LoFi:
      o.a1 = hi(a, FpuSrc::SrcB).first;
      o.b1 = hi(b, FpuSrc::SrcA).first;
      break;
    case MathFidelity::HiFi2: {
      o.a1 = hi(a, FpuSrc::SrcB).first;
      auto [bh, bl] = hi(b, FpuSrc::SrcA);
      for (size_t i = 0; i < bh.size(); ++i) bh[i] += bl[i];
      o.b1 = std::move(bh);
      break;
    }
    case MathFidelity::HiFi3: {
      auto [ah, al] = hi(a, FpuSrc::SrcB);
      auto [bh, bl] = hi(b, FpuSrc::SrcA);
      o.a2 = std::move(al);
      o.b2 = bh;
      for (size_t i = 0; i < bh.size(); ++i) bh[i] += bl[i];
      o.a1 = std::move(ah);
      o.b1 = std::move(bh);
      break;
    }
    case MathFidelity::HiFi4:
      o.a1 = a;
      o.b1 = b;
      break;
  }
  return o;
}

struct Numerics {
  bool fp32_dest;        // fp32_dest_acc_en
  bool l1_acc;           // packer_l1_acc as the factory enables it
  DataType interm;       // format of the partials between K blocks
  DataType out;          // output dtype
  uint32_t kblock;       // K elements per in0 block
  bool fused_tail;       // bias or activation after the K loop
};

// Computes one region with the device's accumulation structure:
//  * Dest: the FPU adds one 16-deep inner product per MVMUL (8x16 x 16x16,
//    tech_reports/matrix_engine/matrix_engine.md) into the dest register. With
//    fp32_dest_acc_en=false dest holds 16-bit Float16_b values, so the running sum is rounded to
//    bf16 after every 16 values of K (round-to-nearest-even, as numerics.h's round_to_bf16;
//    dest formats: tech_reports/data_formats/data_formats.md). With fp32_dest_acc_en it stays
//    fp32.
//  * Between in0 blocks (K split in in0_block_w tiles) the partial leaves dest: without
//    packer_l1_acc it is packed to the intermediate CB in the interm format (output dtype, or
//    Float32 with fp32 acc; matmul-rules.md §8 "interm0 format") and reloaded into dest for the
//    next block, so it is rounded to that format at every block boundary; with packer_l1_acc the
//    packer adds dest into the L1 partial (Float16_b or Float32) instead, rounding the sum there
//    (bmm_large_block_zm_fused_bias_activation.cpp, PACKER_L1_ACC).
//  * The last block's result is rounded to the output dtype by the caller (after bias and the
//    fused activation).
void compute_region(const FidelityOperands& op, uint32_t K, uint32_t N, const Region& rg, const Numerics& nm,
                    float* out, unsigned threads) {
  const uint32_t R = rg.r1 - rg.r0, C = rg.c1 - rg.c0;
  std::vector<float> dest(size_t(R) * C, 0.0f), interm(size_t(R) * C, 0.0f);
  const uint32_t nblocks = div_up(K, nm.kblock);
  const uint32_t step = nm.fp32_dest ? nm.kblock : 16;
  // One sgemm per 128-deep slice (sgemm's small-M KC_S) of the K step, so that each inner
  // product is an f32 FMA chain from zero over the slice added to dest, whatever path and thread
  // split sgemm picks for the region (its large-M path would chain 256 deep): the order
  // host::gemm_prepared reproduces.
  const uint32_t kcs = uint32_t(std::max(1, host::detail::sgemm_small_kc()));
  auto mac = [&](uint32_t k0, uint32_t kw) {
    for (uint32_t k = k0; k < k0 + kw; k += kcs)
      host::sgemm(R, C, std::min(kcs, k0 + kw - k), &op.a1[size_t(rg.r0) * K + k], K, &op.b1[size_t(k) * N + rg.c0], N,
                  dest.data(), C, true, threads);
    if (!op.a2.empty())
      for (uint32_t k = k0; k < k0 + kw; k += kcs)
        host::sgemm(R, C, std::min(kcs, k0 + kw - k), &op.a2[size_t(rg.r0) * K + k], K, &op.b2[size_t(k) * N + rg.c0], N,
                    dest.data(), C, true, threads);
    if (!nm.fp32_dest) host::round_to_bf16_inplace(dest.data(), dest.size());
  };
  for (uint32_t b = 0; b < nblocks; ++b) {
    const uint32_t kb0 = b * nm.kblock, kb1 = std::min(K, kb0 + nm.kblock);
    const bool last = b + 1 == nblocks;
    // Dest starts from zero, or (without L1 accumulation) from the reloaded partial.
    if (b == 0 || nm.l1_acc) std::fill(dest.begin(), dest.end(), 0.0f);
    else dest = interm;
    for (uint32_t k = kb0; k < kb1; k += step) mac(k, std::min(step, kb1 - k));
    if (nm.l1_acc && b > 0) {
      for (size_t i = 0; i < dest.size(); ++i) interm[i] += dest[i];
      if (!last || nm.fused_tail) round_block(interm.data(), R, C, C, nm.interm);
      if (last) dest = interm;
    } else if (!last) {
      interm = dest;
      round_block(interm.data(), R, C, C, nm.interm);
    }
  }
  for (uint32_t r = 0; r < R; ++r) std::memcpy(out + size_t(rg.r0 + r) * N + rg.c0, &dest[size_t(r) * C], C * sizeof(float));
}

host::BlockFmt block_fmt(DataType d) {
  switch (d) {
    case DataType::Float32: return host::BlockFmt::F32;
    case DataType::Bfloat8B: return host::BlockFmt::BFP8;
    case DataType::Bfloat4B: return host::BlockFmt::BFP4;
    case DataType::Bfloat16:
    case DataType::Uint32: break;
  }
  return host::BlockFmt::BF16;  // round_block rounds Uint32 as bf16 too
}

// The b side of fidelity_operands for one value: exactly the arithmetic fidelity_operands does
// on whole vectors (HiFi2/HiFi3 add the SrcA hi and lo parts in f32, which is exact: they are
// disjoint bit fields of one value; -0 becomes +0).
inline float b1_value(float x, MathFidelity f) {
  using host::FpuSrc;
  switch (f) {
    case MathFidelity::LoFi: return host::fidelity_src_hi(x, FpuSrc::SrcA);
    case MathFidelity::HiFi2:
    case MathFidelity::HiFi3: return host::fidelity_src_hi(x, FpuSrc::SrcA) + host::fidelity_src_lo(x, FpuSrc::SrcA);
    case MathFidelity::HiFi4: break;
  }
  return x;
}

inline uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

// The weight `b` (K x N) prepared for fidelity `f`, built on first use and cached on the tensor.
//
// Storage: b1 (and b2) are kept as bf16 bits whenever every value is exactly a bf16, which is the
// case for BFLOAT16, BFLOAT8_B and BFLOAT4_B weights at every fidelity: their values have at most
// 8 significant bits (bf16: 7 stored mantissa bits; bfp8_b: 7; bfp4_b: 3 — numerics.h), i.e.
// mantissa bits 22..16 only. SrcA hi keeps bits 22..19 (a subset), SrcA hi + lo keeps bits
// 22..14 = the whole value (non-finite values pass unchanged; NaNs of these dtypes are the
// canonical 0x7FC00000). The lo part alone is a difference of two such values, also a bf16 (even
// when it lands in the f32 denormal range its set bits are at bit 16 or above). pack_b checks this
// per value anyway and falls back to f32 storage (FLOAT32 weights with low bits set).
//
// HiFi3's second operand SrcA hi(b) equals b1 & 0xFFF80000 (b1 = hi + lo keeps bits 22..14) up to
// the sign of zero, which cannot change a product chain that starts from +0 (x + ±0 == x for
// x != 0, and +0 + ±0 == +0). It is checked per value; when it fails (f32 NaNs with only low
// payload bits, which masking would turn into inf) b2 is stored separately.
std::shared_ptr<const PreparedWeight> prepared_weight(const Tensor::Impl& b, MathFidelity f, uint32_t K, uint32_t N) {
  static std::mutex create_mu;
  WeightCache* cache;
  {
    std::lock_guard<std::mutex> lk(create_mu);
    if (!b.wcache) b.wcache = std::make_unique<WeightCache>();
    cache = b.wcache.get();
  }
  const size_t slot = size_t(f);
  if (slot >= 5) fatal("invalid math fidelity");
  std::lock_guard<std::mutex> lk(cache->mu);
  if (cache->slot[slot]) return cache->slot[slot];
  // Interleaved weights are read in place; sharded ones (DRAM WIDTH_SHARDED for DRAM-sharded
  // matmuls) are gathered once here.
  std::vector<float> gathered;
  const float* src = b.values.data();
  if (!b.shards.empty()) {
    gathered = read_values(b);
    src = gathered.data();
  }
  auto pw = std::make_shared<PreparedWeight>();
  pw->b1 = host::pack_b(K, N, [&](uint32_t k, float* dst) {
    const float* r = src + size_t(k) * N;
    for (uint32_t n = 0; n < N; ++n) dst[n] = b1_value(r[n], f);
  });
  if (f == MathFidelity::HiFi3) {
    bool derivable = true;
    for (size_t i = 0; i < size_t(K) * N && derivable; ++i) {
      const uint32_t hi = bits_of(host::fidelity_src_hi(src[i], host::FpuSrc::SrcA));
      const uint32_t m = bits_of(b1_value(src[i], f)) & 0xFFF80000u;
      derivable = hi == m || ((hi & 0x7FFFFFFFu) == 0 && (m & 0x7FFFFFFFu) == 0);
    }
    if (derivable) {
      pw->b2_mask = 0xFFF80000u;
    } else {
      pw->b2_separate = true;
      pw->b2 = host::pack_b(K, N, [&](uint32_t k, float* dst) {
        const float* r = src + size_t(k) * N;
        for (uint32_t n = 0; n < N; ++n) dst[n] = host::fidelity_src_hi(r[n], host::FpuSrc::SrcA);
      });
    }
  }
  cache->slot[slot] = pw;
  return pw;
}

// The general path: every region (one core's out_block) through compute_region, with the
// fidelity-split copies of both operands built for this call.
void general_path(const Tensor::Impl& a, const Tensor::Impl& b, const MatmulDims& d, const MatmulConfig& pc,
                  const Numerics& nm, MathFidelity f, std::vector<float>& out) {
  const uint32_t K = d.K, N = d.N;
  const std::vector<float> av = read_values(a), bv = read_values(b);
  const FidelityOperands op = fidelity_operands(av, bv, f);
  const std::vector<Region> regions = split_work(a.device, d, pc);
  // The cores run in parallel on the host's threads; each region is one core's out_block.
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  if (regions.size() == 1) {
    compute_region(op, K, N, regions[0], nm, out.data(), 0);
  } else {
    const unsigned nt = std::min<unsigned>(hw, regions.size());
    std::vector<std::exception_ptr> errs(nt);
    auto worker = [&](unsigned t) {
      try {
        for (size_t i = t; i < regions.size(); i += nt) compute_region(op, K, N, regions[i], nm, out.data(), 1);
      } catch (...) {
        errs[t] = std::current_exception();
      }
    };
    std::vector<std::thread> ths;
    std::vector<unsigned> local;
    for (unsigned t = 1; t < nt; ++t) {
      // A thread that cannot start runs its share here (an exception out of emplace_back would
      // destroy joinable threads, i.e. std::terminate).
      try {
        ths.emplace_back(worker, t);
      } catch (...) {
        local.push_back(t);
      }
    }
    worker(0);
    for (unsigned t : local) worker(t);
    for (auto& th : ths) th.join();
    for (auto& e : errs)
      if (e) std::rethrow_exception(e);
  }
}

// The prepared-weight path (decode and prefill): the same numerics as compute_region over every
// region (the per-element result does not depend on the region split: K blocking, dest and
// partial formats are the same for all regions, and block-float rounding is per 16-column face
// row, which regions never cut since they start on tile columns), computed for the logical rows
// only, with the weight's prepared operand from the cache (built once per tensor and fidelity;
// sharded weights are gathered only then). The activation side costs O(M K) per call: masking and
// packing. See host::gemm_prepared for the summation order.
void matmul_prepared(const Tensor::Impl& a, const Tensor::Impl& b, uint32_t M, uint32_t K, uint32_t N,
                    MathFidelity f, const Numerics& nm, float* out) {
  std::vector<float> a1 = read_values(a), a2;
  using host::FpuSrc;
  switch (f) {
    case MathFidelity::LoFi:
    case MathFidelity::HiFi2:
      for (float& x : a1) x = host::fidelity_src_hi(x, FpuSrc::SrcB);
      break;
    case MathFidelity::HiFi3:
      a2.resize(a1.size());
      for (size_t i = 0; i < a1.size(); ++i) {
        a2[i] = host::fidelity_src_lo(a1[i], FpuSrc::SrcB);
        a1[i] = host::fidelity_src_hi(a1[i], FpuSrc::SrcB);
      }
      break;
    case MathFidelity::HiFi4: break;
  }
  const auto pw = prepared_weight(b, f, K, N);
  host::PreparedNumerics snm{nm.fp32_dest, nm.l1_acc, nm.fused_tail, block_fmt(nm.interm), nm.kblock};
  const host::PackedB* b2 = f == MathFidelity::HiFi3 ? (pw->b2_separate ? &pw->b2 : &pw->b1) : nullptr;
  host::gemm_prepared(M, K, N, a1.data(), a2.empty() ? nullptr : a2.data(), pw->b1, b2, pw->b2_mask, snm, out, 0);
}

std::unique_ptr<Tensor> matmul_impl(const Tensor& ta, const Tensor& tb, const Tensor* tbias, const MemConfig& mem,
                                    DataType out_dtype, const MatmulConfig& pc, const ComputeConfig& cc) {
  const Tensor::Impl& a = ta.impl();
  const Tensor::Impl& b = tb.impl();
  check_same_device(a, b, "matmul");
  if (a.layout != Layout::Tile || b.layout != Layout::Tile) fatal("Inputs to matmul must be tilized");
  if (a.dtype == DataType::Uint32 || b.dtype == DataType::Uint32) fatal("Unsupported data format for input a/b: matmul needs floating-point inputs");
  if (out_dtype == DataType::Uint32) fatal("Unsupported output data format UINT32 for matmul");
  if (a.shape.size() < 2 || b.shape.size() < 2) fatal("Input tensors to matmul must have rank >= 2");
  const uint32_t K = a.shape.back();
  if (b.shape[b.shape.size() - 2] != K)
    fatal(cat("The width of the first tensor must be equal to the height of the second tensor. Mismatch: width=", K,
              " height=", b.shape[b.shape.size() - 2]));
  if (volume(b.shape) != uint64_t(K) * b.shape.back())
    fatal("batched in1 (weights with batch > 1) is not supported by the host backend's linear; use batch 1");
  const uint32_t N = b.shape.back();
  const uint64_t M64 = volume(a.shape) / K;
  const uint32_t M = uint32_t(M64);
  MatmulDims d{M, K, N, div_up(M, kTile), div_up(K, kTile), div_up(N, kTile)};
  std::vector<uint32_t> oshape = a.shape;
  oshape.back() = N;
  check_memory_config(a.device, mem, oshape, Layout::Tile, "output");
  std::vector<float> bias;
  if (tbias) {
    const Tensor::Impl& bt = tbias->impl();
    check_same_device(a, bt, "matmul");
    if (bt.layout != Layout::Tile) fatal("Bias must be tilized");
    if (bt.shape.back() != N || volume(bt.shape) != N)
      fatal(cat("Bias shape ", shape_str(bt.shape), " must be [1, ", N, "] to match the weight's width"));
    bias = read_values(bt);
  }
  validate_program_config(a.device, d, pc, cc, a, b, tbias != nullptr, out_dtype, mem);

  const UnaryOp act = pc.fused_activation.op;
  Numerics nm{};
  nm.fp32_dest = cc.fp32_dest_acc_en;
  nm.out = out_dtype;
  nm.fused_tail = tbias != nullptr || act != UnaryOp::None;
  // The simple MultiCore kernel (bmm.cpp) keeps a whole output tile in dest over all of K; the
  // DRAM-sharded and reuse/mcast kernels walk K in in0_block_w-tile blocks.
  nm.kblock = pc.kind == MatmulKind::MultiCore ? K : std::min(K, pc.in0_block_w * kTile);
  const uint32_t nblocks = div_up(K, nm.kblock);
  // matmul-rules.md §8: packer_l1_acc_en = packer_l1_acc && ((bias && num_blocks > 1) || num_blocks > 2).
  nm.l1_acc = pc.kind != MatmulKind::MultiCore && cc.packer_l1_acc && ((tbias && nblocks > 1) || nblocks > 2);
  nm.interm = cc.fp32_dest_acc_en ? DataType::Float32 : (nm.l1_acc ? DataType::Bfloat16 : out_dtype);

  std::vector<float> out(size_t(M) * N, 0.0f);
  if (t_matmul_path != 1) {
    if (t_matmul_path == 2 && M > host::kSmallMaxRows)
      fatal(cat("the small-M matmul path takes at most ", host::kSmallMaxRows, " rows, got M = ", M));
    matmul_prepared(a, b, M, K, N, cc.math_fidelity, nm, out.data());
  } else {
    general_path(a, b, d, pc, nm, cc.math_fidelity, out);
  }
  for (uint32_t i = 0; i < M; ++i)
    for (uint32_t j = 0; j < N; ++j) {
      float& x = out[size_t(i) * N + j];
      if (tbias) x += bias[j];
      x = activate(act, x, pc.fused_activation.has_param, pc.fused_activation.param);
    }
  return make_tensor(a.device, std::move(oshape), out_dtype, Layout::Tile, mem, std::move(out));
}

}  // namespace

std::unique_ptr<Tensor> matmul(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype,
                               const MatmulConfig& program_config, const ComputeConfig& compute) {
  return matmul_impl(a, b, nullptr, mem, dtype, program_config, compute);
}

std::unique_ptr<Tensor> linear(const Tensor& a, const Tensor& b, const Tensor& bias, const MemConfig& mem,
                               DataType dtype, const MatmulConfig& program_config, const ComputeConfig& compute) {
  if (program_config.kind == MatmulKind::MultiCore)
    fatal("MatmulMultiCoreProgramConfig cannot fuse a bias; TT-NN applies it as a separate add");
  return matmul_impl(a, b, &bias, mem, dtype, program_config, compute);
}

void host_set_matmul_path(uint32_t path) {
  if (path > 3)
    fatal(cat("host_set_matmul_path: path ", path, " is not 0 (auto), 1 (general), 2 (small-M) or 3 (prepared, any M)"));
  t_matmul_path = path;
}

}  // namespace tttv2::ffi
