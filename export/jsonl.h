// JSON Lines files, plain or compressed by extension (.jsonl.gz, .jsonl.zst), read and
// written in constant memory. The reader numbers lines and bounds their length; the writer
// writes to a temporary file and renames it into place on commit(), so a crash never
// leaves a half-written export behind.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace tsumugi {

class JsonlReader {
public:
    JsonlReader(const std::string& path, size_t maxLineBytes);
    ~JsonlReader();
    JsonlReader(const JsonlReader&) = delete;
    JsonlReader& operator=(const JsonlReader&) = delete;

    struct Line {
        int64_t number = 0;
        std::string text;      // without the line break; empty for an over-long line
        size_t bytes = 0;      // the line's full length
        bool tooLong = false;  // longer than maxLineBytes; text is dropped
    };
    // False at the end of the file. A UTF-8 byte order mark before the first line is dropped.
    bool next(Line& line);
    // Bytes consumed from the (decompressed) stream so far.
    uint64_t position() const { return m_consumed; }
    const std::string& path() const { return m_path; }

private:
    size_t fill();
    bool nextLine(Line& line);

    struct Source;
    std::unique_ptr<Source> m_source;
    std::string m_path;
    size_t m_maxLineBytes;
    std::string m_buffer;
    size_t m_start = 0;
    bool m_eof = false;
    int64_t m_lineNumber = 0;
    uint64_t m_consumed = 0;
};

class JsonlWriter {
public:
    explicit JsonlWriter(const std::string& path);
    ~JsonlWriter();  // discards the temporary file unless committed
    JsonlWriter(const JsonlWriter&) = delete;
    JsonlWriter& operator=(const JsonlWriter&) = delete;

    void writeLine(std::string_view json);
    void commit();
    int64_t lines() const { return m_lines; }

private:
    void writeRaw(const char* data, size_t size);
    void flushCompressed(bool end);

    struct Sink;
    std::unique_ptr<Sink> m_sink;
    std::string m_path;
    std::string m_tempPath;
    std::string m_pending;
    int64_t m_lines = 0;
    bool m_committed = false;
};

}  // namespace tsumugi
