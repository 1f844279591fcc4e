// SentencePiece behind the C interface of sp_shim.h. Only this library links SentencePiece.
#include "sp_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define TSP_EXPORT __attribute__((visibility("default")))

struct tsp_model {
    sentencepiece::SentencePieceProcessor processor;
    std::vector<std::string> pieces;  // id → piece, so tsp_id_to_piece can hand out stable pointers
};

namespace {
char* copyString(const std::string& s)
{
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (out) std::memcpy(out, s.data(), s.size() + 1);
    return out;
}

template <typename T>
T* allocate(size_t n)
{
    return static_cast<T*>(std::malloc(sizeof(T) * (n ? n : 1)));
}
}  // namespace

extern "C" {

TSP_EXPORT int tsp_abi_version(void) { return TSP_ABI_VERSION; }

TSP_EXPORT tsp_model* tsp_load(const char* path, char** error)
{
    *error = nullptr;
    auto* model = new tsp_model;
    const auto status = model->processor.Load(path);
    if (!status.ok()) {
        *error = copyString(status.ToString());
        delete model;
        return nullptr;
    }
    const int n = model->processor.GetPieceSize();
    model->pieces.reserve(static_cast<size_t>(n));
    for (int id = 0; id < n; ++id) model->pieces.push_back(model->processor.IdToPiece(id));
    return model;
}

TSP_EXPORT void tsp_close(tsp_model* model) { delete model; }
TSP_EXPORT void tsp_free(void* p) { std::free(p); }
TSP_EXPORT int tsp_vocab_size(const tsp_model* model) { return model->processor.GetPieceSize(); }

TSP_EXPORT void tsp_encode(const tsp_model* model, const char* text, size_t length, int32_t** ids, uint32_t** begins,
                           uint32_t** ends, size_t* count, char** error)
{
    *error = nullptr;
    const auto spt = model->processor.EncodeAsImmutableProto(std::string_view(text, length));
    const size_t n = spt.pieces_size();
    *count = n;
    *ids = allocate<int32_t>(n);
    *begins = allocate<uint32_t>(n);
    *ends = allocate<uint32_t>(n);
    for (size_t i = 0; i < n; ++i) {
        const auto& piece = spt.pieces(static_cast<int>(i));
        (*ids)[i] = static_cast<int32_t>(piece.id());
        (*begins)[i] = piece.begin();
        (*ends)[i] = piece.end();
    }
}

TSP_EXPORT void tsp_decode(const tsp_model* model, const int32_t* ids, size_t count, char** text, size_t* length,
                           char** error)
{
    *error = nullptr;
    std::vector<int> v(ids, ids + count);
    std::string out;
    const auto status = model->processor.Decode(v, &out);
    if (!status.ok()) {
        *error = copyString(status.ToString());
        *text = nullptr;
        *length = 0;
        return;
    }
    *text = copyString(out);
    *length = out.size();
}

TSP_EXPORT const char* tsp_id_to_piece(const tsp_model* model, int32_t id)
{
    if (id < 0 || id >= model->processor.GetPieceSize()) return nullptr;
    return model->pieces[static_cast<size_t>(id)].c_str();
}

TSP_EXPORT int32_t tsp_piece_to_id(const tsp_model* model, const char* piece, size_t length)
{
    const std::string p(piece, length);
    const int id = model->processor.PieceToId(p);
    // PieceToId answers unk for unknown pieces; tell those apart.
    if (id == model->processor.unk_id() && p != model->processor.IdToPiece(id)) return -1;
    return id;
}

TSP_EXPORT int tsp_kind(const tsp_model* model, int32_t id)
{
    if (model->processor.IsControl(id)) return 1;
    if (model->processor.IsUnknown(id)) return 2;
    if (model->processor.IsByte(id)) return 4;
    return 0;
}

TSP_EXPORT void tsp_special_ids(const tsp_model* model, int32_t* bos, int32_t* eos, int32_t* pad, int32_t* unk)
{
    *bos = model->processor.bos_id();
    *eos = model->processor.eos_id();
    *pad = model->processor.pad_id();
    *unk = model->processor.unk_id();
}

TSP_EXPORT void tsp_train(const char* flags, char** error)
{
    *error = nullptr;
    const auto status = sentencepiece::SentencePieceTrainer::Train(flags);
    if (!status.ok()) *error = copyString(status.ToString());
}

}  // extern "C"
