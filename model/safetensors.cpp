#include "model/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tsumugi::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian; so is every host we build for");

namespace fs = std::filesystem;
using nlohmann::json;

class StBytes {
public:
    StBytes(std::string owned) : m_owned(std::move(owned))
    {
        m_data = reinterpret_cast<uint8_t*>(m_owned.data());
        m_size = m_owned.size();
    }
    StBytes(void* mapped, size_t size) : m_data(static_cast<uint8_t*>(mapped)), m_size(size), m_mapped(true) {}
    ~StBytes()
    {
        if (m_mapped && m_size > 0) ::munmap(m_data, m_size);
    }
    StBytes(const StBytes&) = delete;
    StBytes& operator=(const StBytes&) = delete;

    uint8_t* data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    std::string m_owned;
    uint8_t* m_data = nullptr;
    size_t m_size = 0;
    bool m_mapped = false;
};

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& message)
{
    throw ParseError(file, 0, 0, message);
}

std::string quoted(const std::string& s)
{
    return json(s).dump();
}

uint64_t tensorBytes(const at::Tensor& t)
{
    return uint64_t(t.numel()) * t.element_size();
}

void writeAll(int fd, const void* data, size_t size, const std::string& file)
{
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, std::min<size_t>(size, size_t(1) << 30));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(file + ": write failed: " + std::strerror(errno) + " (disk full?)");
        }
        p += n;
        size -= size_t(n);
    }
}

// Writes through a temporary file in the same directory, renamed into place when complete.
void writeFileAtomically(const std::string& path, const std::function<void(int fd)>& body)
{
    std::string tmpl = path + ".tmp.XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw Error(path + ": cannot create a temporary file beside it: " + std::strerror(errno));
    try {
        body(fd);
        if (::fsync(fd) != 0) throw Error(path + ": fsync failed: " + std::strerror(errno));
        if (::fchmod(fd, 0644) != 0) throw Error(path + ": chmod failed: " + std::strerror(errno));
        if (::close(fd) != 0) throw Error(path + ": close failed: " + std::strerror(errno));
    } catch (...) {
        ::close(fd);
        ::unlink(tmpl.c_str());
        throw;
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmpl.c_str());
        throw Error(path + ": cannot rename the temporary file into place: " + std::strerror(e));
    }
}

std::string readText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw NotFoundError(path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

at::ScalarType toScalarType(StDtype dtype)
{
    switch (dtype) {
        case StDtype::F64:
            return at::kDouble;
        case StDtype::F32:
            return at::kFloat;
        case StDtype::F16:
            return at::kHalf;
        case StDtype::BF16:
            return at::kBFloat16;
        case StDtype::I64:
            return at::kLong;
        case StDtype::I32:
            return at::kInt;
        case StDtype::I16:
            return at::kShort;
        case StDtype::I8:
            return at::kChar;
        case StDtype::U8:
            return at::kByte;
        case StDtype::BOOL:
            return at::kBool;
    }
    return at::kFloat;
}

StDtype fromScalarType(at::ScalarType type)
{
    switch (type) {
        case at::kDouble:
            return StDtype::F64;
        case at::kFloat:
            return StDtype::F32;
        case at::kHalf:
            return StDtype::F16;
        case at::kBFloat16:
            return StDtype::BF16;
        case at::kLong:
            return StDtype::I64;
        case at::kInt:
            return StDtype::I32;
        case at::kShort:
            return StDtype::I16;
        case at::kChar:
            return StDtype::I8;
        case at::kByte:
            return StDtype::U8;
        case at::kBool:
            return StDtype::BOOL;
        default:
            break;
    }
    throw Error(std::string("safetensors: cannot write dtype ") + c10::toString(type) +
                "; convert the tensor to float32, bfloat16, float16 or an integer type first");
}

SafetensorsFile SafetensorsFile::open(const std::string& path)
{
    SafetensorsFile f;
    f.m_path = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw NotFoundError(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file");
    }
    const size_t size = size_t(st.st_size);
    if (size == 0) {
        ::close(fd);
        fail(path,
             "empty file (0 bytes); a safetensors file starts with an 8-byte header length — "
             "the save was probably interrupted, write it again");
    }
    // MAP_PRIVATE with write permission: in-place edits to a view stay in this process.
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (p == MAP_FAILED) throw Error(path + ": mmap failed: " + std::strerror(e));
    ::madvise(p, size, MADV_WILLNEED);  // start reading ahead: the whole file is about to be read
    f.m_bytes = std::make_shared<StBytes>(p, size);
    f.parse();
    return f;
}

SafetensorsFile SafetensorsFile::fromBytes(std::string bytes, const std::string& name)
{
    SafetensorsFile f;
    f.m_path = name;
    f.m_bytes = std::make_shared<StBytes>(std::move(bytes));
    f.parse();
    return f;
}

void SafetensorsFile::parse()
{
    m_layout = parseSafetensorsLayout(m_bytes->data(), m_bytes->size(), m_path);
    for (size_t i = 0; i < m_layout.tensors.size(); ++i) m_index[m_layout.tensors[i].name] = i;
}

const StTensorInfo* SafetensorsFile::find(const std::string& name) const
{
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_layout.tensors[it->second];
}

const StTensorInfo& SafetensorsFile::info(const std::string& name) const
{
    const StTensorInfo* t = find(name);
    if (!t) throw NotFoundError(m_path + ": no tensor " + quoted(name));
    return *t;
}

at::Tensor SafetensorsFile::view(const std::string& name) const
{
    try {
        return viewUnchecked(name);
    } catch (const c10::Error& e) {
        throw Error(m_path + ": tensor " + quoted(name) + ": " + e.what_without_backtrace());
    }
}

at::Tensor SafetensorsFile::viewUnchecked(const std::string& name) const
{
    const StTensorInfo& t = info(name);
    uint8_t* data = m_bytes->data() + 8 + m_layout.headerSize + t.begin;
    const auto options = at::TensorOptions().dtype(toScalarType(t.dtype)).device(at::kCPU);
    if (t.begin == t.end) return at::empty(t.shape, options);
    if (reinterpret_cast<uintptr_t>(data) % stDtypeSize(t.dtype) != 0) {
        at::Tensor copy = at::empty(t.shape, options);
        std::memcpy(copy.data_ptr(), data, t.end - t.begin);
        return copy;
    }
    std::shared_ptr<StBytes> keep = m_bytes;
    return at::from_blob(
        data, t.shape, [keep](void*) mutable { keep.reset(); }, options);
}

at::Tensor SafetensorsFile::load(const std::string& name, at::Device device, std::optional<at::ScalarType> dtype) const
{
    const at::Tensor v = view(name);
    return v.to(device, dtype.value_or(v.scalar_type()), /*non_blocking=*/false, /*copy=*/true);
}

std::string safetensorsHeader(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                              std::vector<size_t>* order)
{
    std::vector<size_t> idx(tensors.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::vector<StDtype> dtypes;
    for (const auto& [name, t] : tensors) {
        if (name == "__metadata__") throw Error("safetensors: \"__metadata__\" cannot be a tensor name");
        try {
            (void)quoted(name);
        } catch (const json::exception&) {
            throw Error("safetensors: a tensor name is not valid UTF-8; header names must be UTF-8 strings");
        }
        dtypes.push_back(fromScalarType(t.scalar_type()));
    }
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        const int ra = stDtypeRank(dtypes[a]), rb = stDtypeRank(dtypes[b]);
        return ra != rb ? ra > rb : tensors[a].first < tensors[b].first;
    });
    for (size_t i = 1; i < idx.size(); ++i)
        if (tensors[idx[i]].first == tensors[idx[i - 1]].first)
            throw Error("safetensors: tensor name " + quoted(tensors[idx[i]].first) + " given twice");
    std::string h = "{";
    if (!metadata.empty()) {
        h += "\"__metadata__\":{";
        bool first = true;
        for (const auto& [k, v] : metadata) {
            h += (first ? "" : ",") + quoted(k) + ":" + quoted(v);
            first = false;
        }
        h += "}";
    }
    uint64_t offset = 0;
    for (size_t i : idx) {
        const auto& [name, t] = tensors[i];
        if (h.size() > 1) h += ",";
        h += quoted(name) + ":{\"dtype\":\"" + stDtypeName(dtypes[i]) + "\",\"shape\":[";
        for (int64_t d = 0; d < t.dim(); ++d) h += (d ? "," : "") + std::to_string(t.size(d));
        const uint64_t bytes = tensorBytes(t);
        h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
        offset += bytes;
    }
    h += "}";
    h.append((8 - h.size() % 8) % 8, ' ');
    if (order) *order = std::move(idx);
    return h;
}

void writeSafetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<size_t> order;
    const std::string header = safetensorsHeader(tensors, metadata, &order);
    writeFileAtomically(path, [&](int fd) {
        const uint64_t n = header.size();
        writeAll(fd, &n, 8, path);
        writeAll(fd, header.data(), header.size(), path);
        for (size_t i : order) {
            const at::Tensor t = tensors[i].second.to(at::kCPU).contiguous();
            if (t.numel() > 0) writeAll(fd, t.data_ptr(), tensorBytes(t), path);
        }
    });
}

std::vector<std::string> writeSafetensorsCheckpoint(const std::string& directory, const NamedTensors& tensors,
                                                    const ShardOptions& options)
{
    std::error_code ec;
    fs::create_directories(directory, ec);
    if (!fs::is_directory(directory)) throw Error(directory + ": cannot create the checkpoint directory");
    std::vector<NamedTensors> shards(1);
    uint64_t current = 0, total = 0;
    for (const auto& nt : tensors) {
        const uint64_t bytes = tensorBytes(nt.second);
        if (!shards.back().empty() && current + bytes > options.maxShardBytes) {
            shards.emplace_back();
            current = 0;
        }
        shards.back().push_back(nt);
        current += bytes;
        total += bytes;
    }
    std::vector<std::string> written;
    if (shards.size() == 1) {
        const std::string path = (fs::path(directory) / kSafetensorsSingleName).string();
        writeSafetensors(path, shards[0]);
        // A stale index would shadow the single file.
        fs::remove(fs::path(directory) / kSafetensorsIndexName, ec);
        written.push_back(path);
        return written;
    }
    json weightMap = json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
        const std::string path = (fs::path(directory) / name).string();
        writeSafetensors(path, shards[i]);
        for (const auto& nt : shards[i]) weightMap[nt.first] = name;
        written.push_back(path);
    }
    json index;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = weightMap;
    const std::string indexPath = (fs::path(directory) / kSafetensorsIndexName).string();
    const std::string text = index.dump(2) + "\n";
    writeFileAtomically(indexPath, [&](int fd) { writeAll(fd, text.data(), text.size(), indexPath); });
    // A stale single file would shadow the shards (it is looked for first).
    fs::remove(fs::path(directory) / kSafetensorsSingleName, ec);
    written.push_back(indexPath);
    return written;
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path)
{
    SafetensorsCheckpoint c;
    const fs::path p = path;
    fs::path indexPath, single;
    if (fs::is_directory(p)) {
        // transformers looks for the single file first; so do we.
        if (fs::exists(p / kSafetensorsSingleName))
            single = p / kSafetensorsSingleName;
        else if (fs::exists(p / kSafetensorsIndexName))
            indexPath = p / kSafetensorsIndexName;
        else {
            bool pickle = false;
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(p, ec))
                if (entry.path().extension() == ".bin" || entry.path().filename() == "pytorch_model.bin.index.json")
                    pickle = true;
            if (pickle)
                throw Error(path +
                            ": holds only pytorch_model*.bin (pickle) weights, which Tsumugi does not load "
                            "(unpickling runs code). Convert once in Python: AutoModelForCausalLM."
                            "from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)");
            throw NotFoundError(path + ": no model.safetensors or " + kSafetensorsIndexName +
                                "; is this a Hugging Face model directory?");
        }
    } else if (p.filename() == kSafetensorsIndexName || p.extension() == ".json") {
        indexPath = p;
    } else if (p.extension() == ".bin") {
        throw Error(path +
                    ": pytorch .bin (pickle) weights are not loaded (unpickling runs code). Convert once in "
                    "Python: AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT, "
                    "safe_serialization=True)");
    } else {
        single = p;
    }

    if (!single.empty()) {
        c.m_files.push_back(SafetensorsFile::open(single.string()));
        for (const auto& t : c.m_files[0].tensors()) c.m_where[t.name] = 0;
        return c;
    }

    c.m_sharded = true;
    const std::string file = indexPath.string();
    json index;
    try {
        index = json::parse(readText(file));
    } catch (const json::exception& e) {
        fail(file, std::string("not valid JSON: ") + e.what());
    }
    if (!index.is_object()) fail(file, "expected a JSON object with \"weight_map\"");
    if (auto m = index.find("metadata"); m != index.end() && !m->is_null()) {
        if (!m->is_object()) fail(file, "key \"metadata\": expected an object");
        if (auto ts = m->find("total_size"); ts != m->end() && !ts->is_number())
            fail(file, "key \"metadata.total_size\": expected a number");
    }
    const auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object())
        fail(file, "key \"weight_map\": missing or not an object of tensor name → shard file");
    std::map<std::string, size_t> fileIndex;
    const fs::path dir = indexPath.parent_path();
    for (auto it = wm->begin(); it != wm->end(); ++it) {
        if (!it.value().is_string()) fail(file, "weight_map[" + quoted(it.key()) + "]: expected a file name");
        const std::string shard = it.value().get<std::string>();
        const fs::path rel(shard);
        if (shard.empty() || rel.is_absolute() || std::find(rel.begin(), rel.end(), "..") != rel.end())
            fail(file, "weight_map[" + quoted(it.key()) + "]: " + quoted(shard) +
                           " must be a file name inside the checkpoint directory");
        auto [pos, inserted] = fileIndex.emplace(shard, c.m_files.size());
        if (inserted) {
            const fs::path shardPath = dir / rel;
            if (!fs::exists(shardPath))
                throw NotFoundError(file + ": weight_map names " + quoted(shard) + " (for tensor " + quoted(it.key()) +
                                    "), which does not exist in " + dir.string() + "; the download is incomplete");
            try {
                c.m_files.push_back(SafetensorsFile::open(shardPath.string()));
            } catch (const Error& e) {
                e.rethrowWithContext("loading shard of " + file);
            }
        }
        if (!c.m_files[pos->second].contains(it.key()))
            fail(file, "weight_map says tensor " + quoted(it.key()) + " is in " + quoted(shard) +
                           ", which does not hold it; the index and shards are from different saves");
        c.m_where[it.key()] = pos->second;
    }
    return c;
}

std::vector<std::string> SafetensorsCheckpoint::names() const
{
    std::vector<std::string> out;
    for (const auto& [name, i] : m_where) out.push_back(name);
    return out;
}

const SafetensorsFile& SafetensorsCheckpoint::fileOf(const std::string& name) const
{
    auto it = m_where.find(name);
    if (it == m_where.end()) throw NotFoundError("checkpoint has no tensor " + quoted(name));
    return m_files[it->second];
}

const StTensorInfo& SafetensorsCheckpoint::info(const std::string& name) const
{
    return fileOf(name).info(name);
}

}  // namespace tsumugi::model
