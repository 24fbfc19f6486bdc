// GGUF v3 reader (memory-mapped, fully validated) and writer.
//
// GgufFile::open maps the file read-only and checks every count, length, offset and size against
// the file before anything is allocated or dereferenced: a truncated or hostile file throws
// ModelError naming the file and the problem, never crashes and never allocates more than a small
// multiple of the file's own size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agentrt/engine/error.h"
#include "agentrt/engine/tensor_type.h"

namespace agentrt::engine {

enum class GgufValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
std::string_view gguf_value_type_name(GgufValueType type);

struct GgufValue;
// An array value. Built in memory (GgufValue::make_array), its values are `items`. Read from a
// file, an array of numbers, bools or strings stays in the file's mapping (a 262k-entry
// vocabulary costs no heap beyond one offset per string) and `items` is empty; arrays of arrays
// are read into `items`. size() and at() work on both; a file's packed array is valid while its
// GgufFile lives.
struct GgufArray {
  GgufValueType element_type = GgufValueType::UINT8;
  std::vector<GgufValue> items;

  size_t size() const { return packed_ ? count_ : items.size(); }
  bool empty() const { return size() == 0; }
  // The i-th value (i < size()).
  GgufValue at(size_t i) const;
  // The i-th string of a STRING array, without a copy. Throws ModelError(context) for another
  // element type.
  std::string_view string_at(size_t i, std::string_view context) const;

 private:
  const uint8_t* packed_ = nullptr;  // first element in the mapping, or null: `items`
  uint64_t count_ = 0;
  std::vector<uint64_t> string_ends_;  // STRING: end of the i-th string, from packed_
  friend class GgufParser;
};

// One metadata value. Integers keep their signedness in the variant; `type` keeps the exact
// width the file used.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;

  // Conversions; each throws ModelError(context) when the value is not of a compatible kind or
  // does not fit.
  int64_t as_int(std::string_view context) const;
  double as_float(std::string_view context) const;
  bool as_bool(std::string_view context) const;
  const std::string& as_string(std::string_view context) const;
  const GgufArray& as_array(std::string_view context) const;

  static GgufValue make_u32(uint32_t v);
  static GgufValue make_i32(int32_t v);
  static GgufValue make_u64(uint64_t v);
  static GgufValue make_f32(float v);
  static GgufValue make_bool(bool v);
  static GgufValue make_string(std::string v);
  static GgufValue make_array(GgufValueType element_type, std::vector<GgufValue> items);
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // dimensions, ne[0] fastest (the row length), 1..4 of them
  TensorType type = TensorType::F32;
  uint64_t offset = 0;         // relative to the start of the data section
  size_t n_bytes = 0;          // validated: offset + n_bytes lies inside the file
  const void* data = nullptr;  // points into the mapping; valid while the GgufFile lives

  int64_t n_elements() const;
  int64_t n_rows() const { return ne.empty() ? 0 : n_elements() / ne[0]; }
};

class GgufFile {
 public:
  // Maps and validates `path`. Throws ModelError on any problem.
  static std::unique_ptr<GgufFile> open(const std::filesystem::path& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  // The mapped tensor data: data_offset() .. file_size().
  const uint8_t* tensor_data() const { return base_ + data_offset_; }
  uint64_t tensor_data_bytes() const { return size_ - data_offset_; }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  // Typed lookups: the value, the fallback when the key is absent, or ModelError when present
  // with an incompatible type. The `require_` forms throw when the key is absent.
  int64_t get_int(std::string_view key, int64_t fallback) const;
  double get_float(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::string get_string(std::string_view key, std::string_view fallback) const;
  int64_t require_int(std::string_view key) const;
  double require_float(std::string_view key) const;
  const std::string& require_string(std::string_view key) const;
  const GgufArray& require_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const GgufTensorInfo& require_tensor(std::string_view name) const;  // ModelError if absent

  // Drops the pages before the tensor data (header, metadata, tensor infos) from the resident
  // set (MADV_DONTNEED): a loader that has read what it needs calls it, and a 262k-entry
  // vocabulary stops costing its megabytes. Reading metadata afterwards is still correct: the
  // pages come back from the file. Never throws.
  void release_metadata_pages() const;
  // The same for the whole pages inside [data, data + bytes) of the tensor data: a backend that
  // has copied tensors into its own layout calls it. Ranges outside the mapping are ignored.
  void release_pages(const void* data, uint64_t bytes) const;

  // Asks the kernel to start reading all tensor data (MADV_WILLNEED); calls `progress(done,
  // total)` as it touches pages, so a loader can show a progress bar. Never throws.
  void prefetch(const std::function<void(uint64_t, uint64_t)>& progress = {}) const;

  // Throws ModelError("<path>: <what>").
  [[noreturn]] void fail(std::string_view what) const;

 private:
  GgufFile() = default;
  std::filesystem::path path_;
  uint32_t version_ = 0;
  uint64_t size_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  const uint8_t* base_ = nullptr;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  friend class GgufParser;
};

// Builds a GGUF v3 file: metadata and tensors in insertion order, data aligned to `alignment`.
// Used by tests, benchmarks and conversion tools.
class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32) : alignment_(alignment) {}
  void set(std::string key, GgufValue value);  // replaces an existing key
  // `data` must hold row_size(type, ne[0]) * (product of the other dims) bytes.
  void add_tensor(std::string name, std::vector<int64_t> ne, TensorType type,
                  std::span<const uint8_t> data);
  std::vector<uint8_t> bytes() const;
  void write(const std::filesystem::path& path) const;  // throws std::runtime_error on I/O error

 private:
  struct PendingTensor {
    std::string name;
    std::vector<int64_t> ne;
    TensorType type;
    std::vector<uint8_t> data;
  };
  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace agentrt::engine
