// The shim API both backends implement: host (cpp/host/backend.cc) and TT-NN (cpp/ttnn/backend.cc).
//
// Device and Tensor are pimpl classes so this header is identical for both backends; each
// backend defines Device::Impl and Tensor::Impl. Config structs and enums are cxx shared types
// defined in the generated header "tttv2-sys/src/bridge.rs.h"; they are only declared here.
// Every function that can fail throws std::exception subclasses; the bridge declares them all
// `Result`, so cxx turns the exception into a Rust `Err` (no exception crosses the FFI).
#pragma once

#include <cstdint>
#include <memory>

#include "rust/cxx.h"

namespace tttv2::ffi {

struct DeviceDesc;
struct MemConfig;
struct ComputeConfig;
struct MatmulConfig;
enum class DataType : std::uint8_t;
enum class Layout : std::uint8_t;

class Device {
 public:
  struct Impl;
  explicit Device(std::unique_ptr<Impl> impl);
  ~Device();
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class Tensor {
 public:
  struct Impl;
  explicit Tensor(std::unique_ptr<Impl> impl);
  ~Tensor();
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

rust::String backend_name();
std::unique_ptr<Device> open_device(const DeviceDesc& desc, std::uint32_t device_id);
DeviceDesc device_desc(const Device& device);

std::unique_ptr<Tensor> tensor_from_f32(const Device& device, rust::Slice<const float> data,
                                        rust::Slice<const std::uint32_t> shape, DataType dtype,
                                        Layout layout, const MemConfig& mem);
rust::Vec<float> tensor_to_f32(const Tensor& tensor);
rust::Vec<std::uint32_t> tensor_shape(const Tensor& tensor);
DataType tensor_dtype(const Tensor& tensor);
Layout tensor_layout(const Tensor& tensor);
MemConfig tensor_memory_config(const Tensor& tensor);

std::unique_ptr<Tensor> matmul(const Tensor& a, const Tensor& b, const MemConfig& mem,
                               DataType dtype, const MatmulConfig& program_config,
                               const ComputeConfig& compute);
std::unique_ptr<Tensor> linear(const Tensor& a, const Tensor& b, const Tensor& bias,
                               const MemConfig& mem, DataType dtype,
                               const MatmulConfig& program_config, const ComputeConfig& compute);
std::unique_ptr<Tensor> add(const Tensor& a, const Tensor& b, const MemConfig& mem,
                            DataType dtype);
std::unique_ptr<Tensor> silu(const Tensor& a, const MemConfig& mem);
std::unique_ptr<Tensor> rms_norm(const Tensor& x, float epsilon, const Tensor& weight,
                                 const MemConfig& mem, const ComputeConfig& compute);

}  // namespace tttv2::ffi
