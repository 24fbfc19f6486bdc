// GGUF reader and writer: round trips of every value type and several tensor types, a table of
// corrupt files that must each fail with a named problem, every truncation of a small file, and
// bounds on what a hostile header can make the reader allocate.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <new>
#include <random>

#include "agentrt/engine/gguf.h"
#include "test_support.h"

// Global allocation tracking, switched on only around the calls under test: the largest single
// request and the sum of all requests.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
std::atomic<size_t> g_total_allocated{0};
}  // namespace

void* operator new(size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    g_total_allocated += n;
    size_t largest = g_largest_allocation.load();
    while (n > largest && !g_largest_allocation.compare_exchange_weak(largest, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
#if defined(__GNUC__) && !defined(__clang__)
// GCC cannot see that the replaced operator new above allocates with malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace agentrt::engine {
namespace {

namespace fs = std::filesystem;
using VT = GgufValueType;
constexpr uint64_t kHuge = uint64_t{1} << 60;

struct AllocationStats {
  size_t largest = 0;
  size_t total = 0;
};

AllocationStats track_allocations(const std::function<void()>& body) {
  g_largest_allocation = 0;
  g_total_allocated = 0;
  g_track_allocations = true;
  try {
    body();
  } catch (...) {
    g_track_allocations = false;
    throw;
  }
  g_track_allocations = false;
  return {g_largest_allocation.load(), g_total_allocated.load()};
}

// Little-endian byte builder for files the writer would refuse to make.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes& uint(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes& u8(uint8_t v) { return uint(v, 1); }
  Bytes& u32(uint32_t v) { return uint(v, 4); }
  Bytes& u64(uint64_t v) { return uint(v, 8); }
  Bytes& str(std::string_view s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& type(VT t) { return u32(static_cast<uint32_t>(t)); }
};

// A key followed by its type and the raw value bytes.
std::vector<uint8_t> kv(std::string_view key, VT type, const Bytes& value) {
  Bytes out;
  out.str(key).type(type);
  out.b.insert(out.b.end(), value.b.begin(), value.b.end());
  return out.b;
}
std::vector<uint8_t> kv_u32(std::string_view key, uint32_t v) {
  return kv(key, VT::UINT32, Bytes().u32(v));
}
std::vector<uint8_t> kv_str(std::string_view key, std::string_view v) {
  return kv(key, VT::STRING, Bytes().str(v));
}

struct RawTensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;
  std::optional<uint64_t> name_length;  // overrides name.size()
};

// A GGUF file described field by field, so that a test can break any one field. The default is
// a valid file: three metadata entries and two F32 tensors whose data ends the file.
struct RawFile {
  uint32_t magic = 0x46554747;
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors;  // overrides tensors.size()
  std::optional<uint64_t> n_kv;       // overrides kvs.size()
  std::vector<std::vector<uint8_t>> kvs = {
      kv_str("general.architecture", "llama"),
      kv_u32("llama.block_count", 2),
      kv("tokenizer.ggml.scores", VT::ARRAY, Bytes().type(VT::FLOAT32).u64(2).u32(0).u32(0)),
  };
  std::vector<RawTensor> tensors = {{"a", {8}, 0, 0, {}}, {"b", {4, 2}, 0, 32, {}}};
  uint64_t alignment = 32;
  bool pad_before_data = true;
  uint64_t data_size = 64;

  std::vector<uint8_t> encode() const {
    Bytes out;
    out.u32(magic).u32(version);
    out.u64(n_tensors.value_or(tensors.size())).u64(n_kv.value_or(kvs.size()));
    for (const auto& entry : kvs) out.b.insert(out.b.end(), entry.begin(), entry.end());
    for (const RawTensor& t : tensors) {
      out.u64(t.name_length.value_or(t.name.size()));
      out.b.insert(out.b.end(), t.name.begin(), t.name.end());
      out.u32(static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) out.u64(d);
      out.u32(t.type).u64(t.offset);
    }
    if (pad_before_data) out.b.resize((out.b.size() + alignment - 1) / alignment * alignment);
    for (uint64_t i = 0; i < data_size; ++i) out.u8(static_cast<uint8_t>(i));
    return out.b;
  }
};

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("agentrt_test_gguf_") + std::to_string(::getpid()) + "_" +
                       info->test_suite_name() + "_" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterized names hold slashes
    dir_ = fs::temp_directory_path() / name;
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path write_file(const std::vector<uint8_t>& bytes, const std::string& name = "m.gguf") {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    EXPECT_TRUE(out.good());
    return path;
  }

  // The ModelError message that opening `path` gives, or "" when it opens.
  static std::string open_error(const fs::path& path) {
    try {
      GgufFile::open(path);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "";
  }
  std::string open_error(const std::vector<uint8_t>& bytes, fs::path* path_out = nullptr) {
    const fs::path path = write_file(bytes);
    if (path_out) *path_out = path;
    return open_error(path);
  }

  fs::path dir_;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

GgufValue make(VT type, std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v) {
  return GgufValue{type, std::move(v)};
}

// ---- Round trips -----------------------------------------------------------------------------

TEST_F(GgufTest, RoundTripsEveryValueType) {
  GgufWriter w;
  w.set("u8", make(VT::UINT8, uint64_t{200}));
  w.set("i8", make(VT::INT8, int64_t{-100}));
  w.set("u16", make(VT::UINT16, uint64_t{60000}));
  w.set("i16", make(VT::INT16, int64_t{-30000}));
  w.set("u32", GgufValue::make_u32(4000000000u));
  w.set("i32", GgufValue::make_i32(-2000000000));
  w.set("u64", GgufValue::make_u64(std::numeric_limits<uint64_t>::max()));
  w.set("i64", make(VT::INT64, std::numeric_limits<int64_t>::min()));
  w.set("f32", GgufValue::make_f32(1.5f));
  w.set("f64", make(VT::FLOAT64, 3.141592653589793));
  w.set("t", GgufValue::make_bool(true));
  w.set("f", GgufValue::make_bool(false));
  w.set("s", GgufValue::make_string("h\xc3\xa9llo"));
  w.set("empty", GgufValue::make_string(""));
  w.set("strings", GgufValue::make_array(
                       VT::STRING, {GgufValue::make_string("<unk>"), GgufValue::make_string("")}));
  w.set("no_items", GgufValue::make_array(VT::INT32, {}));
  w.set("nested",
        GgufValue::make_array(
            VT::ARRAY, {GgufValue::make_array(
                            VT::INT16, {make(VT::INT16, int64_t{-5}), make(VT::INT16, int64_t{7})}),
                        GgufValue::make_array(VT::BOOL, {GgufValue::make_bool(true)}),
                        GgufValue::make_array(VT::ARRAY, {GgufValue::make_array(VT::UINT8, {})})}));
  w.set("u32", GgufValue::make_u32(4000000001u));  // replaces, keeps one entry
  const auto path = write_file(w.bytes());

  const auto file = GgufFile::open(path);
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->metadata().size(), 17u);
  EXPECT_EQ(file->alignment(), 32u);
  EXPECT_EQ(file->find("general.alignment"), nullptr);  // the default is not written
  const auto& md = file->metadata();
  EXPECT_EQ(md.at("u8").type, VT::UINT8);
  EXPECT_EQ(file->get_int("u8", 0), 200);
  EXPECT_EQ(md.at("i8").type, VT::INT8);
  EXPECT_EQ(file->get_int("i8", 0), -100);
  EXPECT_EQ(file->get_int("u16", 0), 60000);
  EXPECT_EQ(md.at("i16").type, VT::INT16);
  EXPECT_EQ(file->get_int("i16", 0), -30000);
  EXPECT_EQ(file->get_int("u32", 0), 4000000001);
  EXPECT_EQ(file->get_int("i32", 0), -2000000000);
  EXPECT_EQ(std::get<uint64_t>(md.at("u64").value), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(file->get_int("i64", 0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(md.at("f32").type, VT::FLOAT32);
  EXPECT_EQ(file->get_float("f32", 0), 1.5);
  EXPECT_EQ(md.at("f64").type, VT::FLOAT64);
  EXPECT_EQ(file->require_float("f64"), 3.141592653589793);
  EXPECT_TRUE(file->get_bool("t", false));
  EXPECT_FALSE(file->get_bool("f", true));
  EXPECT_EQ(file->require_string("s"), "h\xc3\xa9llo");
  EXPECT_EQ(file->get_string("empty", "x"), "");

  const GgufArray& strings = file->require_array("strings");
  EXPECT_EQ(strings.element_type, VT::STRING);
  ASSERT_EQ(strings.size(), 2u);
  EXPECT_EQ(strings.at(0).as_string("t"), "<unk>");
  EXPECT_EQ(strings.string_at(1, "t"), "");
  EXPECT_EQ(file->require_array("no_items").element_type, VT::INT32);
  EXPECT_TRUE(file->require_array("no_items").empty());

  const GgufArray& nested = file->require_array("nested");
  EXPECT_EQ(nested.element_type, VT::ARRAY);
  ASSERT_EQ(nested.items.size(), 3u);
  const GgufArray& inner = nested.items[0].as_array("t");
  EXPECT_EQ(inner.element_type, VT::INT16);
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(inner.at(0).as_int("t"), -5);
  EXPECT_EQ(inner.at(1).as_int("t"), 7);
  EXPECT_TRUE(nested.items[1].as_array("t").at(0).as_bool("t"));
  const GgufArray& deeper = nested.items[2].as_array("t");
  EXPECT_EQ(deeper.element_type, VT::ARRAY);
  EXPECT_EQ(deeper.items.at(0).as_array("t").element_type, VT::UINT8);
  EXPECT_TRUE(file->tensors().empty());
}

TEST_F(GgufTest, RoundTripsTensorsOfSeveralTypes) {
  struct Spec {
    std::string name;
    std::vector<int64_t> ne;
    TensorType type;
  };
  const std::vector<Spec> specs = {
      {"f32", {3, 2}, TensorType::F32},         {"f16", {5}, TensorType::F16},
      {"bf16", {2, 2, 2, 2}, TensorType::BF16}, {"q8_0", {64, 3}, TensorType::Q8_0},
      {"q4_0", {32}, TensorType::Q4_0},         {"q4_k", {256, 2}, TensorType::Q4_K},
      {"q6_k", {256, 1, 2}, TensorType::Q6_K},
  };
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("llama"));
  std::vector<std::vector<uint8_t>> datas;
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    int64_t rows = 1;
    for (size_t d = 1; d < s.ne.size(); ++d) rows *= s.ne[d];
    datas.push_back(
        pattern(row_size(s.type, s.ne[0]) * static_cast<size_t>(rows), static_cast<uint8_t>(i)));
    w.add_tensor(s.name, s.ne, s.type, datas.back());
  }
  const auto path = write_file(w.bytes());
  const auto file = GgufFile::open(path);

  ASSERT_EQ(file->tensors().size(), specs.size());
  EXPECT_EQ(file->data_offset() % 32, 0u);
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE(specs[i].name);
    const GgufTensorInfo& t = file->tensors()[i];  // insertion order is kept
    EXPECT_EQ(t.name, specs[i].name);
    EXPECT_EQ(t.ne, specs[i].ne);
    EXPECT_EQ(t.type, specs[i].type);
    EXPECT_EQ(t.offset % 32, 0u);
    EXPECT_EQ(t.n_bytes, datas[i].size());
    ASSERT_NE(t.data, nullptr);
    EXPECT_EQ(0, std::memcmp(t.data, datas[i].data(), datas[i].size()));
    EXPECT_EQ(&file->require_tensor(specs[i].name), &t);
  }
  EXPECT_EQ(file->find_tensor("f16")->n_elements(), 5);
  EXPECT_EQ(file->find_tensor("bf16")->n_elements(), 16);
  EXPECT_EQ(file->find_tensor("q6_k")->n_rows(), 2);
  EXPECT_EQ(file->find_tensor("missing"), nullptr);
}

TEST_F(GgufTest, WriterProducesTheDocumentedLayout) {
  GgufWriter w;
  w.set("k", GgufValue::make_u32(7));
  w.add_tensor("t", {4}, TensorType::F32, pattern(16, 1));
  const std::vector<uint8_t> b = w.bytes();
  // magic, version 3, 1 tensor, 1 kv; key "k", uint32 7; tensor info; pad; 16 bytes padded to 32
  const std::vector<uint8_t> header = {'G', 'G', 'U', 'F', 3,   0, 0, 0, 1, 0, 0, 0, 0, 0,
                                       0,   0,   1,   0,   0,   0, 0, 0, 0, 0, 1, 0, 0, 0,
                                       0,   0,   0,   0,   'k', 4, 0, 0, 0, 7, 0, 0, 0};
  ASSERT_GE(b.size(), header.size());
  EXPECT_TRUE(std::equal(header.begin(), header.end(), b.begin()));
  const size_t infos_end = header.size() + 8 + 1 + 4 + 8 + 4 + 8;
  const size_t data_start = (infos_end + 31) / 32 * 32;
  EXPECT_EQ(b.size(), data_start + 32);
  for (size_t i = infos_end; i < data_start; ++i) EXPECT_EQ(b[i], 0) << i;
  EXPECT_EQ(0, std::memcmp(b.data() + data_start, pattern(16, 1).data(), 16));
}

TEST_F(GgufTest, NonDefaultAlignmentIsWrittenAndHonoured) {
  GgufWriter w(64);
  w.add_tensor("a", {3}, TensorType::F32, pattern(12, 0));
  w.add_tensor("b", {3}, TensorType::F32, pattern(12, 9));
  const auto file = GgufFile::open(write_file(w.bytes()));
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->require_int("general.alignment"), 64);
  EXPECT_EQ(file->data_offset() % 64, 0u);
  EXPECT_EQ(file->require_tensor("b").offset, 64u);
  EXPECT_EQ(0, std::memcmp(file->require_tensor("b").data, pattern(12, 9).data(), 12));

  // An explicit general.alignment decides the layout too.
  GgufWriter explicit_key;
  explicit_key.set("general.alignment", GgufValue::make_u32(128));
  explicit_key.add_tensor("a", {3}, TensorType::F32, pattern(12, 0));
  explicit_key.add_tensor("b", {3}, TensorType::F32, pattern(12, 9));
  const auto file2 = GgufFile::open(write_file(explicit_key.bytes(), "explicit.gguf"));
  EXPECT_EQ(file2->alignment(), 128u);
  EXPECT_EQ(file2->require_tensor("b").offset, 128u);
  EXPECT_EQ(file2->metadata().size(), 1u);
}

TEST_F(GgufTest, WriterRefusesInconsistentInput) {
  GgufWriter w;
  EXPECT_THROW(w.add_tensor("t", {4}, TensorType::F32, pattern(15, 0)), std::invalid_argument);
  EXPECT_THROW(w.add_tensor("t", {}, TensorType::F32, {}), std::invalid_argument);
  EXPECT_THROW(w.add_tensor("t", {4, 0}, TensorType::F32, {}), std::invalid_argument);
  EXPECT_THROW(w.add_tensor("t", {int64_t{1} << 40, int64_t{1} << 40}, TensorType::F32, {}),
               std::invalid_argument);
  EXPECT_THROW(w.add_tensor("t", {33}, TensorType::Q8_0, pattern(34, 0)), std::invalid_argument);
  w.add_tensor("t", {4}, TensorType::F32, pattern(16, 0));
  EXPECT_THROW(w.add_tensor("t", {4}, TensorType::F32, pattern(16, 0)), std::invalid_argument);

  GgufWriter mixed;
  mixed.set("a", GgufValue::make_array(VT::UINT32, {GgufValue::make_string("x")}));
  EXPECT_THROW(mixed.bytes(), std::invalid_argument);
  GgufWriter mismatched;
  mismatched.set("a", make(VT::STRING, uint64_t{1}));
  EXPECT_THROW(mismatched.bytes(), std::invalid_argument);
  GgufWriter unknown;
  unknown.set("a", GgufValue::make_array(static_cast<VT>(99), {}));
  EXPECT_THROW(unknown.bytes(), std::invalid_argument);
  EXPECT_THROW(GgufWriter(48).bytes(), std::invalid_argument);
  EXPECT_THROW(GgufWriter().write(dir_ / "no_such_dir" / "x.gguf"), std::runtime_error);
}

TEST_F(GgufTest, AcceptsVersion2) {
  RawFile raw;
  raw.version = 2;
  const auto file = GgufFile::open(write_file(raw.encode()));
  EXPECT_EQ(file->version(), 2u);
  EXPECT_EQ(file->require_string("general.architecture"), "llama");
  EXPECT_EQ(file->tensors().size(), 2u);
}

// ---- Typed lookups ---------------------------------------------------------------------------

TEST_F(GgufTest, TypedLookupsUseFallbacksAndNameTheKeyOnMismatch) {
  GgufWriter w;
  w.set("name", GgufValue::make_string("x"));
  w.set("n", GgufValue::make_u32(5));
  w.set("big", GgufValue::make_u64(std::numeric_limits<uint64_t>::max()));
  const fs::path path = write_file(w.bytes());
  const auto file = GgufFile::open(path);

  EXPECT_EQ(file->get_int("absent", 42), 42);
  EXPECT_EQ(file->get_float("absent", 0.5), 0.5);
  EXPECT_TRUE(file->get_bool("absent", true));
  EXPECT_EQ(file->get_string("absent", "fb"), "fb");
  EXPECT_EQ(file->get_float("n", 0), 5.0);  // integers widen to float

  const auto expect_error = [&](const std::function<void()>& f, const std::string& phrase) {
    try {
      f();
      ADD_FAILURE() << "no ModelError; expected: " << phrase;
    } catch (const ModelError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
      EXPECT_NE(what.find(phrase), std::string::npos) << what;
    }
  };
  expect_error([&] { file->get_int("name", 0); }, "metadata key 'name': expected an integer");
  expect_error([&] { file->get_bool("n", false); }, "expected a bool, found uint32");
  expect_error([&] { file->get_string("n", ""); }, "expected a string");
  expect_error([&] { file->require_array("n"); }, "expected an array");
  expect_error([&] { file->get_int("big", 0); }, "does not fit in int64");
  expect_error([&] { file->require_int("absent"); }, "missing metadata key 'absent'");
  expect_error([&] { file->require_string("absent"); }, "missing metadata key");
  expect_error([&] { file->require_tensor("w"); }, "missing tensor 'w'");
  EXPECT_EQ(gguf_value_type_name(VT::FLOAT64), "float64");
}

// ---- Corrupt files ---------------------------------------------------------------------------

struct CorruptCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  std::string phrase;  // must appear in the message
};

// Test names and failure messages show the case's name instead of its bytes.
void PrintTo(const CorruptCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<uint8_t> raw_with(const std::function<void(RawFile&)>& change) {
  RawFile raw;
  change(raw);
  return raw.encode();
}

std::vector<uint8_t> nested_arrays(int depth) {
  Bytes value;
  for (int i = 0; i < depth - 1; ++i) value.type(VT::ARRAY).u64(1);
  value.type(VT::UINT8).u64(0);
  return kv("deep", VT::ARRAY, value);
}

std::vector<CorruptCase> corrupt_cases() {
  using R = RawFile&;
  return {
      {"bad_magic", [] { return raw_with([](R r) { r.magic = 0x47475546; }); }, "bad magic"},
      {"version_1", [] { return raw_with([](R r) { r.version = 1; }); },
       "unsupported GGUF version 1 "},
      {"version_99", [] { return raw_with([](R r) { r.version = 99; }); },
       "unsupported GGUF version 99"},
      {"big_endian", [] { return raw_with([](R r) { r.version = 0x03000000; }); }, "big-endian"},
      {"tiny_file",
       [] {
         return std::vector<uint8_t>{'G', 'G', 'U'};
       },
       "truncated"},
      {"truncated_header",
       [] {
         auto b = RawFile().encode();
         b.resize(20);
         return b;
       },
       "truncated"},
      {"absurd_n_tensors", [] { return raw_with([](R r) { r.n_tensors = kHuge; }); },
       "tensor count"},
      {"absurd_n_kv", [] { return raw_with([](R r) { r.n_kv = kHuge; }); }, "metadata count"},
      {"n_tensors_too_large_by_one", [] { return raw_with([](R r) { r.n_tensors = 3; }); },
       "tensor '' has 0 dimensions"},
      {"absurd_key_length",
       [] { return raw_with([](R r) { r.kvs.push_back(Bytes().u64(kHuge).b); }); },
       "string length 1152921504606846976"},
      {"absurd_string_value_length",
       [] { return raw_with([](R r) { r.kvs[0] = kv("s", VT::STRING, Bytes().u64(kHuge)); }); },
       "string length"},
      {"absurd_array_count",
       [] {
         return raw_with(
             [](R r) { r.kvs[2] = kv("a", VT::ARRAY, Bytes().type(VT::UINT32).u64(kHuge)); });
       },
       "array count 1152921504606846976"},
      {"absurd_nested_array_count",
       [] {
         return raw_with([](R r) {
           r.kvs[2] =
               kv("a", VT::ARRAY, Bytes().type(VT::ARRAY).u64(1).type(VT::STRING).u64(kHuge));
         });
       },
       "array count"},
      {"empty_key", [] { return raw_with([](R r) { r.kvs.push_back(kv_u32("", 1)); }); },
       "empty metadata key"},
      {"duplicate_key",
       [] { return raw_with([](R r) { r.kvs.push_back(kv_u32("llama.block_count", 3)); }); },
       "duplicate metadata key 'llama.block_count'"},
      {"unknown_value_type",
       [] {
         return raw_with(
             [](R r) { r.kvs.push_back(kv("x", static_cast<VT>(13), Bytes().u32(0))); });
       },
       "unknown value type 13 of metadata key 'x'"},
      {"unknown_array_element_type",
       [] {
         return raw_with([](R r) { r.kvs.push_back(kv("x", VT::ARRAY, Bytes().u32(99).u64(0))); });
       },
       "unknown value type 99"},
      {"bad_bool",
       [] { return raw_with([](R r) { r.kvs.push_back(kv("b", VT::BOOL, Bytes().u8(2))); }); },
       "invalid bool value 2"},
      {"deep_nesting", [] { return raw_with([](R r) { r.kvs.push_back(nested_arrays(9)); }); },
       "nested deeper than 8"},
      {"alignment_zero",
       [] { return raw_with([](R r) { r.kvs.push_back(kv_u32("general.alignment", 0)); }); },
       "general.alignment 0 is not a nonzero power of two"},
      {"alignment_not_power_of_two",
       [] { return raw_with([](R r) { r.kvs.push_back(kv_u32("general.alignment", 48)); }); },
       "general.alignment 48 is not a nonzero power of two"},
      {"alignment_negative",
       [] {
         return raw_with([](R r) {
           r.kvs.push_back(kv("general.alignment", VT::INT32, Bytes().u32(0xFFFFFFE0u)));
         });
       },
       "power of two"},
      {"alignment_string",
       [] { return raw_with([](R r) { r.kvs.push_back(kv_str("general.alignment", "32")); }); },
       "general.alignment must be an integer"},
      {"alignment_past_end",
       [] {
         return raw_with([](R r) {
           r.kvs.push_back(kv("general.alignment", VT::UINT64, Bytes().u64(uint64_t{1} << 63)));
           r.pad_before_data = false;
           r.tensors.resize(1);
         });
       },
       "starts past end of file"},
      {"n_dims_0", [] { return raw_with([](R r) { r.tensors[1].ne = {}; }); },
       "tensor 'b' has 0 dimensions"},
      {"n_dims_5", [] { return raw_with([](R r) {
                          r.tensors[1].ne = {1, 1, 1, 1, 1};
                        }); },
       "has 5 dimensions"},
      {"zero_dim", [] { return raw_with([](R r) {
                          r.tensors[1].ne = {4, 0};
                        }); },
       "tensor 'b': dimension 1 is 0"},
      {"huge_dims",
       [] { return raw_with([](R r) {
              r.tensors[1].ne = {1u << 30, 1u << 30, 1u << 30};
            }); },
       "too many elements"},
      {"dims_overflow_int64",
       [] { return raw_with([](R r) { r.tensors[1].ne = {~uint64_t{0}}; }); }, "too many elements"},
      {"unsupported_type_q5_K", [] { return raw_with([](R r) { r.tensors[1].type = 13; }); },
       "unsupported tensor type " + tensor_type_name(13)},
      {"unknown_type_99", [] { return raw_with([](R r) { r.tensors[1].type = 99; }); },
       "unsupported tensor type " + tensor_type_name(99)},
      {"row_not_multiple_of_block",
       [] {
         return raw_with([](R r) {
           r.tensors[1].ne = {33};
           r.tensors[1].type = static_cast<uint32_t>(TensorType::Q8_0);
         });
       },
       "row length 33 is not a multiple of the q8_0 block size 32"},
      {"misaligned_offset", [] { return raw_with([](R r) { r.tensors[1].offset = 33; }); },
       "offset 33 is not aligned to 32 bytes"},
      {"offset_past_end", [] { return raw_with([](R r) { r.tensors[1].offset = 4096; }); },
       "tensor 'b' (offset 4096, 32 bytes) extends past end of file"},
      {"offset_overflow",
       [] { return raw_with([](R r) { r.tensors[1].offset = ~uint64_t{0} - 31; }); },
       "extends past end of file"},
      {"data_truncated", [] { return raw_with([](R r) { r.data_size = 40; }); },
       "tensor 'b' (offset 32, 32 bytes) extends past end of file"},
      {"overlapping_tensors",
       [] {
         return raw_with([](R r) {
           r.tensors[1].ne = {16};
           r.tensors[0].offset = 32;
           r.tensors[1].offset = 0;
         });
       },
       "tensors 'b' and 'a' overlap"},
      {"duplicate_tensor_name", [] { return raw_with([](R r) { r.tensors[1].name = "a"; }); },
       "duplicate tensor name 'a'"},
      {"absurd_tensor_name_length",
       [] { return raw_with([](R r) { r.tensors[1].name_length = kHuge; }); },
       "string length 1152921504606846976 of tensor name"},
  };
}

TEST_F(GgufTest, CorruptionTableStartsFromAValidFile) {
  ASSERT_EQ(GgufFile::open(write_file(RawFile().encode()))->tensors().size(), 2u);
  EXPECT_NO_THROW(
      GgufFile::open(write_file(raw_with([](RawFile& r) { r.kvs.push_back(nested_arrays(8)); }))))
      << "eight levels of arrays are allowed";
  EXPECT_GE(corrupt_cases().size(), 20u);
}

class CorruptFileTest : public GgufTest, public ::testing::WithParamInterface<CorruptCase> {};

TEST_P(CorruptFileTest, FailsWithANamedProblem) {
  fs::path path;
  const std::string what = open_error(GetParam().make(), &path);
  ASSERT_FALSE(what.empty()) << "opened without error";
  EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
  EXPECT_NE(what.find(GetParam().phrase), std::string::npos) << "message: " << what;
}

INSTANTIATE_TEST_SUITE_P(Gguf, CorruptFileTest, ::testing::ValuesIn(corrupt_cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A small file using every value type, with tensors whose data ends exactly at the end of the
// file, so that every proper prefix is a truncated file.
std::vector<uint8_t> small_complete_file() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("llama"));
  w.set("u8", make(VT::UINT8, uint64_t{1}));
  w.set("i16", make(VT::INT16, int64_t{-2}));
  w.set("f64", make(VT::FLOAT64, 0.25));
  w.set("b", GgufValue::make_bool(true));
  w.set("tokens", GgufValue::make_array(
                      VT::STRING, {GgufValue::make_string("a"), GgufValue::make_string("bc")}));
  w.set("nested", GgufValue::make_array(
                      VT::ARRAY, {GgufValue::make_array(VT::INT32, {GgufValue::make_i32(3)})}));
  w.add_tensor("x", {8}, TensorType::F32, pattern(32, 3));
  w.add_tensor("y", {32, 2}, TensorType::Q8_0, pattern(68, 5));
  std::vector<uint8_t> b = w.bytes();
  b.resize(b.size() - 28);  // drop the padding after the last tensor (68 bytes padded to 96)
  return b;
}

TEST_F(GgufTest, EveryTruncationFails) {
  const std::vector<uint8_t> full = small_complete_file();
  {
    const auto file = GgufFile::open(write_file(full));
    const GgufTensorInfo& y = file->require_tensor("y");
    ASSERT_EQ(file->data_offset() + y.offset + y.n_bytes, full.size());
  }
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    fs::path path;
    const std::string what =
        open_error(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(n)), &path);
    ASSERT_FALSE(what.empty()) << "a " << n << "-byte prefix opened";
    EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
    EXPECT_TRUE(what.find("truncated") != std::string::npos ||
                what.find("past end of file") != std::string::npos ||
                what.find("file is empty") != std::string::npos)
        << what;
  }
}

// Overwrites each header byte with a few values: the file either opens or fails with ModelError.
TEST_F(GgufTest, ByteCorruptionsNeverCrash) {
  const std::vector<uint8_t> full = small_complete_file();
  const auto file = GgufFile::open(write_file(full, "full.gguf"));
  const size_t header_end = file->data_offset();
  std::mt19937 rng(1234);
  int failures = 0;
  for (size_t i = 0; i < header_end; ++i) {
    for (uint8_t v :
         {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, static_cast<uint8_t>(rng() & 0xFF)}) {
      std::vector<uint8_t> bytes = full;
      bytes[i] = v;
      try {
        const std::string what = open_error(bytes);
        if (!what.empty()) ++failures;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "byte " << i << " = " << int{v} << ": non-ModelError " << e.what();
      }
    }
  }
  EXPECT_GT(failures, 0);
}

TEST_F(GgufTest, MissingEmptyAndDirectoryPathsFailClearly) {
  const fs::path missing = dir_ / "absent.gguf";
  EXPECT_EQ(open_error(missing).rfind(missing.string() + ": cannot open", 0), 0u)
      << open_error(missing);
  const fs::path empty = write_file({}, "empty.gguf");
  EXPECT_EQ(open_error(empty), empty.string() + ": file is empty, not a GGUF file");
  EXPECT_EQ(open_error(dir_), dir_.string() + ": is a directory, not a GGUF file");
}

// ---- Allocation bounds -----------------------------------------------------------------------

TEST_F(GgufTest, HostileCountsFailBeforeAllocating) {
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> files = {
      {raw_with(
           [](RawFile& r) { r.kvs[2] = kv("a", VT::ARRAY, Bytes().type(VT::UINT8).u64(kHuge)); }),
       "array count"},
      {raw_with(
           [](RawFile& r) { r.kvs[2] = kv("a", VT::ARRAY, Bytes().type(VT::ARRAY).u64(kHuge)); }),
       "array count"},
      {raw_with([](RawFile& r) { r.kvs[0] = kv("s", VT::STRING, Bytes().u64(kHuge)); }),
       "string length"},
      {raw_with([](RawFile& r) { r.n_tensors = kHuge; }), "tensor count"},
      {raw_with([](RawFile& r) { r.n_kv = kHuge; }), "metadata count"},
  };
  for (const auto& [bytes, phrase] : files) {
    SCOPED_TRACE(phrase);
    const fs::path path = write_file(bytes);
    std::string what;
    const AllocationStats stats = track_allocations([&] {
      try {
        GgufFile::open(path);
      } catch (const ModelError& e) {
        what = e.what();
      }
    });
    EXPECT_NE(what.find(phrase), std::string::npos) << what;
    EXPECT_LT(stats.largest, size_t{64} << 10);
    EXPECT_LT(stats.total, size_t{256} << 10);
  }
}

TEST_F(GgufTest, MemoryStaysWithinASmallMultipleOfTheFileSize) {
  // One-byte elements cost the most memory per file byte: one GgufValue each.
  std::vector<GgufValue> items(100000, make(VT::UINT8, uint64_t{1}));
  GgufWriter w;
  w.set("bytes", GgufValue::make_array(VT::UINT8, std::move(items)));
  const std::vector<uint8_t> bytes = w.bytes();
  const fs::path path = write_file(bytes);
  const AllocationStats stats = track_allocations([&] { GgufFile::open(path); });
  EXPECT_LT(stats.total, bytes.size() * 64) << "sizeof(GgufValue) = " << sizeof(GgufValue);
}

// ---- Prefetch --------------------------------------------------------------------------------

TEST_F(GgufTest, PrefetchReportsProgressAndNeverThrows) {
  GgufWriter w;
  w.add_tensor("big", {1 << 20}, TensorType::F32, std::vector<uint8_t>(4 << 20, 1));
  const auto file = GgufFile::open(write_file(w.bytes()));
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  file->prefetch([&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  ASSERT_FALSE(calls.empty());
  const uint64_t total = file->file_size() - file->data_offset();
  EXPECT_EQ(calls.back(), std::make_pair(total, total));
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_LE(calls[i - 1].first, calls[i].first);
  EXPECT_NO_THROW(file->prefetch([](uint64_t, uint64_t) { throw std::runtime_error("stop"); }));
  EXPECT_NO_THROW(file->prefetch());
}

// ---- A real file -----------------------------------------------------------------------------

TEST_F(GgufTest, ReadsStories260K) {
  AGENTRT_REQUIRE_SHARED("stories260K/stories260K.gguf");
  const auto file = GgufFile::open(test::shared_data() / "stories260K/stories260K.gguf");
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->require_string("general.architecture"), "llama");
  EXPECT_EQ(file->require_int("llama.block_count"), 5);
  EXPECT_EQ(file->require_int("llama.embedding_length"), 64);
  EXPECT_EQ(file->require_int("llama.attention.head_count_kv"), 4);
  EXPECT_NEAR(file->require_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
  EXPECT_EQ(file->metadata().size(), 19u);
  const GgufArray& tokens = file->require_array("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.element_type, VT::STRING);
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens.string_at(0, "token 0"), "<unk>");
  EXPECT_EQ(tokens.at(1).as_string("token 1"), "<s>");
  EXPECT_EQ(tokens.string_at(3, "token 3"), "<0x00>");
  EXPECT_EQ(file->require_array("tokenizer.ggml.token_type").at(1).as_int("t"), 3);

  EXPECT_EQ(file->tensors().size(), 48u);
  EXPECT_EQ(file->data_offset(), 14112u);
  const GgufTensorInfo& embd = file->require_tensor("token_embd.weight");
  EXPECT_EQ(embd.ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embd.type, TensorType::F32);
  float first = 0;
  std::memcpy(&first, embd.data, sizeof first);
  EXPECT_NEAR(first, -0.29474878f, 1e-7f);
  const GgufTensorInfo& last = file->require_tensor("blk.4.ffn_norm.weight");
  EXPECT_EQ(file->data_offset() + last.offset + last.n_bytes, file->file_size());
  file->prefetch();
}

}  // namespace
}  // namespace agentrt::engine
