// GGUF v3 writer and the GgufValue constructors. The layout it produces is the one
// gguf_reader.cpp documents; every integer is written little-endian, byte by byte.
#include <algorithm>
#include <array>
#include <bit>
#include <fstream>
#include <stdexcept>

#include "agentrt/engine/gguf.h"

namespace agentrt::engine {

GgufValue GgufValue::make_u32(uint32_t v) {
  return {GgufValueType::UINT32, uint64_t{v}};
}
GgufValue GgufValue::make_i32(int32_t v) {
  return {GgufValueType::INT32, int64_t{v}};
}
GgufValue GgufValue::make_u64(uint64_t v) {
  return {GgufValueType::UINT64, v};
}
GgufValue GgufValue::make_f32(float v) {
  return {GgufValueType::FLOAT32, double{v}};
}
GgufValue GgufValue::make_bool(bool v) {
  return {GgufValueType::BOOL, v};
}
GgufValue GgufValue::make_string(std::string v) {
  return {GgufValueType::STRING, std::move(v)};
}
GgufValue GgufValue::make_array(GgufValueType element_type, std::vector<GgufValue> items) {
  GgufArray array;
  array.element_type = element_type;
  array.items = std::move(items);
  return {GgufValueType::ARRAY, std::move(array)};
}

namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kVersion = 3;

// Bytes of an integer value type, indexed by GgufValueType; 0 for the other types.
constexpr std::array<size_t, 13> kIntegerWidths = {1, 1, 2, 2, 4, 4, 0, 0, 0, 0, 8, 8, 0};

size_t integer_width(GgufValueType type) {
  const auto index = static_cast<uint32_t>(type);
  return index < kIntegerWidths.size() ? kIntegerWidths[index] : 0;
}

class ByteSink {
 public:
  explicit ByteSink(std::vector<uint8_t>& out) : out_(out) {}

  void put_uint(uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void put_u32(uint32_t v) { put_uint(v, 4); }
  void put_u64(uint64_t v) { put_uint(v, 8); }
  void put_string(std::string_view s) {
    put_u64(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) {
    out_.resize((out_.size() + alignment - 1) / alignment * alignment);
  }

  void put_value(const GgufValue& v) {
    if (const size_t width = integer_width(v.type)) return put_uint(integer_bits(v), width);
    switch (v.type) {
      case GgufValueType::FLOAT32:
        return put_u32(std::bit_cast<uint32_t>(static_cast<float>(number(v))));
      case GgufValueType::FLOAT64:
        return put_u64(std::bit_cast<uint64_t>(number(v)));
      case GgufValueType::BOOL: {
        const auto* b = std::get_if<bool>(&v.value);
        if (!b) mismatch(v);
        return put_uint(*b ? 1 : 0, 1);
      }
      case GgufValueType::STRING: {
        const auto* s = std::get_if<std::string>(&v.value);
        if (!s) mismatch(v);
        return put_string(*s);
      }
      case GgufValueType::ARRAY: {
        const auto* a = std::get_if<GgufArray>(&v.value);
        if (!a) mismatch(v);
        if (gguf_value_type_name(a->element_type) == "unknown")
          throw std::invalid_argument("GgufWriter: unknown array element type " +
                                      std::to_string(static_cast<uint32_t>(a->element_type)));
        put_u32(static_cast<uint32_t>(a->element_type));
        put_u64(a->size());
        for (size_t i = 0; i < a->size(); ++i) {
          const GgufValue item = a->at(i);
          if (item.type != a->element_type)
            throw std::invalid_argument("GgufWriter: array of " +
                                        std::string(gguf_value_type_name(a->element_type)) +
                                        " holds a " + std::string(gguf_value_type_name(item.type)));
          put_value(item);
        }
        return;
      }
      default:
        break;
    }
    throw std::invalid_argument("GgufWriter: unknown value type " +
                                std::to_string(static_cast<uint32_t>(v.type)));
  }

 private:
  [[noreturn]] static void mismatch(const GgufValue& v) {
    throw std::invalid_argument("GgufWriter: a " + std::string(gguf_value_type_name(v.type)) +
                                " value holds another kind of value");
  }
  // Two's-complement bits of an integer value; put_uint keeps the low bytes.
  static uint64_t integer_bits(const GgufValue& v) {
    if (const auto* u = std::get_if<uint64_t>(&v.value)) return *u;
    if (const auto* i = std::get_if<int64_t>(&v.value)) return static_cast<uint64_t>(*i);
    mismatch(v);
  }
  static double number(const GgufValue& v) {
    if (const auto* d = std::get_if<double>(&v.value)) return *d;
    mismatch(v);
  }

  std::vector<uint8_t>& out_;
};

// The alignment the file will declare: an explicit general.alignment that the reader would
// accept wins; otherwise the writer's own.
uint64_t effective_alignment(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                             uint64_t fallback) {
  for (const auto& [key, value] : metadata) {
    if (key != "general.alignment") continue;
    uint64_t v = 0;
    if (const auto* u = std::get_if<uint64_t>(&value.value)) v = *u;
    if (const auto* i = std::get_if<int64_t>(&value.value); i && *i > 0)
      v = static_cast<uint64_t>(*i);
    if (std::has_single_bit(v)) return v;
  }
  return fallback;
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  const auto it = std::find_if(metadata_.begin(), metadata_.end(),
                               [&](const auto& kv) { return kv.first == key; });
  if (it != metadata_.end()) {
    it->second = std::move(value);
  } else {
    metadata_.emplace_back(std::move(key), std::move(value));
  }
}

void GgufWriter::add_tensor(std::string name, std::vector<int64_t> ne, TensorType type,
                            std::span<const uint8_t> data) {
  if (ne.empty() || ne.size() > 4)
    throw std::invalid_argument("GgufWriter: tensor '" + name + "' needs 1 to 4 dimensions");
  // The same bound the reader enforces keeps the products below from overflowing.
  constexpr int64_t kMaxElements = int64_t{1} << 48;
  int64_t n_elements = 1;
  for (int64_t d : ne) {
    if (d < 1 || d > kMaxElements || n_elements > kMaxElements / d)
      throw std::invalid_argument("GgufWriter: tensor '" + name + "' has a dimension < 1 or " +
                                  "too many elements");
    n_elements *= d;
  }
  const int64_t rows = n_elements / ne[0];
  if (ne[0] % traits(type).block_size != 0)
    throw std::invalid_argument("GgufWriter: tensor '" + name + "' row length is not a multiple " +
                                "of the block size of " + std::string(traits(type).name));
  const size_t expected = row_size(type, ne[0]) * static_cast<size_t>(rows);
  if (data.size() != expected)
    throw std::invalid_argument("GgufWriter: tensor '" + name + "' needs " +
                                std::to_string(expected) + " bytes of data, got " +
                                std::to_string(data.size()));
  for (const PendingTensor& t : tensors_) {
    if (t.name == name)
      throw std::invalid_argument("GgufWriter: duplicate tensor name '" + name + "'");
  }
  tensors_.push_back({std::move(name), std::move(ne), type, {data.begin(), data.end()}});
}

std::vector<uint8_t> GgufWriter::bytes() const {
  if (!std::has_single_bit(alignment_))
    throw std::invalid_argument("GgufWriter: alignment " + std::to_string(alignment_) +
                                " is not a nonzero power of two");
  const bool has_alignment_key =
      std::any_of(metadata_.begin(), metadata_.end(),
                  [](const auto& kv) { return kv.first == "general.alignment"; });
  const bool add_alignment_key = !has_alignment_key && alignment_ != kDefaultAlignment;
  const uint64_t alignment = effective_alignment(metadata_, alignment_);

  std::vector<uint8_t> out{'G', 'G', 'U', 'F'};
  ByteSink sink(out);
  sink.put_u32(kVersion);
  sink.put_u64(tensors_.size());
  sink.put_u64(metadata_.size() + (add_alignment_key ? 1 : 0));

  for (const auto& [key, value] : metadata_) {
    sink.put_string(key);
    sink.put_u32(static_cast<uint32_t>(value.type));
    sink.put_value(value);
  }
  if (add_alignment_key) {
    sink.put_string("general.alignment");
    sink.put_u32(static_cast<uint32_t>(GgufValueType::UINT32));
    sink.put_u32(static_cast<uint32_t>(alignment_));
  }

  uint64_t offset = 0;  // relative to the data section
  for (const PendingTensor& t : tensors_) {
    sink.put_string(t.name);
    sink.put_u32(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) sink.put_u64(static_cast<uint64_t>(d));
    sink.put_u32(static_cast<uint32_t>(t.type));
    sink.put_u64(offset);
    offset += (t.data.size() + alignment - 1) / alignment * alignment;
  }

  sink.pad_to(alignment);
  for (const PendingTensor& t : tensors_) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    sink.pad_to(alignment);
  }
  return out;
}

void GgufWriter::write(const std::filesystem::path& path) const {
  const std::vector<uint8_t> data = bytes();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path.string() + ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) throw std::runtime_error(path.string() + ": write failed");
}

}  // namespace agentrt::engine
