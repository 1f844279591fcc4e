// Errors thrown by every Tsumugi library. Each says what went wrong, where (file, line,
// tensor, row) and what to do; stages re-throw with their context added (withContext).
// Only the CLI's main and the annotator's top level catch them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace tsumugi {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    // "loading hparams: <message>" — the stage that caught the error prepends itself.
    [[noreturn]] virtual void rethrowWithContext(const std::string& context) const;
};

// Bad input in a file: names file:line:column and, when known, the field.
class ParseError : public Error {
public:
    ParseError(std::string file, int64_t line, int64_t column, const std::string& message);
    const std::string& file() const { return m_file; }
    int64_t line() const { return m_line; }
    int64_t column() const { return m_column; }
    const std::string& detail() const { return m_detail; }
    [[noreturn]] void rethrowWithContext(const std::string& context) const override;

private:
    std::string m_file;
    int64_t m_line;
    int64_t m_column;
    std::string m_detail;
};

// An edit based on a revision that someone else has already replaced.
class ConflictError : public Error {
public:
    using Error::Error;
    [[noreturn]] void rethrowWithContext(const std::string& context) const override;
};

// The acting account's role does not allow the action.
class PermissionError : public Error {
public:
    using Error::Error;
    [[noreturn]] void rethrowWithContext(const std::string& context) const override;
};

// The workspace file's schema is missing, damaged or newer than this program.
class SchemaError : public Error {
public:
    using Error::Error;
    [[noreturn]] void rethrowWithContext(const std::string& context) const override;
};

// Something asked for does not exist (an id, a snapshot name, an account).
class NotFoundError : public Error {
public:
    using Error::Error;
    [[noreturn]] void rethrowWithContext(const std::string& context) const override;
};

}  // namespace tsumugi
