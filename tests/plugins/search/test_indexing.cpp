// agentrt index build: file formats, incremental re-indexing, and errors.
#include <agentrt/plugins/search.h>

#include <map>
#include <set>

#include <sqlite3.h>

#include "search_fixture.h"

namespace agentrt::test {
namespace {

namespace search = plugins::search;
using search::IndexError;

class Indexing : public SearchFixture {
 protected:
  std::vector<search::SearchHit> find(const std::string& query, int k = 5) {
    return search::SearchIndex(dir_ / "test.idx").search(query, k);
  }
  search::IndexStats build(const std::vector<std::filesystem::path>& sources) {
    return search::build_index(sources, dir_ / "test.idx");
  }
};

TEST_F(Indexing, TextFileTitleIsTheFirstLine) {
  write("notes/harbour.txt", "Osaka harbour crane\n\nThe crane lifted 150 tonnes in 1929.\n");
  write("notes/one-liner.txt", "Only one line about tonnes here.");
  const auto stats = build({dir_ / "notes"});
  EXPECT_EQ(stats.added, 2);
  EXPECT_EQ(stats.documents, 2);
  const auto hits = find("tonnes");
  ASSERT_EQ(hits.size(), 2u);
  std::set<std::string> titles{hits[0].title, hits[1].title};
  EXPECT_TRUE(titles.count("Osaka harbour crane"));
  EXPECT_TRUE(titles.count("one-liner"));
  for (const auto& h : hits) {
    if (h.title == "Osaka harbour crane") {
      EXPECT_EQ(h.source, "notes/harbour.txt");
      EXPECT_EQ(h.snippet, "The crane lifted 150 **tonnes** in 1929.");
    }
  }
}

TEST_F(Indexing, MarkdownBecomesOneDocumentPerSection) {
  write("guide.md",
        "# Ferren Bridge\n\nA bridge in Porto.\n\n## History\n\nOpened in 1934.\n\n"
        "```\n## not a heading inside code\n```\n\n## Design ##\n\nDesigned by Tomas Quell.\n");
  const auto stats = build({dir_ / "guide.md"});
  EXPECT_EQ(stats.documents, 3);
  auto hits = find("Quell");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].title, "Ferren Bridge — Design");
  EXPECT_EQ(hits[0].source, "guide.md#design");
  EXPECT_EQ(hits[0].id, "design");
  hits = find("heading inside code");
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].title, "Ferren Bridge — History");
  hits = find("Porto");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].title, "Ferren Bridge");
  EXPECT_EQ(hits[0].source, "guide.md");
}

TEST_F(Indexing, JsonlFieldsAndDefaults) {
  write("docs.jsonl",
        "{\"id\": \"a\", \"title\": \"Alpha\", \"text\": \"zebra crossing\"}\n"
        "\n"
        "{\"id\": 7, \"text\": \"zebra stripes\", \"url\": \"https://example.org/z\"}\n"
        "{\"text\": \"zebra herd\", \"source\": \"field notes\"}\n");
  EXPECT_EQ(build({dir_ / "docs.jsonl"}).documents, 3);
  const auto hits = find("zebra");
  ASSERT_EQ(hits.size(), 3u);
  std::map<std::string, search::SearchHit> by_id;
  for (const auto& h : hits) by_id[h.id] = h;
  EXPECT_EQ(by_id.at("a").source, "docs.jsonl#a");
  EXPECT_EQ(by_id.at("a").title, "Alpha");
  EXPECT_EQ(by_id.at("7").source, "https://example.org/z");
  EXPECT_EQ(by_id.at("7").title, "7");
  EXPECT_EQ(by_id.at("4").source, "field notes");  // no id: the line number
}

TEST_F(Indexing, BadJsonlLineNamesFileAndLineAndChangesNothing) {
  write("good.jsonl", "{\"id\": \"g\", \"title\": \"Good\", \"text\": \"walrus\"}\n");
  build({dir_ / "good.jsonl"});
  write("bad.jsonl", "{\"id\": \"x\", \"text\": \"fine\"}\n{\"id\": \"y\", \"text\": 5}\n");
  try {
    build({dir_ / "good.jsonl", dir_ / "bad.jsonl"});
    FAIL() << "expected IndexError";
  } catch (const IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2: \"text\" must be a string"),
              std::string::npos)
        << e.what();
  }
  write("bad.jsonl", "{not json\n");
  EXPECT_THROW(build({dir_ / "bad.jsonl"}), IndexError);
  // The failed runs rolled back: still exactly the one good document.
  EXPECT_EQ(search::SearchIndex(dir_ / "test.idx").size(), 1);
  EXPECT_EQ(find("walrus").size(), 1u);
}

TEST_F(Indexing, IncrementalReindex) {
  write("src/a.txt", "Alpha\nthe aardvark sleeps\n");
  write("src/b.md", "# Beta\nthe badger digs\n");
  write("src/c.jsonl", "{\"id\": \"c\", \"title\": \"Gamma\", \"text\": \"the cat naps\"}\n");
  write("src/ignored.png", "not text");
  auto stats = build({dir_ / "src"});
  EXPECT_EQ(stats.added, 3);
  EXPECT_EQ(stats.documents, 3);

  stats = build({dir_ / "src"});
  EXPECT_EQ(stats.added + stats.updated + stats.removed, 0);
  EXPECT_EQ(stats.unchanged, 3);

  // New content (and a new mtime): updated; the old words are gone, the new ones found.
  const auto b = write("src/b.md", "# Beta\nthe beaver builds\n");
  std::filesystem::last_write_time(b,
                                   std::filesystem::last_write_time(b) + std::chrono::seconds(5));
  // Same content, new mtime: unchanged.
  const auto a = dir_ / "src/a.txt";
  std::filesystem::last_write_time(a,
                                   std::filesystem::last_write_time(a) + std::chrono::seconds(5));
  stats = build({dir_ / "src"});
  EXPECT_EQ(stats.updated, 1);
  EXPECT_EQ(stats.unchanged, 2);
  EXPECT_TRUE(find("badger").empty());
  EXPECT_EQ(find("beaver").size(), 1u);
  EXPECT_EQ(build({dir_ / "src"}).unchanged, 3);  // the touched file is recorded now

  std::filesystem::remove(dir_ / "src/c.jsonl");
  stats = build({dir_ / "src"});
  EXPECT_EQ(stats.removed, 1);
  EXPECT_EQ(stats.documents, 2);
  EXPECT_TRUE(find("cat").empty());

  // Listing fewer sources removes the others.
  stats = build({dir_ / "src/a.txt"});
  EXPECT_EQ(stats.removed, 1);
  EXPECT_EQ(stats.unchanged, 1);
  EXPECT_EQ(stats.documents, 1);
}

TEST_F(Indexing, Errors) {
  EXPECT_THROW(build({dir_ / "missing.txt"}), IndexError);
  write("image.png", "x");
  EXPECT_THROW(build({dir_ / "image.png"}), IndexError);
  // An SQLite file that is not an index is refused, not modified.
  write("a.txt", "A\nant\n");
  const auto shop = dir_ / "shop.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(shop.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  const auto before = std::filesystem::file_size(shop);
  EXPECT_THROW(search::build_index({dir_ / "a.txt"}, shop), IndexError);
  EXPECT_EQ(std::filesystem::file_size(shop), before);
  EXPECT_THROW(search::SearchIndex{shop}, IndexError);
  EXPECT_THROW(search::SearchIndex(dir_ / "nothing.idx"), IndexError);
  const auto not_index = write("plain.db", "");
  EXPECT_NO_THROW(search::build_index({dir_ / "a.txt"}, not_index));  // empty file: new index
  write("junk.idx", std::string(4096, 'j'));
  EXPECT_THROW(search::build_index({dir_ / "a.txt"}, dir_ / "junk.idx"), IndexError);
  EXPECT_THROW(search::SearchIndex(dir_ / "junk.idx"), IndexError);
}

TEST_F(Indexing, InvalidUtf8IsRepaired) {
  write("bytes.txt", "Broken\nvalid words and \xff\xfe bytes\n");
  build({dir_ / "bytes.txt"});
  const auto hits = find("bytes");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].snippet.find("\xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::test
