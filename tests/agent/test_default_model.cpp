// The shipped default model (models/agentrt-tiny.gguf) through the real command, as the README's
// first command runs it: found without -m, it calls the calculator with a well-formed call and
// ends with an answer. Whether the answer is right is the model's accuracy, measured by
// training/evaluate.sh and reported in models/MODEL_CARD.md, not asserted here: this test holds
// the mechanics (model file, tokenizer, EOS, dialect metadata, the loop) that every model needs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_agentrt.h"

namespace agentrt::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSource = AGENTRT_SOURCE_DIR;

RunResult run_task(const std::string& task, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "run", (kSource / "examples" / "tasks" / task).string(), "--json", "--no-trace", "-t", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_agentrt(args);
}

TEST(DefaultModel, RunsTheQuickstartTaskThroughTheCalculator) {
  // No -m: the command finds models/agentrt-tiny.gguf next to the build tree.
  const RunResult run = run_task("circle-area.json");
  ASSERT_TRUE(run.code == 0 || run.code == 1) << run.out << run.err;  // 1: a wrong answer
  const json report = json::parse(run.out);
  EXPECT_EQ(report.at("outcome"), "answered") << report.at("reason");
  const json& steps = report.at("steps");
  ASSERT_GE(steps.size(), 2u);
  // The first turn is one valid calculator call that the model ended with <|im_end|> (its EOS).
  EXPECT_EQ(steps.at(0).at("end"), "eos");
  ASSERT_EQ(steps.at(0).at("calls").size(), 1u) << steps.at(0).at("model_text");
  EXPECT_EQ(steps.at(0).at("calls").at(0).at("name"), "calculator");
  EXPECT_TRUE(steps.at(0).at("calls").at(0).at("valid").get<bool>());
  EXPECT_FALSE(report.at("answer").get<std::string>().empty());
}

TEST(DefaultModel, ExplicitPathWorksAndAMissingOneIsAClearError) {
  const std::string model = (kSource / "models" / "agentrt-tiny.gguf").string();
  const RunResult run = run_task("circle-area.json", {"-m", model});
  EXPECT_TRUE(run.code == 0 || run.code == 1) << run.err;
  const RunResult missing = run_task("circle-area.json", {"-m", model + ".missing"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("agentrt-tiny.gguf.missing"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace agentrt::test
