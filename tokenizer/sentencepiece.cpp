#include "tokenizer/sentencepiece.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "tokenizer/sp_shim/sp_shim.h"
#include "tokenizer/tokenizer.h"

namespace tsumugi::tok {

namespace {

// The shim's functions, resolved once.
struct Shim {
    std::string path;
    decltype(&tsp_abi_version) abiVersion;
    decltype(&tsp_load) load;
    decltype(&tsp_close) close;
    decltype(&tsp_free) free;
    decltype(&tsp_vocab_size) vocabSize;
    decltype(&tsp_encode) encode;
    decltype(&tsp_decode) decode;
    decltype(&tsp_id_to_piece) idToPiece;
    decltype(&tsp_piece_to_id) pieceToId;
    decltype(&tsp_kind) kind;
    decltype(&tsp_special_ids) specialIds;
    decltype(&tsp_train) train;
};

std::vector<std::string> candidatePaths()
{
    std::vector<std::string> out;
    if (const char* env = std::getenv("TSUMUGI_SP_SHIM"); env && *env) out.emplace_back(env);
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string name = std::filesystem::path(TSUMUGI_SP_SHIM_BUILD_PATH).filename().string();
    if (!ec) {
        out.push_back((self.parent_path() / name).string());
        out.push_back((self.parent_path().parent_path() / "lib" / "tsumugi" / name).string());
    }
    out.emplace_back(TSUMUGI_SP_SHIM_BUILD_PATH);
    out.emplace_back(TSUMUGI_SP_SHIM_INSTALL_PATH);
    return out;
}

const Shim& shim()
{
    static std::once_flag once;
    static Shim s;
    static std::string failure;
    std::call_once(once, [] {
        void* handle = nullptr;
        std::string tried;
        for (const std::string& path : candidatePaths()) {
            if (!std::filesystem::exists(path)) {
                tried += "\n  " + path + " (missing)";
                continue;
            }
            handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
            if (handle) {
                s.path = path;
                break;
            }
            tried += "\n  " + path + " (" + dlerror() + ")";
        }
        if (!handle) {
            failure = "cannot load the SentencePiece shim libtsumugi_sp_shim.so; tried:" + tried +
                      "\nreinstall Tsumugi or set TSUMUGI_SP_SHIM to the library's path";
            return;
        }
        auto get = [&](auto& fn, const char* symbol) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, symbol));
            if (!fn && failure.empty()) failure = s.path + ": missing symbol " + symbol + " (a different build?)";
        };
        get(s.abiVersion, "tsp_abi_version");
        get(s.load, "tsp_load");
        get(s.close, "tsp_close");
        get(s.free, "tsp_free");
        get(s.vocabSize, "tsp_vocab_size");
        get(s.encode, "tsp_encode");
        get(s.decode, "tsp_decode");
        get(s.idToPiece, "tsp_id_to_piece");
        get(s.pieceToId, "tsp_piece_to_id");
        get(s.kind, "tsp_kind");
        get(s.specialIds, "tsp_special_ids");
        get(s.train, "tsp_train");
        if (failure.empty() && s.abiVersion() != TSP_ABI_VERSION)
            failure = s.path + ": shim ABI " + std::to_string(s.abiVersion()) + ", expected " +
                      std::to_string(TSP_ABI_VERSION) + "; it belongs to another Tsumugi build";
    });
    if (!failure.empty()) throw Error(failure);
    return s;
}

std::string takeError(char* error)
{
    std::string message = error ? error : "";
    shim().free(error);
    return message;
}

class SentencePieceTokenizer final : public Tokenizer {
public:
    explicit SentencePieceTokenizer(const std::string& path) : m_path(path)
    {
        if (!std::filesystem::exists(path))
            throw Error(path + ": no such file; a SentencePiece tokenizer is a tokenizer.model file");
        char* error = nullptr;
        m_model = shim().load(path.c_str(), &error);
        if (!m_model)
            throw Error(path + ": not a SentencePiece model (" + takeError(error) +
                        "); is the file truncated or a tokenizer.json?");
        m_size = shim().vocabSize(m_model);
        for (int32_t id = 0; id < m_size; ++id)
            if (shim().kind(m_model, id) == 1) {
                const std::string piece = shim().idToPiece(m_model, id);
                if (!piece.empty()) m_control.emplace_back(piece, id);
            }
        // Longest first, so "<|a|>b" never loses to a shorter control string.
        std::sort(m_control.begin(), m_control.end(),
                  [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }
    ~SentencePieceTokenizer() override { shim().close(m_model); }

    Encoding encode(std::string_view text) const override
    {
        // Control symbols (<s>, </s>, …) written in the text become their ids; each stretch of
        // text between them is encoded on its own (as transformers' LlamaTokenizer, legacy).
        Encoding out;
        size_t start = 0, pos = 0;
        while (pos <= text.size()) {
            const auto match = controlAt(text, pos);
            if (pos == text.size() || match) {
                encodeSegment(text.substr(start, pos - start), static_cast<uint32_t>(start), out);
                if (!match) break;
                out.ids.push_back(match->second);
                out.offsets.emplace_back(static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + match->first.size()));
                pos += match->first.size();
                start = pos;
                continue;
            }
            ++pos;
        }
        return out;
    }

    std::string decode(const std::vector<int32_t>& ids, bool skipSpecial) const override
    {
        std::vector<int32_t> kept;
        kept.reserve(ids.size());
        for (int32_t id : ids) {
            if (id < 0 || id >= m_size)
                throw Error(m_path + ": token id " + std::to_string(id) + " is out of range (vocabulary of " +
                            std::to_string(m_size) + ")");
            if (!(skipSpecial && isSpecial(id))) kept.push_back(id);
        }
        char* text = nullptr;
        size_t length = 0;
        char* error = nullptr;
        shim().decode(m_model, kept.data(), kept.size(), &text, &length, &error);
        if (error) throw Error(m_path + ": decode failed: " + takeError(error));
        std::string out(text, length);
        shim().free(text);
        return out;
    }

    int32_t vocabSize() const override { return m_size; }

    std::optional<int32_t> tokenToId(std::string_view token) const override
    {
        const int32_t id = shim().pieceToId(m_model, token.data(), token.size());
        if (id < 0) return std::nullopt;
        return id;
    }

    std::string idToToken(int32_t id) const override
    {
        const char* piece = shim().idToPiece(m_model, id);
        if (!piece) throw Error(m_path + ": token id " + std::to_string(id) + " is out of range");
        return piece;
    }

    bool isSpecial(int32_t id) const override
    {
        const int kind = shim().kind(m_model, id);
        return kind == 1 || kind == 2;
    }

    std::string describe() const override
    {
        return "SentencePiece " + m_path + ", " + std::to_string(m_size) + " tokens";
    }

    void specialIds(int32_t& bos, int32_t& eos, int32_t& pad, int32_t& unk) const
    {
        shim().specialIds(m_model, &bos, &eos, &pad, &unk);
    }

private:
    const std::pair<std::string, int32_t>* controlAt(std::string_view text, size_t pos) const
    {
        for (const auto& c : m_control)
            if (text.compare(pos, c.first.size(), c.first) == 0 && pos + c.first.size() <= text.size()) return &c;
        return nullptr;
    }

    void encodeSegment(std::string_view segment, uint32_t base, Encoding& out) const
    {
        if (segment.empty()) return;
        int32_t* ids = nullptr;
        uint32_t* begins = nullptr;
        uint32_t* ends = nullptr;
        size_t count = 0;
        char* error = nullptr;
        shim().encode(m_model, segment.data(), segment.size(), &ids, &begins, &ends, &count, &error);
        if (error) throw Error(m_path + ": encode failed: " + takeError(error));
        for (size_t i = 0; i < count; ++i) {
            out.ids.push_back(ids[i]);
            out.offsets.emplace_back(base + begins[i], base + ends[i]);
        }
        shim().free(ids);
        shim().free(begins);
        shim().free(ends);
    }

    std::string m_path;
    tsp_model* m_model = nullptr;
    int32_t m_size = 0;
    std::vector<std::pair<std::string, int32_t>> m_control;
};

}  // namespace

std::string sentencePieceShimPath() { return shim().path; }

std::optional<SentencePieceIds> sentencePieceIds(const Tokenizer& tokenizer)
{
    const auto* sp = dynamic_cast<const SentencePieceTokenizer*>(&tokenizer);
    if (!sp) return std::nullopt;
    SentencePieceIds ids;
    sp->specialIds(ids.bos, ids.eos, ids.pad, ids.unk);
    return ids;
}

std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::string& path)
{
    return std::make_unique<SentencePieceTokenizer>(path);
}

void trainSentencePiece(const SentencePieceTraining& t)
{
    if (t.inputs.empty()) throw Error("tokenizer train: give at least one corpus file");
    for (const auto& input : t.inputs)
        if (!std::filesystem::exists(input)) throw Error(input + ": no such corpus file");
    if (t.modelType != "unigram" && t.modelType != "bpe")
        throw Error("tokenizer train: --model-type must be unigram or bpe, not '" + t.modelType + "'");
    if (t.normalization != "identity" && t.normalization != "nmt_nfkc" && t.normalization != "nfkc")
        throw Error("tokenizer train: --normalization must be identity, nfkc or nmt_nfkc");
    std::filesystem::create_directories(t.outDirectory);
    std::string inputs;
    for (const auto& input : t.inputs) inputs += (inputs.empty() ? "" : ",") + input;
    const std::string prefix = (std::filesystem::path(t.outDirectory) / "tokenizer").string();
    // Llama's conventions: <unk> 0, <s> 1, </s> 2; digits split; whitespace kept as is.
    std::string flags = "--input=" + inputs + " --model_prefix=" + prefix + " --vocab_size=" +
                        std::to_string(t.vocabSize) + " --model_type=" + t.modelType +
                        " --byte_fallback=" + (t.byteFallback ? "true" : "false") +
                        " --normalization_rule_name=" + t.normalization +
                        " --character_coverage=" + std::to_string(t.characterCoverage) +
                        " --input_sentence_size=" + std::to_string(t.inputSentenceSize) +
                        " --shuffle_input_sentence=true --split_digits=true --allow_whitespace_only_pieces=true"
                        " --remove_extra_whitespaces=false --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1"
                        " --minloglevel=2";
    if (flags.find(' ', flags.find("--input=")) < flags.find(" --model_prefix") || prefix.find(' ') != std::string::npos)
        throw Error("tokenizer train: paths with spaces are not supported by SentencePiece's flag parser");
    char* error = nullptr;
    shim().train(flags.c_str(), &error);
    if (error) {
        std::string message = takeError(error);
        throw Error("SentencePiece training failed: " + message +
                    (message.find("Vocabulary size") != std::string::npos
                         ? " (a small corpus supports only a small vocabulary: lower --vocab-size)"
                         : ""));
    }
}

}  // namespace tsumugi::tok
