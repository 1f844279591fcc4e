// Token shards for a large corpus: tokenize generated Japanese text with SentencePiece (the
// golden fixture model) into a ShardWriter, with memory staying flat as the corpus grows.
//   bench_shards [MEGABYTES=1024]
// Prints the throughput of tokenize + write, the throughput of ShardWriter alone against a
// plain fwrite of the same token bytes (the reference, same run), and the peak resident
// memory after the first tenth of the corpus and at the end (flat memory: about equal).
#include <sys/resource.h>

#include "bench_common.h"
#include "tokenizer/shards.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi;
using namespace tsumugi::bench;

namespace {
double peakRssMiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}
}  // namespace

int main(int argc, char** argv)
{
    try {
        const int64_t megabytes = sizeArg(argc, argv, 1, 1024);
        printMachine("bench_shards");
        const auto sp = tok::loadSentencePieceModel(std::string(TSUMUGI_FIXTURES_DIR) + "/sp-ja.model");
        TempDir dir("tsumugi-bench-shards");
        JapaneseText text(7);
        tok::ShardWriter shard((dir / "shard.bin").string(), sp->vocabSize());
        std::FILE* raw = std::fopen((dir / "raw.bin").c_str(), "wb");
        if (!raw) throw std::runtime_error("cannot create the reference file");

        const uint64_t target = uint64_t(megabytes) << 20;
        uint64_t bytes = 0;
        double encodeSeconds = 0, shardSeconds = 0, rawSeconds = 0, rssAtTenth = 0;
        std::vector<int32_t> ids;
        std::vector<uint16_t> rawIds;
        Stopwatch total;
        while (bytes < target) {
            const std::string document = text.next(200, 2000);
            Stopwatch encode;
            ids = sp->encode(document).ids;
            ids.push_back(2);  // </s> between documents
            encodeSeconds += encode.seconds();
            Stopwatch write;
            shard.addDocument(ids);
            shardSeconds += write.seconds();
            rawIds.assign(ids.begin(), ids.end());
            Stopwatch plain;
            std::fwrite(rawIds.data(), 2, rawIds.size(), raw);
            rawSeconds += plain.seconds();
            bytes += document.size();
            if (rssAtTenth == 0 && bytes >= target / 10) rssAtTenth = peakRssMiB();
        }
        Stopwatch finish;
        shard.finish();
        shardSeconds += finish.seconds();
        Stopwatch plainClose;
        std::fflush(raw);
        ::fsync(::fileno(raw));
        std::fclose(raw);
        rawSeconds += plainClose.seconds();
        const double wall = total.seconds();
        const double rssEnd = peakRssMiB();
        const double tokenMiB = shard.tokens() * 2.0 / 1048576.0;

        std::cout << "corpus: " << fixed(bytes / 1048576.0, 1) << " MiB of Japanese text, " << shard.documents()
                  << " documents, " << shard.tokens() << " tokens\n"
                  << "tokenize + write: " << fixed(bytes / 1e6 / wall, 2) << " MB/s of text (" << fixed(wall, 1)
                  << " s; encode " << fixed(encodeSeconds, 1) << " s)\n"
                  << "writing tokens:   ShardWriter " << fixed(tokenMiB / shardSeconds, 1) << " MiB/s ("
                  << fixed(shardSeconds, 2) << " s), plain fwrite " << fixed(tokenMiB / rawSeconds, 1)
                  << " MiB/s (" << fixed(rawSeconds, 2) << " s), ratio " << fixed(rawSeconds / shardSeconds, 2)
                  << "x\n"
                  << "peak RSS: " << fixed(rssAtTenth, 1) << " MiB after a tenth, " << fixed(rssEnd, 1)
                  << " MiB at the end (growth " << fixed(rssEnd - rssAtTenth, 1) << " MiB)\n";
        // The document table (8 bytes a document) is the only state that grows.
        const bool flat = rssEnd - rssAtTenth < 64;
        std::cout << "flat memory (growth < 64 MiB): " << verdict(flat) << "\n";
        ResultLine("bench_shards")
            .add("megabytes", fixed(bytes / 1048576.0, 1))
            .add("text_mb_s", bytes / 1e6 / wall)
            .add("shard_mib_s", tokenMiB / shardSeconds)
            .add("fwrite_mib_s", tokenMiB / rawSeconds)
            .add("rss_tenth_mib", rssAtTenth, 1)
            .add("rss_end_mib", rssEnd, 1)
            .add("flat", verdict(flat))
            .print();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_shards: " << e.what() << "\n";
        return 1;
    }
}
