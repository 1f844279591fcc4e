// The one small database interface the datastore speaks: open, prepare, bind, step,
// transaction. Callers never touch sqlite3 directly, so a server backend can follow
// behind the same calls. Every statement is prepared and checked; a failure names the
// statement and what SQLite said.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace tsumugi::db {

class Database;

class Statement {
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& other) noexcept;

    // Parameters are 1-based, as in SQL text `?1`.
    Statement& bind(int index, int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, std::nullptr_t);
    // Binds without copying: the caller keeps `value` alive until the statement is reset.
    Statement& bindView(int index, std::string_view value);
    Statement& bind(int index, const std::optional<int64_t>& value);
    Statement& bind(int index, const std::optional<std::string>& value);
    template <typename... Args>
    Statement& bindAll(const Args&... args)
    {
        int i = 0;
        (bind(++i, args), ...);
        return *this;
    }

    // True while a row is available; false when done. Throws on error.
    bool step();
    // Runs to completion (for statements that return no rows).
    void run();
    void reset();

    bool isNull(int column) const;
    int64_t int64(int column) const;
    double real(int column) const;
    std::string text(int column) const;
    std::string_view textView(int column) const;
    std::optional<int64_t> optInt64(int column) const;
    std::optional<std::string> optText(int column) const;
    // Index of a named parameter (":name"), 0 when the statement has none of that name.
    int parameterIndex(const char* name) const;

private:
    Database* m_db;
    sqlite3_stmt* m_stmt = nullptr;
    std::string m_sql;
};

struct OpenOptions {
    bool readOnly = false;
    bool create = false;
    int busyTimeoutMs = 10000;
};

class Database {
public:
    Database(const std::string& path, const OpenOptions& options);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    Statement prepare(std::string_view sql) { return Statement(*this, sql); }
    // Runs one or more statements with no parameters (schema scripts, pragmas).
    void exec(std::string_view sql);
    // Shorthand for a query returning one integer (0 when no row).
    int64_t queryInt(std::string_view sql);

    int64_t lastInsertId() const;
    int64_t changes() const;
    const std::string& path() const { return m_path; }
    sqlite3* handle() const { return m_db; }
    bool inTransaction() const;

    // Throws tsumugi::Error naming the statement with SQLite's message.
    [[noreturn]] void fail(int code, std::string_view sql) const;

private:
    sqlite3* m_db = nullptr;
    std::string m_path;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed without commit(). Takes the write
// lock up front so two writers never deadlock upgrading from a read. Inside an open
// transaction it becomes a savepoint, so a write function can run within an import.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& m_db;
    bool m_nested;
    bool m_done = false;
};

}  // namespace tsumugi::db
