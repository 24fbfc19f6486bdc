// GGUF reader: maps the file read-only and validates it completely before anything uses it.
//
// Format reference: the GGUF specification (ggml/docs/gguf.md). Layout, all little-endian:
//   magic "GGUF", u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x (string key, u32 value type, value),
//   n_tensors x (string name, u32 n_dims, n_dims x u64 ne, u32 ggml type, u64 offset),
//   padding to general.alignment, tensor data (offsets relative to its start).
// A string is a u64 byte count followed by the bytes; an array is a u32 element type, a u64
// count and the elements.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <system_error>

#include "agentrt/engine/gguf.h"

namespace agentrt::engine {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;
// No real tensor comes near this; it keeps every size computation far from overflow.
constexpr uint64_t kMaxElements = uint64_t{1} << 48;
// The fewest bytes one entry can occupy, used to cap counts by what is left of the file:
// a key-value pair is a key length, a value type and at least a one-byte value; a tensor info
// is a name length, n_dims, one dimension, a type and an offset.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Indexed by GgufValueType. min_size is the fewest bytes one value takes in the file (the exact
// size of a number), used to cap array counts by the bytes that are left.
struct ValueTypeInfo {
  std::string_view name;
  uint64_t min_size;
  bool is_integer;
  bool is_signed;
};
constexpr std::array<ValueTypeInfo, 13> kValueTypes = {{
    {"uint8", 1, true, false},
    {"int8", 1, true, true},
    {"uint16", 2, true, false},
    {"int16", 2, true, true},
    {"uint32", 4, true, false},
    {"int32", 4, true, true},
    {"float32", 4, false, false},
    {"bool", 1, false, false},
    {"string", 8, false, false},
    {"array", 4 + 8, false, false},
    {"uint64", 8, true, false},
    {"int64", 8, true, true},
    {"float64", 8, false, false},
}};

// min_size 0 marks a type id that GGUF does not define.
constexpr ValueTypeInfo kUnknownValueType{"unknown", 0, false, false};

const ValueTypeInfo& value_type_info(GgufValueType type) {
  const auto index = static_cast<uint32_t>(type);
  return index < kValueTypes.size() ? kValueTypes[index] : kUnknownValueType;
}

std::string type_mismatch(std::string_view context, std::string_view expected,
                          GgufValueType found) {
  return std::string(context) + ": expected " + std::string(expected) + ", found " +
         std::string(gguf_value_type_name(found));
}

// Owns a file descriptor for the few lines between open() and mmap().
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text(int error) {
  return std::system_category().message(error);
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  return value_type_info(type).name;
}

// ---- GgufValue conversions -------------------------------------------------------------------

int64_t GgufValue::as_int(std::string_view context) const {
  if (const auto* u = std::get_if<uint64_t>(&value)) {
    if (*u > static_cast<uint64_t>(INT64_MAX))
      throw ModelError(std::string(context) + ": value " + std::to_string(*u) +
                       " does not fit in int64");
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  throw ModelError(type_mismatch(context, "an integer", type));
}

double GgufValue::as_float(std::string_view context) const {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&value)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  throw ModelError(type_mismatch(context, "a number", type));
}

bool GgufValue::as_bool(std::string_view context) const {
  if (const auto* b = std::get_if<bool>(&value)) return *b;
  throw ModelError(type_mismatch(context, "a bool", type));
}

const std::string& GgufValue::as_string(std::string_view context) const {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  throw ModelError(type_mismatch(context, "a string", type));
}

const GgufArray& GgufValue::as_array(std::string_view context) const {
  if (const auto* a = std::get_if<GgufArray>(&value)) return *a;
  throw ModelError(type_mismatch(context, "an array", type));
}

namespace {

// Decodes one little-endian number or bool of `type` from `p` (already validated).
GgufValue decode_scalar(GgufValueType type, const uint8_t* p) {
  GgufValue v;
  v.type = type;
  const ValueTypeInfo& info = value_type_info(type);
  uint64_t bits = 0;
  for (uint64_t i = 0; i < info.min_size; ++i) bits |= uint64_t{p[i]} << (8 * i);
  if (info.is_integer) {
    if (info.is_signed) {
      const uint64_t shift = 64 - 8 * info.min_size;  // sign-extends through the arithmetic shift
      v.value = static_cast<int64_t>(bits << shift) >> shift;
    } else {
      v.value = bits;
    }
  } else if (type == GgufValueType::FLOAT32) {
    v.value = double{std::bit_cast<float>(static_cast<uint32_t>(bits))};
  } else if (type == GgufValueType::FLOAT64) {
    v.value = std::bit_cast<double>(bits);
  } else {
    v.value = bits != 0;  // BOOL
  }
  return v;
}

}  // namespace

std::string_view GgufArray::string_at(size_t i, std::string_view context) const {
  if (element_type != GgufValueType::STRING)
    throw ModelError(type_mismatch(context, "an array of strings", element_type));
  if (!packed_) return items[i].as_string(context);
  const uint64_t begin = i == 0 ? 8 : string_ends_[i - 1] + 8;
  return {reinterpret_cast<const char*>(packed_ + begin), string_ends_[i] - begin};
}

GgufValue GgufArray::at(size_t i) const {
  if (!packed_) return items[i];
  if (element_type == GgufValueType::STRING) {
    GgufValue v;
    v.type = element_type;
    v.value = std::string(string_at(i, ""));
    return v;
  }
  return decode_scalar(element_type, packed_ + i * value_type_info(element_type).min_size);
}

int64_t GgufTensorInfo::n_elements() const {
  if (ne.empty()) return 0;
  return std::accumulate(ne.begin(), ne.end(), int64_t{1}, std::multiplies<>());
}

// ---- Parser ----------------------------------------------------------------------------------

// Reads the mapped bytes of a GgufFile front to back. Every read checks the bytes left first;
// every failure goes through GgufFile::fail, so the message names the file.
class GgufParser {
 public:
  explicit GgufParser(GgufFile& file) : file_(file), bytes_(file.base_), size_(file.size_) {}

  static void map(GgufFile& file);
  void parse() {
    read_header();
    read_metadata();
    read_alignment();
    read_tensor_infos();
    place_tensors();
  }

 private:
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      file_.fail("truncated: " + std::string(what) + where() + " needs " + std::to_string(n) +
                 " bytes at offset " + std::to_string(pos_) + ", only " +
                 std::to_string(remaining()) + " remain");
  }

  // For a count or length that the rest of the file cannot hold.
  [[noreturn]] void fail_does_not_fit(const std::string& what) const {
    file_.fail(what + " exceeds what the " + std::to_string(remaining()) +
               " bytes left in the file can hold (truncated or corrupt file)");
  }

  std::string where() const { return context_.empty() ? "" : " of " + context_; }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_ + pos_, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    pos_ += sizeof(T);
    return v;
  }

  template <typename T>
  static T byteswap(T v) {
    std::array<uint8_t, sizeof(T)> b;
    std::memcpy(b.data(), &v, sizeof(T));
    std::reverse(b.begin(), b.end());
    std::memcpy(&v, b.data(), sizeof(T));
    return v;
  }

  std::string read_string(const char* what) {
    const uint64_t length = read<uint64_t>(what);
    if (length > remaining())
      fail_does_not_fit("string length " + std::to_string(length) + " of " + what + where() +
                        " at offset " + std::to_string(pos_ - 8));
    std::string s(reinterpret_cast<const char*>(bytes_ + pos_), length);
    pos_ += length;
    return s;
  }

  GgufValueType read_value_type(const char* what) {
    const uint32_t raw = read<uint32_t>(what);
    const auto type = static_cast<GgufValueType>(raw);
    if (value_type_info(type).min_size == 0)
      file_.fail("unknown value type " + std::to_string(raw) + where());
    return type;
  }

  GgufValue read_value(GgufValueType type, int depth);
  GgufArray read_array(int depth);

  void read_header();
  void read_metadata();
  void read_alignment();
  void read_tensor_infos();
  GgufTensorInfo read_tensor_info();
  void place_tensors();

  GgufFile& file_;
  const uint8_t* bytes_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::string context_;  // what is being read, for error messages: "metadata key 'x'"
};

void GgufParser::map(GgufFile& file) {
  std::error_code ec;
  const auto status = std::filesystem::status(file.path_, ec);
  if (ec || !std::filesystem::exists(status))
    file.fail("cannot open: " + (ec ? ec.message() : std::string("no such file")));
  if (std::filesystem::is_directory(status)) file.fail("is a directory, not a GGUF file");
  // Checked before open(), which would block on a FIFO.
  if (!std::filesystem::is_regular_file(status)) file.fail("not a regular file");

  FileDescriptor fd(::open(file.path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) file.fail("cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) file.fail("cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) file.fail("not a regular file");
  if (st.st_size == 0) file.fail("file is empty, not a GGUF file");

  const auto size = static_cast<uint64_t>(st.st_size);
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (base == MAP_FAILED) file.fail("cannot map: " + errno_text(errno));
  file.base_ = static_cast<const uint8_t*>(base);
  file.size_ = size;
}

GgufArray GgufParser::read_array(int depth) {
  if (depth > kMaxArrayDepth)
    file_.fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels" + where());
  GgufArray array;
  array.element_type = read_value_type("array element type");
  const uint64_t count = read<uint64_t>("array count");
  // Checked before reserving, so a hostile count cannot make us allocate.
  const uint64_t min_size = value_type_info(array.element_type).min_size;
  if (count > remaining() / min_size)
    fail_does_not_fit("array count " + std::to_string(count) + " of " +
                      std::string(gguf_value_type_name(array.element_type)) + where());
  if (array.element_type == GgufValueType::ARRAY) {
    array.items.reserve(count);
    for (uint64_t i = 0; i < count; ++i)
      array.items.push_back(read_value(array.element_type, depth));
    return array;
  }
  // Numbers, bools and strings stay in the mapping; each is validated here, once.
  array.packed_ = bytes_ + pos_;
  array.count_ = count;
  if (array.element_type == GgufValueType::STRING) {
    array.string_ends_.reserve(count);
    const uint64_t start = pos_;
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t length = read<uint64_t>("string value");
      if (length > remaining())
        fail_does_not_fit("string length " + std::to_string(length) + " of string value" + where() +
                          " at offset " + std::to_string(pos_ - 8));
      pos_ += length;
      array.string_ends_.push_back(pos_ - start);
    }
  } else if (array.element_type == GgufValueType::BOOL) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint8_t b = read<uint8_t>("bool value");
      if (b > 1) file_.fail("invalid bool value " + std::to_string(b) + where());
    }
  } else {
    pos_ += count * min_size;  // count <= remaining() / min_size, checked above
  }
  return array;
}

GgufValue GgufParser::read_value(GgufValueType type, int depth) {
  GgufValue v;
  v.type = type;
  const ValueTypeInfo& info = value_type_info(type);
  if (info.is_integer) {
    const uint64_t width = info.min_size;
    need(width, "integer value");
    uint64_t bits = 0;
    for (uint64_t i = 0; i < width; ++i) bits |= uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += width;
    if (info.is_signed) {
      const uint64_t shift = 64 - 8 * width;  // sign-extends through the arithmetic shift
      v.value = static_cast<int64_t>(bits << shift) >> shift;
    } else {
      v.value = bits;
    }
    return v;
  }
  switch (type) {
    case GgufValueType::FLOAT32:
      v.value = double{read<float>("float32 value")};
      break;
    case GgufValueType::FLOAT64:
      v.value = read<double>("float64 value");
      break;
    case GgufValueType::BOOL: {
      const uint8_t b = read<uint8_t>("bool value");
      if (b > 1) file_.fail("invalid bool value " + std::to_string(b) + where());
      v.value = b == 1;
      break;
    }
    case GgufValueType::STRING:
      v.value = read_string("string value");
      break;
    case GgufValueType::ARRAY:
      v.value = read_array(depth + 1);
      break;
    default:
      break;  // the integers, above
  }
  return v;
}

void GgufParser::read_header() {
  const uint32_t magic = read<uint32_t>("magic");
  if (magic != kMagic) file_.fail("not a GGUF file (bad magic)");
  const uint32_t version = read<uint32_t>("version");
  // v2 and v3 share one layout; v3 only added big-endian files, which announce themselves by
  // a byte-swapped version.
  if (version != 2 && version != 3) {
    if (byteswap(version) == 2 || byteswap(version) == 3)
      file_.fail("big-endian GGUF files are not supported");
    file_.fail("unsupported GGUF version " + std::to_string(version) + " (expected 2 or 3)");
  }
  file_.version_ = version;
  n_tensors_ = read<uint64_t>("tensor count");
  n_kv_ = read<uint64_t>("metadata count");
  if (n_tensors_ > remaining() / kMinTensorInfoBytes)
    fail_does_not_fit("tensor count " + std::to_string(n_tensors_));
  if (n_kv_ > remaining() / kMinKvBytes)
    fail_does_not_fit("metadata count " + std::to_string(n_kv_));
}

void GgufParser::read_metadata() {
  for (uint64_t i = 0; i < n_kv_; ++i) {
    context_ = "metadata entry " + std::to_string(i);
    std::string key = read_string("metadata key");
    if (key.empty()) file_.fail("empty metadata key in entry " + std::to_string(i));
    context_ = "metadata key '" + key + "'";
    if (file_.metadata_.contains(key)) file_.fail("duplicate metadata key '" + key + "'");
    const GgufValueType type = read_value_type("value type");
    GgufValue value = read_value(type, 0);
    file_.metadata_.emplace(std::move(key), std::move(value));
  }
  context_.clear();
}

void GgufParser::read_alignment() {
  const GgufValue* value = file_.find("general.alignment");
  if (!value) return;
  if (!value_type_info(value->type).is_integer)
    file_.fail("general.alignment must be an integer, found " +
               std::string(gguf_value_type_name(value->type)));
  // The parser stores unsigned integers as uint64_t and signed ones as int64_t.
  const auto* i = std::get_if<int64_t>(&value->value);
  if (i && *i <= 0)
    file_.fail("general.alignment " + std::to_string(*i) + " is not a nonzero power of two");
  const uint64_t alignment = i ? static_cast<uint64_t>(*i) : std::get<uint64_t>(value->value);
  if (!std::has_single_bit(alignment))
    file_.fail("general.alignment " + std::to_string(alignment) + " is not a nonzero power of two");
  file_.alignment_ = alignment;
}

GgufTensorInfo GgufParser::read_tensor_info() {
  GgufTensorInfo info;
  info.name = read_string("tensor name");
  context_ = "tensor '" + info.name + "'";
  const std::string& ctx = context_;

  const uint32_t n_dims = read<uint32_t>("dimension count");
  if (n_dims < 1 || n_dims > kMaxDims)
    file_.fail(ctx + " has " + std::to_string(n_dims) + " dimensions (expected 1 to " +
               std::to_string(kMaxDims) + ")");
  uint64_t n_elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t dim = read<uint64_t>("dimension");
    if (dim == 0) file_.fail(ctx + ": dimension " + std::to_string(d) + " is 0");
    if (dim > kMaxElements || n_elements > kMaxElements / dim)
      file_.fail(ctx + " has too many elements (dimension " + std::to_string(d) + " is " +
                 std::to_string(dim) + ")");
    n_elements *= dim;
    info.ne.push_back(static_cast<int64_t>(dim));
  }

  const uint32_t type_id = read<uint32_t>("tensor type");
  const std::optional<TensorType> type = tensor_type_from_id(type_id);
  if (!type) {
    // tensor_type_name says "type 99" for ids it does not know; name the id only once then.
    const std::string name = tensor_type_name(type_id);
    const std::string id = std::to_string(type_id);
    file_.fail(ctx + " has unsupported tensor type " + name +
               (name.ends_with(" " + id) ? "" : " (ggml type " + id + ")"));
  }
  info.type = *type;
  const TensorTypeTraits& tt = traits(info.type);
  if (info.ne[0] % tt.block_size != 0)
    file_.fail(ctx + ": row length " + std::to_string(info.ne[0]) + " is not a multiple of the " +
               std::string(tt.name) + " block size " + std::to_string(tt.block_size));
  // Elements < 2^48 and at most a few bytes each: this product cannot overflow.
  info.n_bytes = row_size(info.type, info.ne[0]) * static_cast<size_t>(info.n_rows());

  info.offset = read<uint64_t>("tensor offset");
  if (info.offset % file_.alignment_ != 0)
    file_.fail(ctx + ": offset " + std::to_string(info.offset) + " is not aligned to " +
               std::to_string(file_.alignment_) + " bytes");
  return info;
}

void GgufParser::read_tensor_infos() {
  file_.tensors_.reserve(n_tensors_);
  for (uint64_t i = 0; i < n_tensors_; ++i) {
    context_ = "tensor info " + std::to_string(i);
    GgufTensorInfo info = read_tensor_info();
    if (!file_.tensor_index_.emplace(info.name, file_.tensors_.size()).second)
      file_.fail("duplicate tensor name '" + info.name + "'");
    file_.tensors_.push_back(std::move(info));
  }
  context_.clear();
}

void GgufParser::place_tensors() {
  // pos_ <= size_ and alignment <= 2^63, so this sum cannot overflow.
  const uint64_t data_offset = (pos_ + file_.alignment_ - 1) / file_.alignment_ * file_.alignment_;
  if (file_.tensors_.empty()) {
    // A file without tensors may end right after its tensor infos, without padding.
    file_.data_offset_ = std::min(data_offset, size_);
    return;
  }
  if (data_offset > size_)
    file_.fail("truncated: data section at offset " + std::to_string(data_offset) +
               " starts past end of file (" + std::to_string(size_) + " bytes)");
  file_.data_offset_ = data_offset;
  const uint64_t data_size = size_ - data_offset;

  for (GgufTensorInfo& info : file_.tensors_) {
    if (info.offset > data_size || info.n_bytes > data_size - info.offset)
      file_.fail("tensor '" + info.name + "' (offset " + std::to_string(info.offset) + ", " +
                 std::to_string(info.n_bytes) + " bytes) extends past end of file");
    info.data = bytes_ + data_offset + info.offset;
  }

  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(file_.tensors_.size());
  for (const GgufTensorInfo& info : file_.tensors_) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    const GgufTensorInfo& next = *by_offset[i];
    if (prev.offset + prev.n_bytes > next.offset)
      file_.fail("tensors '" + prev.name + "' and '" + next.name + "' overlap");
  }
}

// ---- GgufFile --------------------------------------------------------------------------------

std::unique_ptr<GgufFile> GgufFile::open(const std::filesystem::path& path) {
  // The constructor is private, so make_unique cannot reach it.
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  GgufParser::map(*file);
  GgufParser(*file).parse();
  return file;
}

GgufFile::~GgufFile() {
  if (base_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

void GgufFile::fail(std::string_view what) const {
  throw ModelError(path_.string() + ": " + std::string(what));
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

namespace {

std::string key_context(const GgufFile& file, std::string_view key) {
  return file.path().string() + ": metadata key '" + std::string(key) + "'";
}

}  // namespace

int64_t GgufFile::get_int(std::string_view key, int64_t fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_int(key_context(*this, key)) : fallback;
}

double GgufFile::get_float(std::string_view key, double fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_float(key_context(*this, key)) : fallback;
}

bool GgufFile::get_bool(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_bool(key_context(*this, key)) : fallback;
}

std::string GgufFile::get_string(std::string_view key, std::string_view fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_string(key_context(*this, key)) : std::string(fallback);
}

namespace {

const GgufValue& require_value(const GgufFile& file, std::string_view key) {
  const GgufValue* v = file.find(key);
  if (!v) file.fail("missing metadata key '" + std::string(key) + "'");
  return *v;
}

}  // namespace

int64_t GgufFile::require_int(std::string_view key) const {
  return require_value(*this, key).as_int(key_context(*this, key));
}

double GgufFile::require_float(std::string_view key) const {
  return require_value(*this, key).as_float(key_context(*this, key));
}

const std::string& GgufFile::require_string(std::string_view key) const {
  return require_value(*this, key).as_string(key_context(*this, key));
}

const GgufArray& GgufFile::require_array(std::string_view key) const {
  return require_value(*this, key).as_array(key_context(*this, key));
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::require_tensor(std::string_view name) const {
  const GgufTensorInfo* info = find_tensor(name);
  if (!info) fail("missing tensor '" + std::string(name) + "'");
  return *info;
}

void GgufFile::release_metadata_pages() const {
  if (!base_) return;
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t end = std::min(data_offset_, size_) / page * page;  // keeps the tensors' pages
  // Advice only: the mapping is private and read-only, so the pages are reread from the file
  // if anything touches them again.
  if (end > 0) ::madvise(const_cast<uint8_t*>(base_), end, MADV_DONTNEED);
}

void GgufFile::release_pages(const void* data, uint64_t bytes) const {
  const auto* p = static_cast<const uint8_t*>(data);
  if (!base_ || p < base_ + data_offset_ || bytes > size_ || p + bytes > base_ + size_) return;
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = (static_cast<uint64_t>(p - base_) + page - 1) / page * page;
  const uint64_t end = static_cast<uint64_t>(p + bytes - base_) / page * page;
  if (end > begin) ::madvise(const_cast<uint8_t*>(base_) + begin, end - begin, MADV_DONTNEED);
}

void GgufFile::prefetch(const std::function<void(uint64_t, uint64_t)>& progress) const {
  try {
    if (!base_ || data_offset_ >= size_) {
      if (progress) progress(0, 0);
      return;
    }
    const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = data_offset_ / page * page;  // madvise wants a page-aligned address
    // Advice only: a failure here just means the pages are read on first touch instead.
    ::madvise(const_cast<uint8_t*>(base_) + start, size_ - start, MADV_WILLNEED);

    const uint64_t total = size_ - data_offset_;
    constexpr uint64_t kReportEvery = uint64_t{16} << 20;
    const volatile uint8_t* bytes = base_ + data_offset_;
    uint8_t sink = 0;
    uint64_t next_report = kReportEvery;
    for (uint64_t done = 0; done < total; done += page) {
      sink ^= bytes[done];
      if (progress && done >= next_report) {
        progress(done, total);
        next_report += kReportEvery;
      }
    }
    static_cast<void>(sink);
    if (progress) progress(total, total);
  } catch (...) {
    // A throwing progress callback only ends the prefetch early; loading does not depend on it.
  }
}

}  // namespace agentrt::engine
