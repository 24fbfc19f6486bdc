// The search tool: results, ranking, CJK, hostile query text, configuration.
#include <agentrt/plugins/search.h>

#include <regex>

#include <agentrt/tools/config.h>
#include <agentrt/tools/registry.h>

#include "search_fixture.h"
#include "test_support.h"

namespace agentrt::test {
namespace {

using json = nlohmann::json;
namespace search = plugins::search;

class SearchTool : public SearchFixture {
 protected:
  tools::ToolResult run(const json& args, const tools::Config& config) {
    tools::Registry registry;
    plugins::register_search(registry, config);
    const tools::Tool* tool = registry.find("search");
    if (!tool) throw std::runtime_error("search not registered");
    tools::ToolContext ctx(std::chrono::steady_clock::now() + std::chrono::seconds(20), nullptr);
    return tool->invoke(args, ctx);
  }
  tools::Config config_for(const std::filesystem::path& index) {
    tools::Config config;
    config.set("search.index", index.string());
    return config;
  }
  // A small mixed English / Chinese collection.
  std::filesystem::path mixed_index() {
    write(
        "mixed.jsonl",
        R"({"id": "beijing", "title": "北京市", "text": "北京市是中华人民共和国的首都。2018年北京市GDP增速达6.6%，生产总值突破3万亿元。"}
{"id": "shanghai", "title": "上海", "text": "上海是中国的经济中心城市，人口约2487万。"}
{"id": "ai-retail", "title": "人工智能与零售", "text": "人工智能如何改变顾客的消费体验：个性化推荐和聊天机器人。"}
{"id": "amsel", "title": "Amsel", "text": "A glacial lake in the north with deep water."}
{"id": "lakes", "title": "Northern lakes", "text": "Amsel is a glacial lake in the north with deep water."}
{"id": "zurich", "title": "Zürich", "text": "Zürich is a city on Lake Zurich; its café culture is famous."}
)");
    search::build_index({dir_ / "mixed.jsonl"}, dir_ / "mixed.idx");
    return dir_ / "mixed.idx";
  }
};

TEST_F(SearchTool, DefaultIndexIsTheShippedExample) {
  const auto r = run({{"query", "Who designed the Ferren Bridge?"}}, tools::Config{});
  ASSERT_TRUE(r.ok) << r.text;
  const auto& results = r.data.at("results");
  ASSERT_EQ(results.size(), 3u);  // default k
  EXPECT_EQ(results[0].at("title"), "Ferren Bridge");
  EXPECT_EQ(results[0].at("source"), "docs.jsonl#ferren-bridge");
  EXPECT_NE(results[0].at("snippet").get<std::string>().find("**Ferren** **Bridge**"),
            std::string::npos);
  EXPECT_TRUE(r.text.starts_with("1. Ferren Bridge (docs.jsonl#ferren-bridge)\n   ")) << r.text;
}

TEST_F(SearchTool, KLimitsTheResults) {
  const auto config = config_for(mixed_index());
  auto r = run({{"query", "lake"}, {"k", 1}}, config);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.data["results"].size(), 1u);
  r = run({{"query", "glacial"}, {"k", 10}}, config);
  EXPECT_EQ(r.data["results"].size(), 2u);
}

TEST_F(SearchTool, TitleMatchesWeighMore) {
  // Both documents say "Amsel" once; one says it in the title.
  const auto r = run({{"query", "amsel"}}, config_for(mixed_index()));
  ASSERT_TRUE(r.ok) << r.text;
  ASSERT_EQ(r.data["results"].size(), 2u);
  EXPECT_EQ(r.data["results"][0]["id"], "amsel");
  EXPECT_GT(r.data["results"][0]["score"].get<double>(),
            r.data["results"][1]["score"].get<double>());
}

TEST_F(SearchTool, ChineseQueriesFindChineseDocuments) {
  const auto config = config_for(mixed_index());
  for (const auto& [query, id] : std::vector<std::pair<std::string, std::string>>{
           {"北京市2018年GDP增速", "beijing"},
           {"首都", "beijing"},
           {"人工智能 改善 消费者体验", "ai-retail"},
           {"上海人口", "shanghai"},
           {"沪", ""},  // no document has it
       }) {
    SCOPED_TRACE(query);
    const auto r = run({{"query", query}}, config);
    ASSERT_TRUE(r.ok) << r.text;
    if (id.empty()) {
      EXPECT_TRUE(r.data["results"].empty());
      EXPECT_EQ(r.text, "No results.");
      continue;
    }
    ASSERT_FALSE(r.data["results"].empty());
    EXPECT_EQ(r.data["results"][0]["id"], id);
  }
  // A single character matches inside longer words, and matches are highlighted whole.
  auto r = run({{"query", "京"}}, config);
  ASSERT_FALSE(r.data["results"].empty());
  EXPECT_EQ(r.data["results"][0]["id"], "beijing");
  r = run({{"query", "人工智能"}}, config);
  EXPECT_NE(r.data["results"][0]["snippet"].get<std::string>().find("**人工智能**"),
            std::string::npos)
      << r.text;
}

TEST_F(SearchTool, CaseAccentsAndStemsFold) {
  const auto config = config_for(mixed_index());
  for (const char* query : {"ZURICH", "zürich", "cafe", "lakes"}) {
    const auto r = run({{"query", query}}, config);
    ASSERT_FALSE(r.data["results"].empty()) << query;
  }
}

TEST_F(SearchTool, HostileQueryTextNeverErrors) {
  const auto config = config_for(mixed_index());
  const std::string long_query(20000, 'a');
  std::string many_words;
  for (int i = 0; i < 2000; ++i) many_words += "word" + std::to_string(i) + " ";
  const std::vector<std::string> hostile = {"\"",
                                            "\"\"",
                                            "\"unterminated",
                                            "a\" OR \"b",
                                            "AND",
                                            "OR",
                                            "NOT",
                                            "lake NOT deep",
                                            "lake AND",
                                            "AND lake",
                                            "*",
                                            "lake*",
                                            "^lake",
                                            "(",
                                            ")",
                                            "(lake OR",
                                            "title:lake",
                                            "body:*",
                                            "NEAR(lake water)",
                                            "NEAR(lake, 2)",
                                            "{title body}: lake",
                                            "-lake",
                                            "+lake",
                                            ":",
                                            "::",
                                            "\\",
                                            "'; DROP TABLE docs; --",
                                            "docs_fts",
                                            "rank",
                                            "bm25(docs_fts)",
                                            std::string("lake\0water", 11),
                                            "\xff\xfe\xfd",
                                            "\xe4\xb8",
                                            "🙂🙂",
                                            "。，、",
                                            "“”‘’",
                                            "١٢٣",
                                            " ",
                                            "\t\n",
                                            long_query,
                                            many_words,
                                            "%_%",
                                            "$1",
                                            "@x",
                                            "#tag",
                                            "a:b:c",
                                            "\"lake\" \"deep\"",
                                            "l\"a\"k\"e",
                                            "lake\"*",
                                            "{",
                                            "}",
                                            "[",
                                            "]",
                                            "OR OR OR",
                                            "NEAR",
                                            "NEAR(",
                                            "^",
                                            "0x00",
                                            "NULL",
                                            "'",
                                            "''",
                                            "`",
                                            "~",
                                            "|",
                                            "&&",
                                            "||",
                                            "!=",
                                            "北京\"市",
                                            "北京*",
                                            "北京 OR",
                                            "（北京）",
                                            "北京：首都"};
  const std::regex safe(R"(^("[^"]*"( OR "[^"]*")*)?$)");
  for (const std::string& q : hostile) {
    SCOPED_TRACE(q.substr(0, 60));
    const auto r = run({{"query", q}}, config);
    EXPECT_TRUE(r.ok) << r.text;
    EXPECT_NO_THROW((void)r.data.dump());
    EXPECT_TRUE(std::regex_match(search::match_expression(q), safe)) << search::match_expression(q);
  }
  EXPECT_EQ(search::match_expression("lake AND (deep*) title:x"),
            R"("lake" OR "AND" OR "deep" OR "title" OR "x")");
  EXPECT_EQ(search::match_expression("北京市2018年"), R"("北京" OR "京市" OR "2018" OR "年")");
  EXPECT_EQ(search::match_expression("*** ()"), "");
}

TEST_F(SearchTool, VeryCommonTermsAreLeftOutWhenRarerOnesExist) {
  // 6000 documents say "common"; 10 also say "rare". Leaving "common" out of "common rare" keeps
  // the query from scoring the whole collection and changes no ranking among the rare ones.
  std::string lines;
  for (int i = 0; i < 6000; ++i) {
    lines += R"({"id": ")" + std::to_string(i) + R"(", "text": "common filler)" +
             std::to_string(i) + (i % 600 == 0 ? " rare" : "") + "\"}\n";
  }
  write("many.jsonl", lines);
  search::build_index({dir_ / "many.jsonl"}, dir_ / "many.idx");
  search::SearchIndex index(dir_ / "many.idx");
  auto hits = index.search("common rare", 10);
  ASSERT_EQ(hits.size(), 10u);
  for (const auto& h : hits) {
    EXPECT_EQ(std::stoi(h.id) % 600, 0) << h.id;
    EXPECT_NE(h.snippet.find("**rare**"), std::string::npos);
    EXPECT_EQ(h.snippet.find("**common**"), std::string::npos);  // not a match any more
  }
  hits = index.search("common", 3);  // nothing rarer to keep: the common term is used
  EXPECT_EQ(hits.size(), 3u);
  hits = index.search("common filler17", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "17");
}

TEST_F(SearchTool, MissingIndexIsAConfigurationError) {
  EXPECT_THROW(run({{"query", "x"}}, config_for(dir_ / "absent.idx")), tools::ConfigError);
  tools::Config bad;
  bad.set("search.max_k", 0);
  EXPECT_THROW(run({{"query", "x"}}, bad), tools::ConfigError);
}

TEST_F(SearchTool, AnIndexRemovedAfterStartUpIsAToolError) {
  const auto index = mixed_index();
  const auto config = config_for(index);
  tools::Registry registry;
  plugins::register_search(registry, config);
  std::filesystem::remove(index);
  tools::ToolContext ctx(std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr);
  const auto r = registry.find("search")->invoke({{"query", "lake"}}, ctx);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("no search index"), std::string::npos) << r.text;
}

TEST_F(SearchTool, CancelledCallStops) {
  // A collection big enough that a query runs more than a few thousand SQLite instructions.
  std::string lines;
  for (int i = 0; i < 3000; ++i)
    lines += R"({"id": ")" + std::to_string(i) + R"(", "text": "common words everywhere number )" +
             std::to_string(i) + "\"}\n";
  write("many.jsonl", lines);
  search::build_index({dir_ / "many.jsonl"}, dir_ / "many.idx");
  tools::Registry registry;
  plugins::register_search(registry, config_for(dir_ / "many.idx"));
  std::atomic<bool> cancel{true};
  tools::ToolContext ctx(std::chrono::steady_clock::now() + std::chrono::seconds(5), &cancel);
  const auto r = registry.find("search")->invoke({{"query", "common words"}}, ctx);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("stopped"), std::string::npos) << r.text;
}

}  // namespace
}  // namespace agentrt::test
