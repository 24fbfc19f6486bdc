#include "fts_tokenizer.h"

#include <memory>
#include <new>
#include <string_view>
#include <vector>

#include "sqlite_util.h"
#include "text_units.h"

namespace agentrt::plugins::search {
namespace {

using TokenCallback = int (*)(void*, int, const char*, int, int, int);

struct CjkTokenizer {
  fts5_tokenizer parent{};  // unicode61's methods
  Fts5Tokenizer* parent_instance = nullptr;
};

fts5_api* fts5_api_of(sqlite3* db) {
  fts5_api* api = nullptr;
  auto stmt = sqlite::prepare(db, "SELECT fts5(?1)");
  sqlite3_bind_pointer(stmt.get(), 1, &api, "fts5_api_ptr", nullptr);
  sqlite3_step(stmt.get());
  if (!api) throw sqlite::SqliteError("this SQLite library has no FTS5", SQLITE_ERROR);
  return api;
}

int create(void* user, const char** argv, int argc, Fts5Tokenizer** out) {
  auto* api = static_cast<fts5_api*>(user);
  auto* tok = new (std::nothrow) CjkTokenizer;
  if (!tok) return SQLITE_NOMEM;
  void* parent_user = nullptr;
  int rc = api->xFindTokenizer(api, "unicode61", &parent_user, &tok->parent);
  if (rc == SQLITE_OK) {
    const char* defaults[] = {"remove_diacritics", "2"};
    rc = argc > 0 ? tok->parent.xCreate(parent_user, argv, argc, &tok->parent_instance)
                  : tok->parent.xCreate(parent_user, defaults, 2, &tok->parent_instance);
  }
  if (rc != SQLITE_OK) {
    delete tok;
    return rc;
  }
  *out = reinterpret_cast<Fts5Tokenizer*>(tok);
  return SQLITE_OK;
}

void destroy(Fts5Tokenizer* self) {
  auto* tok = reinterpret_cast<CjkTokenizer*>(self);
  if (tok->parent_instance) tok->parent.xDelete(tok->parent_instance);
  delete tok;
}

// unicode61 sees one non-CJK stretch at a time; its offsets are shifted back into the text.
struct Shifted {
  void* ctx;
  TokenCallback emit;
  int offset;
};

int emit_shifted(void* p, int tflags, const char* token, int n, int start, int end) {
  auto* s = static_cast<Shifted*>(p);
  return s->emit(s->ctx, tflags, token, n, start + s->offset, end + s->offset);
}

int tokenize(Fts5Tokenizer* self, void* ctx, int flags, const char* text, int n_text,
             TokenCallback emit) {
  auto* tok = reinterpret_cast<CjkTokenizer*>(self);
  const std::string_view s(text, static_cast<size_t>(n_text));
  const bool query = (flags & FTS5_TOKENIZE_QUERY) != 0;
  std::vector<int> bounds;  // byte offsets of the characters of one CJK run, plus its end
  size_t i = 0;
  while (i < s.size()) {
    size_t n = 0;
    char32_t c = decode_utf8(s, i, n);
    const size_t start = i;
    if (is_cjk(c)) {
      bounds.clear();
      while (i < s.size() && is_cjk(c)) {
        bounds.push_back(static_cast<int>(i));
        i += n;
        if (i < s.size()) c = decode_utf8(s, i, n);
      }
      bounds.push_back(static_cast<int>(i));
      const size_t chars = bounds.size() - 1;
      const auto piece = [&](size_t from, size_t to, int tflags) {
        return emit(ctx, tflags, text + bounds[from], bounds[to] - bounds[from], bounds[from],
                    bounds[to]);
      };
      if (chars == 1) {
        if (int rc = piece(0, 1, 0); rc != SQLITE_OK) return rc;
        continue;
      }
      for (size_t k = 0; k + 1 < chars; ++k) {
        if (int rc = piece(k, k + 2, 0); rc != SQLITE_OK) return rc;
        if (!query) {
          if (int rc = piece(k, k + 1, FTS5_TOKEN_COLOCATED); rc != SQLITE_OK) return rc;
        }
      }
      if (!query) {
        if (int rc = piece(chars - 1, chars, 0); rc != SQLITE_OK) return rc;
      }
    } else {
      while (i < s.size() && !is_cjk(c)) {
        i += n;
        if (i < s.size()) c = decode_utf8(s, i, n);
      }
      Shifted shifted{ctx, emit, static_cast<int>(start)};
      const int rc = tok->parent.xTokenize(tok->parent_instance, &shifted, flags, text + start,
                                           static_cast<int>(i - start), &emit_shifted);
      if (rc != SQLITE_OK) return rc;
    }
  }
  return SQLITE_OK;
}

}  // namespace

std::vector<std::string> index_tokens(sqlite3* db, std::string_view text) {
  fts5_api* api = fts5_api_of(db);
  void* user = nullptr;
  fts5_tokenizer porter{};
  if (api->xFindTokenizer(api, "porter", &user, &porter) != SQLITE_OK)
    throw sqlite::SqliteError("FTS5 has no porter tokenizer", SQLITE_ERROR);
  const char* args[] = {kTokenizerName};
  Fts5Tokenizer* instance = nullptr;
  if (const int rc = porter.xCreate(user, args, 1, &instance); rc != SQLITE_OK)
    throw sqlite::SqliteError("cannot create the query tokenizer", rc);
  std::vector<std::string> tokens;
  const int rc = porter.xTokenize(
      instance, &tokens, FTS5_TOKENIZE_QUERY, text.data(), static_cast<int>(text.size()),
      [](void* out, int, const char* token, int n, int, int) {
        try {
          static_cast<std::vector<std::string>*>(out)->emplace_back(token, static_cast<size_t>(n));
        } catch (...) {
          return SQLITE_NOMEM;
        }
        return SQLITE_OK;
      });
  porter.xDelete(instance);
  if (rc != SQLITE_OK) throw sqlite::SqliteError("cannot tokenize the query", rc);
  return tokens;
}

void register_tokenizer(sqlite3* db) {
  fts5_api* api = fts5_api_of(db);
  fts5_tokenizer methods{&create, &destroy, &tokenize};
  const int rc = api->xCreateTokenizer(api, kTokenizerName, api, &methods, nullptr);
  if (rc != SQLITE_OK) throw sqlite::SqliteError("cannot register the agentrt_cjk tokenizer", rc);
}

}  // namespace agentrt::plugins::search
