// The shim API both backends implement: host (cpp/host/ops_*.cc) and TT-NN (cpp/ttnn/*.cc).
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
struct SdpaConfig;
struct NormConfig;
struct ShardPlacement;
struct QkvHeads;
enum class DataType : std::uint8_t;
enum class Layout : std::uint8_t;
enum class UnaryOp : std::uint8_t;

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
std::unique_ptr<Tensor> tensor_zeros(const Device& device, rust::Slice<const std::uint32_t> shape, DataType dtype,
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
std::unique_ptr<Tensor> rms_norm(const Tensor& x, float epsilon, const Tensor& weight, const NormConfig& program_config,
                                 const MemConfig& mem, const ComputeConfig& compute);

std::unique_ptr<Tensor> multiply(const Tensor& a, const Tensor& b, const MemConfig& mem, DataType dtype,
                                 UnaryOp lhs_activation);
std::unique_ptr<Tensor> gelu(const Tensor& a, bool fast_and_approximate, const MemConfig& mem);
std::unique_ptr<Tensor> layer_norm(const Tensor& x, float epsilon, const Tensor* weight, const Tensor* bias,
                                   const MemConfig& mem, const ComputeConfig& compute);
std::unique_ptr<Tensor> softmax(const Tensor& x, float scale, const Tensor* mask, bool causal, const MemConfig& mem,
                                const ComputeConfig& compute);

// Tensors: ids, diagnostics, layout / dtype / placement conversion.
std::unique_ptr<Tensor> tensor_from_u32(const Device& device, rust::Slice<const std::uint32_t> data,
                                        rust::Slice<const std::uint32_t> shape, Layout layout, const MemConfig& mem);
rust::Vec<std::uint32_t> tensor_to_u32(const Tensor& tensor);
rust::Vec<ShardPlacement> tensor_shards(const Tensor& tensor);
rust::Vec<float> tensor_shard_values(const Tensor& tensor, std::uint32_t index);
rust::Vec<std::uint32_t> tensor_raw_words(const Tensor& tensor);
std::unique_ptr<Tensor> typecast(const Tensor& x, DataType dtype, const MemConfig& mem);
std::unique_ptr<Tensor> slice(const Tensor& x, rust::Slice<const std::uint32_t> begins, rust::Slice<const std::uint32_t> ends,
                              const MemConfig& mem);
std::unique_ptr<Tensor> reshape(const Tensor& x, rust::Slice<const std::uint32_t> shape, const MemConfig& mem);
std::unique_ptr<Tensor> to_layout(const Tensor& x, Layout layout, DataType dtype, const MemConfig& mem);
std::unique_ptr<Tensor> to_memory_config(const Tensor& x, const MemConfig& mem);
rust::Vec<std::uint32_t> pack_block_float(rust::Slice<const float> data, std::uint32_t rows, std::uint32_t cols,
                                          DataType dtype);
rust::Vec<float> unpack_block_float(rust::Slice<const std::uint32_t> words, std::uint32_t rows, std::uint32_t cols,
                                    DataType dtype);
void host_sgemm(std::uint32_t m, std::uint32_t n, std::uint32_t k, rust::Slice<const float> a,
                rust::Slice<const float> b, rust::Slice<float> c, std::uint32_t num_threads);
// Host backend: which matmul implementation this thread uses (0 auto, 1 general, 2 small-M,
// 3 prepared for any M).
void host_set_matmul_path(std::uint32_t path);
// Host backend: how many times the calling thread has gathered a sharded tensor's shards into one
// buffer (0 on the TT-NN backend).
std::uint64_t host_sharded_gathers();

// Transformer ops.
std::unique_ptr<Tensor> embedding(const Tensor& ids, const Tensor& weight, const MemConfig& mem, DataType dtype,
                                  Layout layout);
std::unique_ptr<Tensor> rotary_embedding_llama(const Tensor& x, const Tensor& cos, const Tensor& sin,
                                               const Tensor& trans_mat, bool is_decode, const MemConfig& mem,
                                               const ComputeConfig& compute);
std::unique_ptr<Tensor> sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, bool is_causal,
                             bool has_scale, float scale, const SdpaConfig& program_config, const MemConfig& mem,
                             const ComputeConfig& compute);
std::unique_ptr<Tensor> sdpa_decode(const Tensor& q, const Tensor& k, const Tensor& v,
                                    rust::Slice<const std::uint32_t> cur_pos, bool has_scale, float scale,
                                    const SdpaConfig& program_config, const MemConfig& mem,
                                    const ComputeConfig& compute);
void update_cache(Tensor& cache, const Tensor& input, std::uint32_t update_idx, std::uint32_t batch_offset);
void fill_cache(Tensor& cache, const Tensor& input, std::uint32_t batch_idx, std::uint32_t update_idx);
void update_cache_per_user(Tensor& cache, const Tensor& input, rust::Slice<const std::uint32_t> update_idxs);
QkvHeads nlp_create_qkv_heads(const Tensor& x, std::uint32_t num_q_heads, std::uint32_t num_kv_heads,
                              bool transpose_k, const MemConfig& mem);
QkvHeads nlp_create_qkv_heads_decode(const Tensor& x, std::uint32_t num_q_heads, std::uint32_t num_kv_heads);
std::unique_ptr<Tensor> nlp_concat_heads(const Tensor& x, const MemConfig& mem);
std::unique_ptr<Tensor> nlp_concat_heads_decode(const Tensor& x, std::uint32_t num_heads);

}  // namespace tttv2::ffi
