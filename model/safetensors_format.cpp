#include "model/safetensors_format.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tsumugi::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian; so is every host we build for");

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& message)
{
    throw ParseError(file, 0, 0, message);
}

std::string quoted(const std::string& s)
{
    return json(s).dump();
}

constexpr std::pair<const char*, StDtype> kDtypes[] = {
    {"F64", StDtype::F64}, {"F32", StDtype::F32},   {"F16", StDtype::F16}, {"BF16", StDtype::BF16},
    {"I64", StDtype::I64}, {"I32", StDtype::I32},   {"I16", StDtype::I16}, {"I8", StDtype::I8},
    {"U8", StDtype::U8},   {"BOOL", StDtype::BOOL},
};

}  // namespace

const char* stDtypeName(StDtype dtype)
{
    for (const auto& [name, d] : kDtypes)
        if (d == dtype) return name;
    return "?";
}

size_t stDtypeSize(StDtype dtype)
{
    switch (dtype) {
        case StDtype::F64:
        case StDtype::I64:
            return 8;
        case StDtype::F32:
        case StDtype::I32:
            return 4;
        case StDtype::F16:
        case StDtype::BF16:
        case StDtype::I16:
            return 2;
        case StDtype::I8:
        case StDtype::U8:
        case StDtype::BOOL:
            return 1;
    }
    return 1;
}

int stDtypeRank(StDtype d)
{
    switch (d) {
        case StDtype::BOOL:
            return 0;
        case StDtype::U8:
            return 1;
        case StDtype::I8:
            return 2;
        case StDtype::I16:
            return 3;
        case StDtype::F16:
            return 5;
        case StDtype::BF16:
            return 6;
        case StDtype::I32:
            return 7;
        case StDtype::F32:
            return 9;
        case StDtype::F64:
            return 10;
        case StDtype::I64:
            return 11;
    }
    return 0;
}

StLayout parseSafetensorsLayout(const uint8_t* data, uint64_t size, const std::string& file)
{
    StLayout layout;
    if (size == 0)
        fail(file,
             "empty file (0 bytes); a safetensors file starts with an 8-byte header length — "
             "the save was probably interrupted, write it again");
    if (size < 8) fail(file, "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    uint64_t n = 0;
    std::memcpy(&n, data, 8);
    if (n > kMaxSafetensorsHeader)
        fail(file, "header length " + std::to_string(n) + " exceeds the limit of " +
                       std::to_string(kMaxSafetensorsHeader) + " bytes; not a safetensors file, or a damaged one");
    if (n > size - 8)
        fail(file, "header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                       " bytes); the file is truncated or not safetensors");
    layout.headerSize = n;
    const std::string_view text(reinterpret_cast<const char*>(data) + 8, n);
    json header;
    try {
        header = json::parse(text);
    } catch (const json::exception& e) {
        fail(file, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail(file, std::string("header must be a JSON object, found ") + header.type_name());
    const uint64_t bufferSize = size - 8 - n;

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) fail(file, "__metadata__ must be an object of strings");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    fail(file,
                         "__metadata__[" + quoted(m.key()) + "] must be a string, found " + m.value().type_name());
                layout.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor " + quoted(name);
        if (!v.is_object()) fail(file, where + ": expected an object with dtype, shape and data_offsets");
        StTensorInfo t;
        t.name = name;
        const auto dt = v.find("dtype");
        if (dt == v.end() || !dt->is_string()) fail(file, where + ": \"dtype\" missing or not a string");
        const std::string dtype = dt->get<std::string>();
        bool known = false;
        for (const auto& [dn, d] : kDtypes)
            if (dtype == dn) t.dtype = d, known = true;
        if (!known)
            fail(file, where + ": dtype " + quoted(dtype) +
                           " is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL); convert the "
                           "tensor in Python before saving");
        const auto sh = v.find("shape");
        if (sh == v.end() || !sh->is_array()) fail(file, where + ": \"shape\" missing or not a list");
        if (sh->size() > 64) fail(file, where + ": more than 64 dimensions");
        uint64_t elements = 1;
        uint64_t strideProduct = 1;  // product of max(dim, 1): what torch's strides need
        bool overflow = false;
        for (const json& d : *sh) {
            if (!d.is_number_unsigned()) fail(file, where + ": shape entries must be non-negative integers");
            const uint64_t dim = d.get<uint64_t>();
            if (dim != 0 && elements > UINT64_MAX / dim) overflow = true;
            elements *= dim;
            if (dim > 1 && strideProduct > uint64_t(INT64_MAX) / dim)
                overflow = true;
            else
                strideProduct *= std::max<uint64_t>(dim, 1);
            t.shape.push_back(int64_t(std::min<uint64_t>(dim, INT64_MAX)));
        }
        const auto off = v.find("data_offsets");
        if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned())
            fail(file, where + ": \"data_offsets\" must be [begin, end] with non-negative integers");
        t.begin = (*off)[0].get<uint64_t>();
        t.end = (*off)[1].get<uint64_t>();
        if (t.end < t.begin)
            fail(file, where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                           ") end before they begin");
        const uint64_t width = stDtypeSize(t.dtype);
        if (overflow || elements > UINT64_MAX / width || elements * width != t.end - t.begin)
            fail(file, where + ": shape × dtype size (" +
                           (overflow ? std::string("overflows") : std::to_string(elements * width)) +
                           " bytes) does not match data_offsets (" + std::to_string(t.end - t.begin) + " bytes)");
        if (t.end > bufferSize)
            fail(file, where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                           ") run past the end of the data (" + std::to_string(bufferSize) +
                           " bytes); the file is truncated");
        layout.tensors.push_back(std::move(t));
    }
    std::sort(layout.tensors.begin(), layout.tensors.end(), [](const StTensorInfo& a, const StTensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const StTensorInfo* previous = nullptr;
    for (const StTensorInfo& t : layout.tensors) {
        if (t.begin == t.end) continue;  // empty tensors occupy no bytes
        if (previous && t.begin < previous->end)
            fail(file, "tensor " + quoted(t.name) + " [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                           ") overlaps tensor " + quoted(previous->name) + " [" + std::to_string(previous->begin) +
                           ", " + std::to_string(previous->end) + ")");
        previous = &t;
    }
    return layout;
}

}  // namespace tsumugi::model
