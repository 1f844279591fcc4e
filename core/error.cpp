#include "core/error.h"

namespace tsumugi {

namespace {
std::string locate(const std::string& file, int64_t line, int64_t column, const std::string& message)
{
    std::string where = file;
    if (line > 0) {
        where += ":" + std::to_string(line);
        if (column > 0) where += ":" + std::to_string(column);
    }
    return where.empty() ? message : where + ": " + message;
}
}  // namespace

void Error::rethrowWithContext(const std::string& context) const { throw Error(context + ": " + what()); }

ParseError::ParseError(std::string file, int64_t line, int64_t column, const std::string& message)
    : Error(locate(file, line, column, message)),
      m_file(std::move(file)),
      m_line(line),
      m_column(column),
      m_detail(message)
{
}

void ParseError::rethrowWithContext(const std::string& context) const
{
    throw ParseError(m_file, m_line, m_column, context + ": " + m_detail);
}

void ConflictError::rethrowWithContext(const std::string& context) const
{
    throw ConflictError(context + ": " + what());
}

void PermissionError::rethrowWithContext(const std::string& context) const
{
    throw PermissionError(context + ": " + what());
}

void SchemaError::rethrowWithContext(const std::string& context) const { throw SchemaError(context + ": " + what()); }

void NotFoundError::rethrowWithContext(const std::string& context) const
{
    throw NotFoundError(context + ": " + what());
}

}  // namespace tsumugi
