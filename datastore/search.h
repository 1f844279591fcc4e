// Substring search over message text, correct for Japanese queries of any length.
//
// SQLite's trigram tokenizer finds nothing for queries under three characters (「京都」「猫」),
// so the index uses Tsumugi's own FTS5 tokenizer, `tsumugi_ngram`: every character and every
// pair of adjacent characters, ASCII letters folded to lower case. A query of one character
// looks up that character; a longer one looks up all its character pairs (AND), and every
// candidate is confirmed with instr(), so the results equal a brute-force scan. Matching is
// case-sensitive like instr() unless ignoreCase (ASCII only, like SQLite's lower()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datastore/messages.h"

namespace tsumugi {

namespace db {
class Database;
}

struct SearchQuery {
    std::string text;  // empty: filters only
    bool ignoreCase = false;
    std::vector<Status> statuses;  // empty: every status but deleted
    std::optional<MessageRole> role;
    std::optional<std::string> tag;
    std::optional<int64_t> authorId;
    std::optional<std::string> createdFrom;  // ISO-8601, inclusive
    std::optional<std::string> createdTo;    // ISO-8601, exclusive
    std::optional<int64_t> beforeId;         // paging: ids below this one
    int limit = 50;
};

struct SearchPage {
    std::vector<int64_t> ids;  // newest first
    std::optional<int64_t> nextBeforeId;  // set when more results may follow
};

SearchPage searchMessages(Workspace& ws, const SearchQuery& query);

// Registers `tsumugi_ngram` on a connection; every connection that writes messages needs it.
void registerSearchTokenizer(db::Database& db);

// Index maintenance, called by the message write functions inside their transactions.
void indexMessageText(Workspace& ws, int64_t id, const std::string& text);
void unindexMessageText(Workspace& ws, int64_t id, const std::string& text);
void indexMessagesFrom(Workspace& ws, int64_t firstId);  // every message with id >= firstId

}  // namespace tsumugi
