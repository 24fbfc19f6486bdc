// Helpers shared by the test suite: where the shared data and test vectors are.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace agentrt::test {

// ../shared/data, or $AGENTRT_SHARED_DATA. May not exist: use AGENTRT_REQUIRE_SHARED.
inline std::filesystem::path shared_data() {
  if (const char* env = std::getenv("AGENTRT_SHARED_DATA"); env && *env) return env;
  return AGENTRT_SHARED_DATA_DEFAULT;
}

inline std::filesystem::path test_data() { return AGENTRT_TEST_DATA; }

// A scratch folder of this test process (ctest runs every test case as its own process, several
// at once, so fixed temporary paths would collide). Created on first use, removed at exit.
inline std::filesystem::path process_temp_dir() {
  struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("agentrt-test-" + std::to_string(::getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}
inline std::filesystem::path binary_dir() { return AGENTRT_BINARY_DIR; }

}  // namespace agentrt::test

// Skips the current test, saying why, when a file or folder under ../shared/data is absent.
#define AGENTRT_REQUIRE_SHARED(relative)                                                   \
  do {                                                                                     \
    if (!std::filesystem::exists(::agentrt::test::shared_data() / (relative)))             \
      GTEST_SKIP() << "shared data absent: " << (::agentrt::test::shared_data() / (relative)) \
                   << " (set AGENTRT_SHARED_DATA)";                                        \
  } while (0)
