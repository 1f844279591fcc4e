// Token shards: tokenized corpora on disk for continued pretraining, written as a stream
// and read with mmap, so corpora larger than memory cost only address space.
//
// Layout of one shard file (little-endian):
//   offset 0   char[8]  magic "TSMGTOKS"
//          8   u32      version (1)
//         12   u32      bytes per token (2 when the vocabulary fits in 16 bits, else 4)
//         16   u32      vocabulary size
//         20   u32      reserved (0)
//         24   u64      documents D
//         32   u64      tokens T
//         40   u64      byte offset of the document table (64 + T × bytes per token)
//         48   u8[16]   reserved (0)
//         64   tokens   T × bytes per token
//   table      u64      D + 1 token indices: document d is tokens [table[d], table[d + 1])
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace tsumugi::tok {

inline constexpr char kShardMagic[8] = {'T', 'S', 'M', 'G', 'T', 'O', 'K', 'S'};
inline constexpr uint32_t kShardVersion = 1;

class ShardWriter {
public:
    // Writes to PATH.tmp and renames to PATH on finish(); an unfinished shard never appears.
    ShardWriter(std::string path, int32_t vocabSize);
    ~ShardWriter();
    ShardWriter(const ShardWriter&) = delete;
    ShardWriter& operator=(const ShardWriter&) = delete;

    void addDocument(std::span<const int32_t> ids);
    void finish();
    uint64_t tokens() const { return m_tokens; }
    uint64_t documents() const { return m_starts.size() - 1; }

private:
    std::string m_path;
    std::string m_tempPath;
    std::FILE* m_file = nullptr;
    int32_t m_vocabSize;
    uint32_t m_bytesPerToken;
    uint64_t m_tokens = 0;
    std::vector<uint64_t> m_starts{0};
    std::vector<uint8_t> m_buffer;
    bool m_finished = false;
};

class ShardReader {
public:
    explicit ShardReader(const std::string& path);  // validates everything; errors name the file
    ~ShardReader();
    ShardReader(const ShardReader&) = delete;
    ShardReader& operator=(const ShardReader&) = delete;

    uint64_t documents() const { return m_documents; }
    uint64_t tokens() const { return m_tokens; }
    int32_t vocabSize() const { return m_vocabSize; }
    uint32_t bytesPerToken() const { return m_bytesPerToken; }
    // Token i of the whole shard, and the tokens of document d.
    int32_t token(uint64_t i) const;
    std::vector<int32_t> document(uint64_t d) const;
    std::pair<uint64_t, uint64_t> documentRange(uint64_t d) const;

private:
    std::string m_path;
    const uint8_t* m_data = nullptr;
    size_t m_size = 0;
    uint64_t m_documents = 0;
    uint64_t m_tokens = 0;
    int32_t m_vocabSize = 0;
    uint32_t m_bytesPerToken = 0;
    const uint8_t* m_tokenData = nullptr;
    const uint8_t* m_table = nullptr;
};

}  // namespace tsumugi::tok
