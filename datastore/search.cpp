#include "datastore/search.h"

#include <sqlite3.h>

#include <set>

#include "core/error.h"
#include "core/utf8.h"
#include "datastore/workspace.h"

namespace tsumugi {

namespace {

using TokenCallback = int (*)(void*, int, const char*, int, int, int);

char32_t fold(char32_t cp) { return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp; }

int ngramCreate(void*, const char**, int nArg, Fts5Tokenizer** out)
{
    if (nArg != 0) return SQLITE_ERROR;
    static int instance;
    *out = reinterpret_cast<Fts5Tokenizer*>(&instance);
    return SQLITE_OK;
}

void ngramDelete(Fts5Tokenizer*) {}

int ngramTokenize(Fts5Tokenizer*, void* ctx, int flags, const char* text, int size, TokenCallback emit)
{
    const std::string_view view(text, static_cast<size_t>(size));
    // Decode once: code points (folded) with their byte offsets.
    std::vector<char32_t> cps;
    std::vector<int> offsets;
    cps.reserve(view.size());
    offsets.reserve(view.size() + 1);
    size_t pos = 0;
    while (pos < view.size()) {
        offsets.push_back(static_cast<int>(pos));
        const auto lead = static_cast<unsigned char>(view[pos]);
        const size_t len = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
        if (lead >= 0x80 && ((lead & 0xC0) == 0x80 || pos + len > view.size())) {
            cps.push_back(0xFFFD);  // never stored (writes validate UTF-8); kept harmless
            ++pos;
            continue;
        }
        cps.push_back(fold(utf8::next(view, pos)));
    }
    offsets.push_back(static_cast<int>(view.size()));

    std::string token;
    const size_t n = cps.size();
    const bool query = (flags & FTS5_TOKENIZE_QUERY) != 0;
    if (query && n >= 2) {
        for (size_t i = 0; i + 1 < n; ++i) {
            token.clear();
            utf8::append(token, cps[i]);
            utf8::append(token, cps[i + 1]);
            if (int rc = emit(ctx, 0, token.data(), static_cast<int>(token.size()), offsets[i], offsets[i + 2]))
                return rc;
        }
        return SQLITE_OK;
    }
    for (size_t i = 0; i < n; ++i) {
        token.clear();
        utf8::append(token, cps[i]);
        if (int rc = emit(ctx, 0, token.data(), static_cast<int>(token.size()), offsets[i], offsets[i + 1])) return rc;
        if (query || i + 1 == n) continue;
        utf8::append(token, cps[i + 1]);
        if (int rc = emit(ctx, FTS5_TOKEN_COLOCATED, token.data(), static_cast<int>(token.size()), offsets[i],
                          offsets[i + 2]))
            return rc;
    }
    return SQLITE_OK;
}

// An FTS5 expression that every message containing `text` satisfies.
std::string matchExpression(const std::string& text)
{
    std::vector<std::string> chars;
    size_t pos = 0;
    while (pos < text.size()) {
        std::string c;
        utf8::append(c, fold(utf8::next(text, pos)));
        chars.push_back(c);
    }
    auto quote = [](const std::string& term) {
        std::string out = "\"";
        for (char c : term) out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    };
    if (chars.size() == 1) return quote(chars[0]);
    std::set<std::string> seen;
    std::string expr;
    for (size_t i = 0; i + 1 < chars.size(); ++i) {
        const std::string pair = chars[i] + chars[i + 1];
        if (!seen.insert(pair).second) continue;
        if (!expr.empty()) expr += " AND ";
        expr += quote(pair);
    }
    return expr;
}

bool hasIndex(Workspace& ws)
{
    return ws.db().queryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'messages_fts'") > 0;
}

}  // namespace

void registerSearchTokenizer(db::Database& db)
{
    fts5_api* api = nullptr;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.handle(), "SELECT fts5(?1)", -1, &st, nullptr) != SQLITE_OK)
        throw Error("this SQLite has no FTS5; install Debian's libsqlite3-0 (3.40 or newer)");
    sqlite3_bind_pointer(st, 1, reinterpret_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api) throw Error("this SQLite has no FTS5; install Debian's libsqlite3-0 (3.40 or newer)");
    fts5_tokenizer tokenizer{ngramCreate, ngramDelete, ngramTokenize};
    if (api->xCreateTokenizer(api, "tsumugi_ngram", nullptr, &tokenizer, nullptr) != SQLITE_OK)
        throw Error("registering the search tokenizer failed");
}

void indexMessageText(Workspace& ws, int64_t id, const std::string& text)
{
    ws.db().prepare("INSERT INTO messages_fts(rowid, text) VALUES (?, ?)").bindAll(id, text).run();
}

void unindexMessageText(Workspace& ws, int64_t id, const std::string& text)
{
    ws.db()
        .prepare("INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', ?, ?)")
        .bindAll(id, text)
        .run();
}

void indexMessagesFrom(Workspace& ws, int64_t firstId)
{
    // A larger in-memory hash for the bulk build (fewer segment flushes and merges), then
    // back to FTS5's default for everyday single-message writes.
    ws.db().exec("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', 67108864)");
    ws.db().prepare("INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages WHERE id >= ?")
        .bind(1, firstId)
        .run();
    ws.db().exec("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', 1048576)");
}

SearchPage searchMessages(Workspace& ws, const SearchQuery& query)
{
    if (query.limit <= 0) throw Error("search limit must be positive");
    if (!query.text.empty()) validateText(query.text, "the search query");

    const bool useIndex = !query.text.empty() && hasIndex(ws);
    std::string sql = "SELECT m.id FROM ";
    sql += useIndex ? "messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH :match AND "
                    : "messages m WHERE ";
    std::string order = useIndex ? "messages_fts.rowid" : "m.id";
    sql += query.text.empty()  ? "1"
           : query.ignoreCase ? "instr(lower(m.text), lower(:text)) > 0"
                              : "instr(m.text, :text) > 0";
    if (query.statuses.empty()) {
        sql += " AND m.status <> 'deleted'";
    } else {
        sql += " AND m.status IN (";
        for (size_t i = 0; i < query.statuses.size(); ++i)
            sql += (i ? ", '" : "'") + std::string(statusName(query.statuses[i])) + "'";
        sql += ")";
    }
    if (query.role) sql += " AND m.role = :role";
    if (query.authorId) sql += " AND m.author_id = :author";
    if (query.createdFrom) sql += " AND m.created_at >= :from";
    if (query.createdTo) sql += " AND m.created_at < :to";
    if (query.tag)
        sql += " AND EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag_id "
               "WHERE mt.message_id = m.id AND t.name = :tag)";
    if (query.beforeId) sql += " AND " + order + " < :before";
    sql += " ORDER BY " + order + " DESC LIMIT :limit";

    auto st = ws.db().prepare(sql);
    auto bindNamed = [&](const char* name, auto value) {
        const int index = st.parameterIndex(name);
        if (index > 0) st.bind(index, value);
    };
    if (useIndex) bindNamed(":match", matchExpression(query.text));
    if (!query.text.empty()) bindNamed(":text", query.text);
    if (query.role) bindNamed(":role", std::string(messageRoleName(*query.role)));
    if (query.authorId) bindNamed(":author", *query.authorId);
    if (query.createdFrom) bindNamed(":from", *query.createdFrom);
    if (query.createdTo) bindNamed(":to", *query.createdTo);
    if (query.tag) bindNamed(":tag", *query.tag);
    if (query.beforeId) bindNamed(":before", *query.beforeId);
    bindNamed(":limit", static_cast<int64_t>(query.limit) + 1);

    SearchPage page;
    while (st.step()) page.ids.push_back(st.int64(0));
    if (page.ids.size() > static_cast<size_t>(query.limit)) {
        page.ids.resize(static_cast<size_t>(query.limit));
        page.nextBeforeId = page.ids.back();
    }
    return page;
}

}  // namespace tsumugi
