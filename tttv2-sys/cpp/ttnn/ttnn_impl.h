// Private header of the TT-NN backend (tt-metal 13adda80c119631d18b0bc06163416ba148c25ab, C++20).
// Device::Impl holds the MeshDevice; Tensor::Impl holds a device ttnn::Tensor. Conversions from
// the bridge's flat structs to TT-NN's types live here. Nothing in this backend is noexcept:
// every TT-NN call may throw (TT_FATAL/TT_THROW -> std::runtime_error) and the bridge declares
// every function Result, so cxx turns the exception into a Rust Err.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <tt-metalium/work_split.hpp>
#include <ttnn/device.hpp>
#include <ttnn/distributed/api.hpp>
#include <ttnn/tensor/tensor.hpp>
#include <ttnn/types.hpp>
#include "ttnn/operations/creation/creation.hpp"
#include "ttnn/operations/core/compute_kernel/compute_kernel_config.hpp"
#include "ttnn/operations/matmul/device/config/matmul_program_config_types.hpp"

#include "tttv2-sys/include/tttv2/shim.h"
#include "tttv2-sys/src/bridge.rs.h"

namespace tttv2::ffi {

struct Device::Impl {
  std::shared_ptr<ttnn::MeshDevice> mesh;
  DeviceDesc desc;
  ~Impl();
};

struct Tensor::Impl {
  ttnn::Tensor tensor;
  std::shared_ptr<ttnn::MeshDevice> mesh;  // keeps the device open while the tensor lives
  DeviceDesc desc;
};

namespace tt_detail {

tt::tt_metal::DataType to_tt(DataType d);
DataType from_tt(tt::tt_metal::DataType d);
tt::tt_metal::Layout to_tt(Layout l);
Layout from_tt(tt::tt_metal::Layout l);
tt::tt_metal::MemoryConfig to_tt(const MemConfig& m);
MemConfig from_tt(const tt::tt_metal::MemoryConfig& m);
ttnn::ComputeKernelConfig to_tt(const ComputeConfig& c);
std::optional<ttnn::operations::unary::UnaryWithParam> to_tt(const Activation& a);
ttnn::operations::unary::UnaryOpType unary_type(UnaryOp op);
ttnn::operations::matmul::MatmulProgramConfig to_tt(const MatmulConfig& pc);

std::unique_ptr<Tensor> wrap(ttnn::Tensor t, const Tensor::Impl& like);
inline const ttnn::Tensor& tt(const Tensor& t) { return t.impl().tensor; }

}  // namespace tt_detail
}  // namespace tttv2::ffi
