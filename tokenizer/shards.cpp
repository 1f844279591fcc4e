#include "tokenizer/shards.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tsumugi::tok {

namespace {
constexpr size_t kHeaderBytes = 64;

template <typename T>
void put(uint8_t* at, T value)
{
    std::memcpy(at, &value, sizeof value);
}

template <typename T>
T get(const uint8_t* at)
{
    T value;
    std::memcpy(&value, at, sizeof value);
    return value;
}
}  // namespace

ShardWriter::ShardWriter(std::string path, int32_t vocabSize)
    : m_path(std::move(path)), m_tempPath(m_path + ".tmp"), m_vocabSize(vocabSize)
{
    if (vocabSize <= 0) throw Error(m_path + ": vocabulary size must be positive");
    m_bytesPerToken = vocabSize <= 65536 ? 2 : 4;
    m_file = std::fopen(m_tempPath.c_str(), "wb");
    if (!m_file) throw Error(m_tempPath + ": cannot create: " + std::strerror(errno));
    const uint8_t header[kHeaderBytes] = {};
    if (std::fwrite(header, 1, kHeaderBytes, m_file) != kHeaderBytes)
        throw Error(m_tempPath + ": write failed: " + std::strerror(errno));
}

ShardWriter::~ShardWriter()
{
    if (m_file) std::fclose(m_file);
    if (!m_finished) std::remove(m_tempPath.c_str());
}

void ShardWriter::addDocument(std::span<const int32_t> ids)
{
    m_buffer.resize(ids.size() * m_bytesPerToken);
    uint8_t* out = m_buffer.data();
    for (int32_t id : ids) {
        if (id < 0 || id >= m_vocabSize)
            throw Error(m_path + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(m_vocabSize));
        if (m_bytesPerToken == 2) put<uint16_t>(out, static_cast<uint16_t>(id));
        else put<uint32_t>(out, static_cast<uint32_t>(id));
        out += m_bytesPerToken;
    }
    if (!m_buffer.empty() && std::fwrite(m_buffer.data(), 1, m_buffer.size(), m_file) != m_buffer.size())
        throw Error(m_tempPath + ": write failed (disk full?): " + std::strerror(errno));
    m_tokens += ids.size();
    m_starts.push_back(m_tokens);
}

void ShardWriter::finish()
{
    const uint64_t tableOffset = kHeaderBytes + m_tokens * m_bytesPerToken;
    std::vector<uint8_t> table(m_starts.size() * 8);
    for (size_t i = 0; i < m_starts.size(); ++i) put<uint64_t>(table.data() + i * 8, m_starts[i]);
    if (std::fwrite(table.data(), 1, table.size(), m_file) != table.size())
        throw Error(m_tempPath + ": write failed (disk full?): " + std::strerror(errno));
    uint8_t header[kHeaderBytes] = {};
    std::memcpy(header, kShardMagic, 8);
    put<uint32_t>(header + 8, kShardVersion);
    put<uint32_t>(header + 12, m_bytesPerToken);
    put<uint32_t>(header + 16, static_cast<uint32_t>(m_vocabSize));
    put<uint64_t>(header + 24, documents());
    put<uint64_t>(header + 32, m_tokens);
    put<uint64_t>(header + 40, tableOffset);
    if (std::fseek(m_file, 0, SEEK_SET) != 0 || std::fwrite(header, 1, kHeaderBytes, m_file) != kHeaderBytes ||
        std::fflush(m_file) != 0 || ::fsync(::fileno(m_file)) != 0)
        throw Error(m_tempPath + ": write failed: " + std::strerror(errno));
    std::fclose(m_file);
    m_file = nullptr;
    std::filesystem::rename(m_tempPath, m_path);
    m_finished = true;
}

ShardReader::ShardReader(const std::string& path) : m_path(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Error(path + ": cannot open token shard: " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    m_size = static_cast<size_t>(st.st_size);
    if (m_size < kHeaderBytes) {
        ::close(fd);
        throw Error(path + ": " + std::to_string(m_size) + " bytes is too short for a token shard (header is 64); "
                    "re-run `tsumugi tokenize`");
    }
    void* map = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) throw Error(path + ": mmap failed: " + std::strerror(errno));
    m_data = static_cast<const uint8_t*>(map);
    auto fail = [&](const std::string& message) {
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
        m_data = nullptr;
        throw Error(path + ": " + message);
    };
    if (std::memcmp(m_data, kShardMagic, 8) != 0) fail("not a Tsumugi token shard (wrong magic); make one with `tsumugi tokenize`");
    const uint32_t version = get<uint32_t>(m_data + 8);
    if (version != kShardVersion)
        fail("token shard version " + std::to_string(version) + ", this build reads version " +
             std::to_string(kShardVersion) + "; re-tokenize the corpus with this build");
    m_bytesPerToken = get<uint32_t>(m_data + 12);
    m_vocabSize = static_cast<int32_t>(get<uint32_t>(m_data + 16));
    m_documents = get<uint64_t>(m_data + 24);
    m_tokens = get<uint64_t>(m_data + 32);
    const uint64_t tableOffset = get<uint64_t>(m_data + 40);
    if (m_bytesPerToken != 2 && m_bytesPerToken != 4) fail("bytes per token must be 2 or 4");
    if (m_tokens > (m_size - kHeaderBytes) / m_bytesPerToken || tableOffset != kHeaderBytes + m_tokens * m_bytesPerToken)
        fail("the header's token count does not match the file (truncated or damaged); re-run `tsumugi tokenize`");
    const uint64_t expected = tableOffset + (m_documents + 1) * 8;
    if (m_documents > m_size / 8 || expected != m_size)
        fail("expected " + std::to_string(expected) + " bytes, found " + std::to_string(m_size) +
             " (truncated or damaged); re-run `tsumugi tokenize`");
    m_tokenData = m_data + kHeaderBytes;
    m_table = m_data + tableOffset;
    uint64_t last = 0;
    for (uint64_t d = 0; d <= m_documents; ++d) {
        const uint64_t start = get<uint64_t>(m_table + d * 8);
        if (start < last || start > m_tokens || (d == 0 && start != 0) || (d == m_documents && start != m_tokens))
            fail("document table entry " + std::to_string(d) + " is out of order; the file is damaged");
        last = start;
    }
}

ShardReader::~ShardReader()
{
    if (m_data) ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

int32_t ShardReader::token(uint64_t i) const
{
    if (i >= m_tokens) throw Error(m_path + ": token " + std::to_string(i) + " is past the end");
    const uint8_t* at = m_tokenData + i * m_bytesPerToken;
    return m_bytesPerToken == 2 ? get<uint16_t>(at) : static_cast<int32_t>(get<uint32_t>(at));
}

std::pair<uint64_t, uint64_t> ShardReader::documentRange(uint64_t d) const
{
    if (d >= m_documents) throw Error(m_path + ": document " + std::to_string(d) + " is past the end");
    return {get<uint64_t>(m_table + d * 8), get<uint64_t>(m_table + (d + 1) * 8)};
}

std::vector<int32_t> ShardReader::document(uint64_t d) const
{
    const auto [begin, end] = documentRange(d);
    std::vector<int32_t> out;
    out.reserve(end - begin);
    for (uint64_t i = begin; i < end; ++i) out.push_back(token(i));
    return out;
}

}  // namespace tsumugi::tok
