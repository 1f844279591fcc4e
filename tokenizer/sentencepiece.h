// SentencePiece `tokenizer.model` through libtsumugi_sp_shim.so (sp_shim/sp_shim.h), loaded
// with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) so it can live beside LibTorch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tsumugi::tok {

// Trains a model with SentencePiece's trainer (DIR/tokenizer.model and tokenizer.vocab).
struct SentencePieceTraining {
    std::vector<std::string> inputs;  // text files, one sentence per line
    std::string outDirectory;
    int vocabSize = 32000;
    std::string modelType = "unigram";   // unigram or bpe
    bool byteFallback = true;            // unknown characters become <0xNN> bytes, never <unk>
    std::string normalization = "identity";  // identity keeps Japanese byte for byte; nmt_nfkc folds full-width
    double characterCoverage = 0.9995;
    int64_t inputSentenceSize = 2000000;  // sentences sampled from the input
};
void trainSentencePiece(const SentencePieceTraining& training);

class Tokenizer;

// bos, eos, pad and unk ids a SentencePiece model defines (-1 when disabled); nullopt when
// the tokenizer is not a SentencePiece one.
struct SentencePieceIds {
    int32_t bos = -1, eos = -1, pad = -1, unk = -1;
};
std::optional<SentencePieceIds> sentencePieceIds(const Tokenizer& tokenizer);

// The path the shim is loaded from (for messages and tests).
std::string sentencePieceShimPath();

}  // namespace tsumugi::tok
