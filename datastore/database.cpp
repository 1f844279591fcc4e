#include "datastore/database.h"

#include <sqlite3.h>


#include "core/error.h"

namespace tsumugi::db {

namespace {
std::string shorten(std::string_view sql)
{
    std::string s(sql.substr(0, 120));
    for (char& c : s)
        if (c == '\n') c = ' ';
    return sql.size() > 120 ? s + " …" : s;
}
}  // namespace

Statement::Statement(Database& db, std::string_view sql) : m_db(&db), m_sql(sql)
{
    const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), 0, &m_stmt, nullptr);
    if (rc != SQLITE_OK) db.fail(rc, sql);
}

Statement::~Statement() { sqlite3_finalize(m_stmt); }

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_stmt(other.m_stmt), m_sql(std::move(other.m_sql))
{
    other.m_stmt = nullptr;
}

Statement& Statement::bind(int index, int64_t value)
{
    if (int rc = sqlite3_bind_int64(m_stmt, index, value); rc != SQLITE_OK) m_db->fail(rc, m_sql);
    return *this;
}

Statement& Statement::bind(int index, double value)
{
    if (int rc = sqlite3_bind_double(m_stmt, index, value); rc != SQLITE_OK) m_db->fail(rc, m_sql);
    return *this;
}

Statement& Statement::bind(int index, std::string_view value)
{
    // SQLITE_TRANSIENT: the caller's buffer may die before step().
    const int rc = sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) m_db->fail(rc, m_sql);
    return *this;
}

Statement& Statement::bindView(int index, std::string_view value)
{
    const int rc = sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) m_db->fail(rc, m_sql);
    return *this;
}

Statement& Statement::bind(int index, std::nullptr_t)
{
    if (int rc = sqlite3_bind_null(m_stmt, index); rc != SQLITE_OK) m_db->fail(rc, m_sql);
    return *this;
}

Statement& Statement::bind(int index, const std::optional<int64_t>& value)
{
    return value ? bind(index, *value) : bind(index, nullptr);
}

Statement& Statement::bind(int index, const std::optional<std::string>& value)
{
    return value ? bind(index, std::string_view(*value)) : bind(index, nullptr);
}

bool Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(m_stmt);
    m_db->fail(rc, m_sql);
}

void Statement::run()
{
    while (step()) {
    }
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

bool Statement::isNull(int column) const { return sqlite3_column_type(m_stmt, column) == SQLITE_NULL; }
int64_t Statement::int64(int column) const { return sqlite3_column_int64(m_stmt, column); }
double Statement::real(int column) const { return sqlite3_column_double(m_stmt, column); }

std::string_view Statement::textView(int column) const
{
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
    const int n = sqlite3_column_bytes(m_stmt, column);
    return p ? std::string_view(p, static_cast<size_t>(n)) : std::string_view();
}

std::string Statement::text(int column) const { return std::string(textView(column)); }

std::optional<int64_t> Statement::optInt64(int column) const
{
    if (isNull(column)) return std::nullopt;
    return int64(column);
}

int Statement::parameterIndex(const char* name) const { return sqlite3_bind_parameter_index(m_stmt, name); }

std::optional<std::string> Statement::optText(int column) const
{
    if (isNull(column)) return std::nullopt;
    return text(column);
}

Database::Database(const std::string& path, const OpenOptions& options) : m_path(path)
{
    int flags = options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (options.create && !options.readOnly) flags |= SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        sqlite3_close(m_db);
        m_db = nullptr;
        if (rc == SQLITE_CANTOPEN && !options.create)
            throw NotFoundError(path + ": cannot open workspace (" + message +
                                "); create one with `tsumugi init " + path + "`");
        throw Error(path + ": cannot open workspace: " + message);
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, options.busyTimeoutMs);
}

Database::~Database() { sqlite3_close_v2(m_db); }

void Database::exec(std::string_view sql)
{
    char* error = nullptr;
    const std::string owned(sql);
    const int rc = sqlite3_exec(m_db, owned.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        throw Error(m_path + ": " + message + " (in: " + shorten(sql) + ")");
    }
}

int64_t Database::queryInt(std::string_view sql)
{
    Statement st(*this, sql);
    return st.step() ? st.int64(0) : 0;
}

int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(m_db); }
int64_t Database::changes() const { return sqlite3_changes64(m_db); }
bool Database::inTransaction() const { return sqlite3_get_autocommit(m_db) == 0; }

void Database::fail(int code, std::string_view sql) const
{
    std::string message = sqlite3_errmsg(m_db);
    const int primary = code & 0xFF;
    if (primary == SQLITE_READONLY)
        message += "; the workspace is open read-only (a file without write permission, or a network "
                   "filesystem opened without --force)";
    else if (primary == SQLITE_BUSY)
        message += "; another process held the workspace for longer than the busy timeout, try again";
    else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        message += "; the file is damaged or not a Tsumugi workspace, restore it from a backup";
    else if (primary == SQLITE_FULL)
        message += "; the disk is full, free space and retry (nothing was written)";
    throw Error(m_path + ": " + message + " (in: " + shorten(sql) + ")");
}

Transaction::Transaction(Database& db) : m_db(db), m_nested(db.inTransaction())
{
    m_db.exec(m_nested ? "SAVEPOINT tsumugi_nested" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction()
{
    if (m_done) return;
    try {
        if (m_nested) m_db.exec("ROLLBACK TO tsumugi_nested; RELEASE tsumugi_nested");
        else m_db.exec("ROLLBACK");
    } catch (...) {
        // The connection already rolled back (SQLite does after some errors).
    }
}

void Transaction::commit()
{
    m_db.exec(m_nested ? "RELEASE tsumugi_nested" : "COMMIT");
    m_done = true;
}

}  // namespace tsumugi::db
