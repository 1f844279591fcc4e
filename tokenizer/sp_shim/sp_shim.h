/* The C interface of libtsumugi_sp_shim.so (SentencePiece). Strings and arrays returned in
 * out-parameters are allocated with malloc and released with tsp_free; error messages too.
 * A null error means success. */
#ifndef TSUMUGI_SP_SHIM_H
#define TSUMUGI_SP_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSP_ABI_VERSION 1

typedef struct tsp_model tsp_model;

int tsp_abi_version(void);
tsp_model* tsp_load(const char* path, char** error);
void tsp_close(tsp_model* model);
void tsp_free(void* p);

int tsp_vocab_size(const tsp_model* model);
/* Ids and, per piece, the byte range [begin, end) of the input it came from. */
void tsp_encode(const tsp_model* model, const char* text, size_t length, int32_t** ids, uint32_t** begins,
                uint32_t** ends, size_t* count, char** error);
void tsp_decode(const tsp_model* model, const int32_t* ids, size_t count, char** text, size_t* length, char** error);
/* The piece of an id (valid while the model lives), or null when out of range. */
const char* tsp_id_to_piece(const tsp_model* model, int32_t id);
/* The id of a piece, or -1 when the piece is not in the vocabulary. */
int32_t tsp_piece_to_id(const tsp_model* model, const char* piece, size_t length);
/* 1 when the id is a control symbol (<s>, </s>, …), 2 unknown, 4 byte, 0 otherwise. */
int tsp_kind(const tsp_model* model, int32_t id);
/* bos, eos, pad, unk ids of the model (-1 when disabled). */
void tsp_special_ids(const tsp_model* model, int32_t* bos, int32_t* eos, int32_t* pad, int32_t* unk);
/* SentencePieceTrainer::Train with a flag string ("--input=… --model_prefix=… --vocab_size=…"). */
void tsp_train(const char* flags, char** error);

#ifdef __cplusplus
}
#endif

#endif
