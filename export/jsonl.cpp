#include "export/jsonl.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tsumugi {

namespace {
enum class Codec { Plain, Gzip, Zstd };

Codec codecFor(const std::string& path)
{
    auto ends = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends(".gz")) return Codec::Gzip;
    if (ends(".zst")) return Codec::Zstd;
    return Codec::Plain;
}

constexpr size_t kChunk = 1 << 20;
}  // namespace

struct JsonlReader::Source {
    Codec codec = Codec::Plain;
    FILE* file = nullptr;
    gzFile gz = nullptr;
    ZSTD_DCtx* zstd = nullptr;
    std::string compressed;
    ZSTD_inBuffer in{nullptr, 0, 0};
    bool fileDone = false;

    ~Source()
    {
        if (file) std::fclose(file);
        if (gz) gzclose(gz);
        if (zstd) ZSTD_freeDCtx(zstd);
    }

    // Reads up to size decompressed bytes; 0 at the end.
    size_t read(char* out, size_t size, const std::string& path)
    {
        switch (codec) {
        case Codec::Plain: {
            const size_t n = std::fread(out, 1, size, file);
            if (n == 0 && std::ferror(file)) throw Error(path + ": read error: " + std::strerror(errno));
            return n;
        }
        case Codec::Gzip: {
            const int n = gzread(gz, out, static_cast<unsigned>(size));
            if (n < 0) {
                int code = 0;
                throw Error(path + ": damaged gzip data (" + gzerror(gz, &code) + ")");
            }
            return static_cast<size_t>(n);
        }
        case Codec::Zstd: {
            ZSTD_outBuffer output{out, size, 0};
            while (output.pos == 0) {
                if (in.pos == in.size) {
                    if (fileDone) return 0;
                    compressed.resize(ZSTD_DStreamInSize());
                    const size_t n = std::fread(compressed.data(), 1, compressed.size(), file);
                    if (n == 0) {
                        fileDone = true;
                        return 0;
                    }
                    in = {compressed.data(), n, 0};
                }
                const size_t rc = ZSTD_decompressStream(zstd, &output, &in);
                if (ZSTD_isError(rc))
                    throw Error(path + ": damaged zstd data (" + ZSTD_getErrorName(rc) + ")");
            }
            return output.pos;
        }
        }
        return 0;
    }
};

JsonlReader::JsonlReader(const std::string& path, size_t maxLineBytes)
    : m_source(std::make_unique<Source>()), m_path(path), m_maxLineBytes(maxLineBytes)
{
    if (std::filesystem::is_directory(path)) throw Error(path + ": is a directory; give a .jsonl file");
    m_source->codec = codecFor(path);
    if (m_source->codec == Codec::Gzip) {
        m_source->gz = gzopen(path.c_str(), "rb");
        if (!m_source->gz) throw Error(path + ": cannot open: " + std::strerror(errno));
        gzbuffer(m_source->gz, 1 << 18);
    } else {
        m_source->file = std::fopen(path.c_str(), "rb");
        if (!m_source->file) throw Error(path + ": cannot open: " + std::strerror(errno));
        if (m_source->codec == Codec::Zstd) m_source->zstd = ZSTD_createDCtx();
    }
}

JsonlReader::~JsonlReader() = default;

size_t JsonlReader::fill()
{
    if (m_start > 0) {
        m_buffer.erase(0, m_start);
        m_start = 0;
    }
    const size_t old = m_buffer.size();
    m_buffer.resize(old + kChunk);
    const size_t n = m_source->read(m_buffer.data() + old, kChunk, m_path);
    m_buffer.resize(old + n);
    if (n == 0) m_eof = true;
    return n;
}

bool JsonlReader::next(Line& line)
{
    const bool first = m_lineNumber == 0;
    const bool more = nextLine(line);
    // A UTF-8 byte order mark at the start of the file (Windows editors write one) is not data.
    if (more && first && !line.tooLong && line.text.compare(0, 3, "\xEF\xBB\xBF") == 0) line.text.erase(0, 3);
    return more;
}

bool JsonlReader::nextLine(Line& line)
{
    line.text.clear();
    line.tooLong = false;
    line.bytes = 0;
    size_t searchFrom = m_start;
    while (true) {
        const size_t nl = m_buffer.find('\n', searchFrom);
        if (nl != std::string::npos) {
            const size_t length = nl - m_start;
            line.number = ++m_lineNumber;
            line.bytes += length;
            if (line.bytes > m_maxLineBytes) line.tooLong = true;
            if (!line.tooLong) line.text.assign(m_buffer, m_start, length);
            m_consumed += length + 1;
            m_start = nl + 1;
            if (!line.tooLong && !line.text.empty() && line.text.back() == '\r') line.text.pop_back();
            return true;
        }
        if (m_eof) {
            if (m_start >= m_buffer.size() && line.bytes == 0) return false;
            const size_t length = m_buffer.size() - m_start;
            line.number = ++m_lineNumber;
            line.bytes += length;
            if (line.bytes > m_maxLineBytes) line.tooLong = true;
            if (!line.tooLong) line.text.assign(m_buffer, m_start, length);
            m_consumed += length;
            m_start = m_buffer.size();
            if (!line.tooLong && !line.text.empty() && line.text.back() == '\r') line.text.pop_back();
            return true;
        }
        // An over-long line is skipped through without keeping it in memory.
        if (m_buffer.size() - m_start > m_maxLineBytes) {
            line.bytes += m_buffer.size() - m_start;
            line.tooLong = true;
            m_consumed += m_buffer.size() - m_start;
            m_start = m_buffer.size();
        }
        searchFrom = m_buffer.size() - m_start;
        fill();
        searchFrom = m_start + searchFrom;
        if (searchFrom > m_buffer.size()) searchFrom = m_start;
    }
}

struct JsonlWriter::Sink {
    Codec codec = Codec::Plain;
    FILE* file = nullptr;
    gzFile gz = nullptr;
    ZSTD_CCtx* zstd = nullptr;
    std::string out;

    ~Sink()
    {
        if (file) std::fclose(file);
        if (gz) gzclose(gz);
        if (zstd) ZSTD_freeCCtx(zstd);
    }
};

JsonlWriter::JsonlWriter(const std::string& path) : m_sink(std::make_unique<Sink>()), m_path(path)
{
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
        throw Error(path + ": the folder " + dir.string() + " does not exist");
    m_tempPath = path + ".tmp-" + std::to_string(::getpid());
    m_sink->codec = codecFor(path);
    if (m_sink->codec == Codec::Gzip) {
        m_sink->gz = gzopen(m_tempPath.c_str(), "wb6");
        if (!m_sink->gz) throw Error(m_tempPath + ": cannot create: " + std::strerror(errno));
    } else {
        m_sink->file = std::fopen(m_tempPath.c_str(), "wb");
        if (!m_sink->file) throw Error(m_tempPath + ": cannot create: " + std::strerror(errno));
        if (m_sink->codec == Codec::Zstd) {
            m_sink->zstd = ZSTD_createCCtx();
            ZSTD_CCtx_setParameter(m_sink->zstd, ZSTD_c_compressionLevel, 3);
        }
    }
}

JsonlWriter::~JsonlWriter()
{
    if (!m_committed) {
        m_sink.reset();
        std::error_code ignored;
        std::filesystem::remove(m_tempPath, ignored);
    }
}

void JsonlWriter::writeRaw(const char* data, size_t size)
{
    if (m_sink->codec == Codec::Gzip) {
        if (size && gzwrite(m_sink->gz, data, static_cast<unsigned>(size)) == 0)
            throw Error(m_tempPath + ": write failed (disk full?)");
    } else if (size && std::fwrite(data, 1, size, m_sink->file) != size) {
        throw Error(m_tempPath + ": write failed: " + std::strerror(errno));
    }
}

void JsonlWriter::flushCompressed(bool end)
{
    if (m_sink->codec != Codec::Zstd) {
        writeRaw(m_pending.data(), m_pending.size());
        m_pending.clear();
        return;
    }
    ZSTD_inBuffer in{m_pending.data(), m_pending.size(), 0};
    std::string& out = m_sink->out;
    out.resize(ZSTD_CStreamOutSize());
    while (true) {
        ZSTD_outBuffer output{out.data(), out.size(), 0};
        const size_t rc = ZSTD_compressStream2(m_sink->zstd, &output, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rc)) throw Error(m_tempPath + ": zstd: " + ZSTD_getErrorName(rc));
        writeRaw(out.data(), output.pos);
        if (end ? rc == 0 : in.pos == in.size) break;
    }
    m_pending.clear();
}

void JsonlWriter::writeLine(std::string_view json)
{
    m_pending.append(json);
    m_pending.push_back('\n');
    ++m_lines;
    if (m_pending.size() >= kChunk) flushCompressed(false);
}

void JsonlWriter::commit()
{
    flushCompressed(true);
    if (m_sink->file) {
        if (std::fflush(m_sink->file) != 0 || ::fsync(::fileno(m_sink->file)) != 0)
            throw Error(m_tempPath + ": write failed: " + std::strerror(errno));
    }
    m_sink.reset();  // closes (gzip writes its trailer here)
    std::filesystem::rename(m_tempPath, m_path);
    m_committed = true;
}

}  // namespace tsumugi
