// safetensors: golden against an independent Python writer/reader
// (tests/golden/make_safetensors_fixture.py), byte-identical writing, sharded round trips bit
// for bit, one error per kind of damage, pickle refusal, and the Llama name table check.
// LibTorch before Qt: ATen has members named `slots`, which Qt defines as a macro.
#include <ATen/ATen.h>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "core/error.h"
#include "model/config.h"
#include "model/llama_weights.h"
#include "model/safetensors.h"

using namespace tsumugi::model;
using nlohmann::json;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(std::string)

namespace {

std::string fixture(const char* name)
{
    return std::string(TSUMUGI_FIXTURES_DIR) + "/safetensors/" + name;
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

std::string toHex(const void* data, size_t size)
{
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < size; ++i) {
        const uint8_t b = static_cast<const uint8_t*>(data)[i];
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

std::string fromHex(const std::string& hex)
{
    std::string s;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) s += char(std::stoi(hex.substr(i, 2), nullptr, 16));
    return s;
}

StDtype dtypeNamed(const std::string& name)
{
    for (StDtype d : {StDtype::F64, StDtype::F32, StDtype::F16, StDtype::BF16, StDtype::I64, StDtype::I32, StDtype::I16,
                      StDtype::I8, StDtype::U8, StDtype::BOOL})
        if (name == stDtypeName(d)) return d;
    throw std::runtime_error("unknown dtype " + name);
}

std::string tensorHex(const at::Tensor& t)
{
    const at::Tensor c = t.contiguous();
    return toHex(c.data_ptr(), size_t(c.numel()) * c.element_size());
}

// The fixture's tensors, rebuilt from the expected JSON's bytes.
NamedTensors expectedTensors(const json& expected)
{
    NamedTensors out;
    for (const json& t : expected["tensors"]) {
        at::Tensor x = at::empty(t["shape"].get<std::vector<int64_t>>(),
                                 at::TensorOptions().dtype(toScalarType(dtypeNamed(t["dtype"]))));
        const std::string bytes = fromHex(t["hex"]);
        if (!bytes.empty()) std::memcpy(x.data_ptr(), bytes.data(), bytes.size());
        out.emplace_back(t["name"], x);
    }
    return out;
}

// A file from a header text and a data buffer of `dataBytes` bytes (value i & 0xff).
std::string makeFile(const std::string& header, size_t dataBytes)
{
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    out += header;
    for (size_t i = 0; i < dataBytes; ++i) out += char(i & 0xff);
    return out;
}

NamedTensors randomTensors(uint64_t seed)
{
    at::manual_seed(seed);
    return {
        {"model.embed_tokens.weight", at::randn({64, 16})},
        {"a.bf16", at::randn({7, 5}).to(at::kBFloat16)},
        {"a.f16", at::randn({3, 3}).to(at::kHalf)},
        {"a.f64", at::randn({4}, at::kDouble)},
        {"a.i64", at::randint(-1000000, 1000000, {6}, at::kLong)},
        {"a.i32", at::randint(-1000, 1000, {2, 3}, at::kInt)},
        {"a.i16", at::randint(-1000, 1000, {5}, at::kShort)},
        {"a.i8", at::randint(-128, 127, {9}, at::kChar)},
        {"a.u8", at::randint(0, 255, {11}, at::kByte)},
        {"a.bool", at::randint(0, 2, {13}, at::kLong).to(at::kBool)},
        {"a.scalar", at::scalar_tensor(1.5)},
        {"a.empty", at::zeros({0, 4})},
        {"a.strided", at::randn({8, 6}).t()},  // not contiguous: written contiguous
        {"lm_head.weight", at::randn({64, 16})},
    };
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    // Read the file the Python reference wrote: every tensor's dtype, shape, bytes and values.
    void goldenRead()
    {
        const json expected = json::parse(slurp(fixture("multi_dtype.json")));
        const SafetensorsFile f = SafetensorsFile::open(fixture("multi_dtype.safetensors"));
        QCOMPARE(f.metadata(), (expected["metadata"].get<std::map<std::string, std::string>>()));
        QCOMPARE(f.tensors().size(), expected["tensors"].size());
        for (const json& t : expected["tensors"]) {
            const std::string name = t["name"];
            const StTensorInfo& info = f.info(name);
            QCOMPARE(std::string(stDtypeName(info.dtype)), t["dtype"].get<std::string>());
            QCOMPARE(info.shape, t["shape"].get<std::vector<int64_t>>());
            const at::Tensor v = f.view(name);
            QCOMPARE(v.sizes().vec(), info.shape);
            QCOMPARE(v.scalar_type(), toScalarType(info.dtype));
            QCOMPARE(tensorHex(v), t["hex"].get<std::string>());
            const bool isFloat = at::isFloatingType(v.scalar_type());
            const at::Tensor flat = v.reshape({-1});
            for (int64_t i = 0; i < flat.numel(); ++i) {
                if (isFloat)
                    QCOMPARE(flat[i].item<double>(), t["values"][i].get<double>());
                else
                    QCOMPARE(flat[i].to(at::kLong).item<int64_t>(), t["values"][i].get<int64_t>());
            }
            // A copy converted to float32 holds the same (exactly representable) values.
            if (isFloat && info.dtype != StDtype::F64) {
                const at::Tensor c = f.load(name, at::kCPU, at::kFloat);
                QCOMPARE(c.scalar_type(), at::kFloat);
                QVERIFY(at::equal(c, v.to(at::kFloat)));
            }
        }
    }

    // Our writer, given the same tensors and metadata, produces the reference's bytes exactly
    // (order, header JSON, space padding).
    void goldenWriteIdentical()
    {
        const json expected = json::parse(slurp(fixture("multi_dtype.json")));
        QTemporaryDir dir;
        const std::string path = dir.filePath("ours.safetensors").toStdString();
        writeSafetensors(path, expectedTensors(expected),
                         expected["metadata"].get<std::map<std::string, std::string>>());
        QCOMPARE(
            toHex(slurp(path).data(), slurp(path).size()),
            toHex(slurp(fixture("multi_dtype.safetensors")).data(), slurp(fixture("multi_dtype.safetensors")).size()));
    }

    // Files we write pass the Python reader's strict checks and hold the same bytes.
    void pythonReadsOurs()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("ours.safetensors").toStdString();
        const NamedTensors tensors = randomTensors(7);
        writeSafetensors(path, tensors);
        // Header layout: length a multiple of 8, metadata first, space padding.
        const std::string bytes = slurp(path);
        uint64_t n = 0;
        std::memcpy(&n, bytes.data(), 8);
        QCOMPARE(n % 8, uint64_t(0));
        QVERIFY(bytes.compare(8, 31, "{\"__metadata__\":{\"format\":\"pt\"}") == 0);
        const std::string header = bytes.substr(8, n);
        QCOMPARE(header.find_last_not_of(' '), header.rfind('}'));

        if (!QFile::exists("/usr/bin/python3")) QSKIP("no /usr/bin/python3");
        QProcess p;
        p.start("/usr/bin/python3",
                {QString(TSUMUGI_GOLDEN_DIR) + "/make_safetensors_fixture.py", "check", QString::fromStdString(path)});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const json read = json::parse(p.readAllStandardOutput().toStdString());
        QCOMPARE(read["metadata"]["format"].get<std::string>(), std::string("pt"));
        QCOMPARE(read["tensors"].size(), tensors.size());
        std::map<std::string, json> byName;
        for (const json& t : read["tensors"]) byName[t["name"]] = t;
        for (const auto& [name, t] : tensors) {
            QVERIFY2(byName.count(name), name.c_str());
            QCOMPARE(byName[name]["hex"].get<std::string>(), tensorHex(t));
            QCOMPARE(byName[name]["shape"].get<std::vector<int64_t>>(), t.sizes().vec());
            QCOMPARE(byName[name]["dtype"].get<std::string>(),
                     std::string(stDtypeName(fromScalarType(t.scalar_type()))));
        }
    }

    void viewsOutliveTheFile()
    {
        at::Tensor v;
        {
            const SafetensorsFile f = SafetensorsFile::open(fixture("multi_dtype.safetensors"));
            v = f.view("model.embed_tokens.weight");
        }
        const json expected = json::parse(slurp(fixture("multi_dtype.json")));
        QCOMPARE(v.reshape({-1})[0].item<double>(), expected["tensors"][0]["values"][0].get<double>());
        // Writes to a view stay in memory (MAP_PRIVATE); the file is unchanged.
        v.fill_(0);
        const SafetensorsFile again = SafetensorsFile::open(fixture("multi_dtype.safetensors"));
        QCOMPARE(again.view("model.embed_tokens.weight").reshape({-1})[0].item<double>(),
                 expected["tensors"][0]["values"][0].get<double>());
    }

    void singleRoundTrip()
    {
        QTemporaryDir dir;
        const NamedTensors tensors = randomTensors(1);
        const auto files = writeSafetensorsCheckpoint(dir.path().toStdString(), tensors);
        QCOMPARE(files.size(), size_t(1));
        QVERIFY(QFile::exists(dir.filePath("model.safetensors")));
        QVERIFY(!QFile::exists(dir.filePath("model.safetensors.index.json")));
        const auto c = SafetensorsCheckpoint::open(dir.path().toStdString());
        QVERIFY(!c.sharded());
        for (const auto& [name, t] : tensors) {
            QVERIFY2(at::equal(c.view(name), t), name.c_str());
            QCOMPARE(c.view(name).scalar_type(), t.scalar_type());
        }
        QCOMPARE(c.names().size(), tensors.size());
        QCOMPARE(c.files()[0].metadata().at("format"), std::string("pt"));

        // Saving sharded into the same directory removes the single file, which would shadow it.
        ShardOptions options;
        options.maxShardBytes = 4096;
        writeSafetensorsCheckpoint(dir.path().toStdString(), tensors, options);
        QVERIFY(!QFile::exists(dir.filePath("model.safetensors")));
        QVERIFY(SafetensorsCheckpoint::open(dir.path().toStdString()).sharded());
        writeSafetensorsCheckpoint(dir.path().toStdString(), tensors);
        QVERIFY(!QFile::exists(dir.filePath("model.safetensors.index.json")));
        QVERIFY(!SafetensorsCheckpoint::open(dir.path().toStdString()).sharded());
    }

    void shardedRoundTrip()
    {
        QTemporaryDir dir;
        const NamedTensors tensors = randomTensors(2);
        ShardOptions options;
        options.maxShardBytes = 4096;  // embed and lm_head (4096 bytes each) get shards of their own
        const auto files = writeSafetensorsCheckpoint(dir.path().toStdString(), tensors, options);
        QVERIFY(files.size() >= 4);
        const size_t shards = files.size() - 1;
        char first[64];
        std::snprintf(first, sizeof first, "model-00001-of-%05zu.safetensors", shards);
        QVERIFY(QFile::exists(dir.filePath(first)));
        QCOMPARE(fs::path(files.back()).filename().string(), std::string("model.safetensors.index.json"));

        const json index = json::parse(slurp(files.back()));
        uint64_t total = 0;
        for (const auto& [name, t] : tensors) total += uint64_t(t.numel()) * t.element_size();
        QCOMPARE(index["metadata"]["total_size"].get<uint64_t>(), total);
        QCOMPARE(index["weight_map"].size(), tensors.size());
        QCOMPARE(slurp(files.back()), index.dump(2) + "\n");  // json.dumps(indent=2, sort_keys=True)
        for (const std::string& f : files)
            if (f != files.back()) QVERIFY(fs::file_size(f) <= 4096 + 1024);  // + header

        for (const std::string& path : {dir.path().toStdString(), files.back()}) {
            const auto c = SafetensorsCheckpoint::open(path);
            QVERIFY(c.sharded());
            QCOMPARE(c.files().size(), shards);
            QCOMPARE(c.names().size(), tensors.size());
            for (const auto& [name, t] : tensors) {
                QVERIFY2(at::equal(c.view(name), t), name.c_str());
                QVERIFY(at::equal(c.load(name, at::kCPU), t));
            }
        }
    }

    void indexErrors()
    {
        QTemporaryDir dir;
        ShardOptions options;
        options.maxShardBytes = 4096;
        const auto files = writeSafetensorsCheckpoint(dir.path().toStdString(), randomTensors(3), options);
        const std::string indexPath = files.back();
        const json index = json::parse(slurp(indexPath));
        auto expectError = [&](const json& j, const char* needle) {
            spit(indexPath, j.dump());
            try {
                SafetensorsCheckpoint::open(dir.path().toStdString());
                QFAIL("no error");
            } catch (const tsumugi::Error& e) {
                QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
                QVERIFY2(std::string(e.what()).find("model.safetensors.index.json") != std::string::npos, e.what());
            }
        };
        json missingFile = index;
        missingFile["weight_map"]["a.i8"] = "model-00009-of-00009.safetensors";
        expectError(missingFile, "does not exist");
        json wrongShard = index;
        const std::string other = index["weight_map"]["model.embed_tokens.weight"];
        const std::string elsewhere = index["weight_map"]["lm_head.weight"];
        QVERIFY(other != elsewhere);
        wrongShard["weight_map"]["lm_head.weight"] = other;
        expectError(wrongShard, "\"lm_head.weight\" is in");
        json escape = index;
        escape["weight_map"]["a.i8"] = "../x.safetensors";
        expectError(escape, "inside the checkpoint directory");
        expectError(json{{"metadata", json::object()}}, "\"weight_map\"");
        spit(indexPath, "{\"weight_map\": ");
        QVERIFY_THROWS_EXCEPTION(tsumugi::ParseError, SafetensorsCheckpoint::open(dir.path().toStdString()));
    }

    void malformed_data()
    {
        QTest::addColumn<std::string>("bytes");
        QTest::addColumn<std::string>("expected");
        auto header = [](json tensors) { return tensors.dump(); };
        const json ok = {{"w", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}}}};
        QTest::newRow("0 bytes") << std::string() << std::string("empty file (0 bytes)");
        QTest::newRow("shorter than 8") << std::string("\x10\0\0", 3)
                                        << std::string("shorter than the 8-byte header length");
        std::string past = makeFile(header(ok), 16);
        past[0] = char(0xff);
        past[1] = char(0x10);
        QTest::newRow("header length past the end") << past << std::string("runs past the end of the file");
        std::string huge = makeFile(header(ok), 16);
        const uint64_t big = uint64_t(1) << 40;
        std::memcpy(huge.data(), &big, 8);
        QTest::newRow("header length huge") << huge << std::string("exceeds the limit");
        QTest::newRow("bad JSON") << makeFile("{\"w\": {\"dtype\": \"F32\",", 16)
                                  << std::string("header is not valid JSON");
        QTest::newRow("header not an object") << makeFile("[1,2]", 0) << std::string("header must be a JSON object");
        json unknown = ok;
        unknown["w"]["dtype"] = "Q4_K";
        QTest::newRow("unknown dtype") << makeFile(header(unknown), 16)
                                       << std::string("tensor \"w\": dtype \"Q4_K\" is not supported");
        json f8 = ok;
        f8["w"]["dtype"] = "F8_E4M3";
        QTest::newRow("fp8 dtype") << makeFile(header(f8), 16) << std::string("tensor \"w\": dtype \"F8_E4M3\"");
        json mismatch = ok;
        mismatch["w"]["shape"] = {2, 3};
        QTest::newRow("shape/size mismatch")
            << makeFile(header(mismatch), 16)
            << std::string("tensor \"w\": shape × dtype size (24 bytes) does not match data_offsets (16 bytes)");
        json overlap = ok;
        overlap["v"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {12, 20}}};
        QTest::newRow("overlapping ranges")
            << makeFile(header(overlap), 20) << std::string("tensor \"v\" [12, 20) overlaps tensor \"w\" [0, 16)");
        QTest::newRow("data truncated")
            << makeFile(header(ok), 15)
            << std::string("tensor \"w\": data_offsets [0, 16) run past the end of the data (15 bytes)");
        json backwards = ok;
        backwards["w"]["data_offsets"] = {16, 0};
        QTest::newRow("end before begin") << makeFile(header(backwards), 16) << std::string("end before they begin");
        json negative = ok;
        negative["w"]["shape"] = {-2, -2};
        QTest::newRow("negative shape") << makeFile(header(negative), 16)
                                        << std::string("shape entries must be non-negative");
        json noOffsets = ok;
        noOffsets["w"].erase("data_offsets");
        QTest::newRow("data_offsets missing")
            << makeFile(header(noOffsets), 16) << std::string("tensor \"w\": \"data_offsets\" must be");
        json noDtype = ok;
        noDtype["w"].erase("dtype");
        QTest::newRow("dtype missing") << makeFile(header(noDtype), 16)
                                       << std::string("tensor \"w\": \"dtype\" missing");
        json overflow = ok;
        overflow["w"]["shape"] = {uint64_t(1) << 62, 16};
        QTest::newRow("shape overflow") << makeFile(header(overflow), 16) << std::string("overflows");
        json meta = ok;
        meta["__metadata__"] = {{"format", 1}};
        QTest::newRow("metadata not strings")
            << makeFile(header(meta), 16) << std::string("__metadata__[\"format\"] must be a string");
        json entry = ok;
        entry["w"] = "F32";
        QTest::newRow("tensor entry not an object")
            << makeFile(header(entry), 16) << std::string("tensor \"w\": expected an object");
        const std::string real = slurp(fixture("multi_dtype.safetensors"));
        // The last tensor in data order is the BOOL one ("mask", 3 bytes).
        QTest::newRow("real file truncated")
            << real.substr(0, real.size() - 2) << std::string("tensor \"mask\": data_offsets");
        QTest::newRow("real file cut in the header")
            << real.substr(0, 100) << std::string("runs past the end of the file");
    }
    void malformed()
    {
        QFETCH(std::string, bytes);
        QFETCH(std::string, expected);
        QTemporaryDir dir;
        const std::string path = dir.filePath("bad.safetensors").toStdString();
        spit(path, bytes);
        for (int fromMemory = 0; fromMemory < 2; ++fromMemory) {
            try {
                if (fromMemory)
                    SafetensorsFile::fromBytes(bytes, path);
                else
                    SafetensorsFile::open(path);
                QFAIL("no error");
            } catch (const tsumugi::ParseError& e) {
                const std::string message = e.what();
                QCOMPARE(e.file(), path);
                QVERIFY2(message.rfind(path, 0) == 0, message.c_str());
                QVERIFY2(message.find(expected) != std::string::npos, message.c_str());
            }
        }
    }

    void emptyTensorsMayShareOffsets()
    {
        const json h = {{"a", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {4, 4}}}},
                        {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}};
        const SafetensorsFile f = SafetensorsFile::fromBytes(makeFile(h.dump(), 8), "mem");
        QCOMPARE(f.view("a").numel(), int64_t(0));
        QCOMPARE(f.view("b").numel(), int64_t(2));
        QVERIFY_THROWS_EXCEPTION(tsumugi::NotFoundError, f.view("c"));
    }

    void misalignedDataIsCopied()
    {
        // One U8 first pushes the F32 to an odd offset; the reference would never write this.
        const json h = {{"u", {{"dtype", "U8"}, {"shape", {1}}, {"data_offsets", {0, 1}}}},
                        {"f", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {1, 9}}}}};
        std::string bytes = makeFile(h.dump(), 1);
        const float values[2] = {1.5f, -2.0f};
        bytes.append(reinterpret_cast<const char*>(values), 8);
        const SafetensorsFile f = SafetensorsFile::fromBytes(bytes, "mem");
        QCOMPARE(f.view("f")[0].item<float>(), 1.5f);
        QCOMPARE(f.view("f")[1].item<float>(), -2.0f);
    }

    void pickleRefused()
    {
        QTemporaryDir dir;
        spit(dir.filePath("pytorch_model.bin").toStdString(), "PK\x03\x04");
        spit(dir.filePath("config.json").toStdString(), "{}");
        try {
            SafetensorsCheckpoint::open(dir.path().toStdString());
            QFAIL("no error");
        } catch (const tsumugi::Error& e) {
            const std::string message = e.what();
            QVERIFY2(message.find("pytorch_model") != std::string::npos, message.c_str());
            QVERIFY2(message.find("save_pretrained(OUT, safe_serialization=True)") != std::string::npos,
                     message.c_str());
        }
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error,
                                 SafetensorsCheckpoint::open(dir.filePath("pytorch_model.bin").toStdString()));
        QTemporaryDir empty;
        QVERIFY_THROWS_EXCEPTION(tsumugi::NotFoundError, SafetensorsCheckpoint::open(empty.path().toStdString()));
    }

    void writerRefusesBadInput()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("x.safetensors").toStdString();
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, writeSafetensors(path, {{"c", at::zeros({2}, at::kComplexFloat)}}));
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error,
                                 writeSafetensors(path, {{"a", at::zeros({2})}, {"a", at::zeros({3})}}));
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, writeSafetensors(path, {{"__metadata__", at::zeros({2})}}));
        QVERIFY(!QFile::exists(dir.filePath("x.safetensors")));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 0);  // no temporary left
    }

    void llamaTable()
    {
        LlamaConfig config = tinyConfig();
        auto table = llamaTensorTable(config);
        QCOMPARE(table.size(), size_t(2 + 9 * config.numHiddenLayers));  // tied: no lm_head
        QCOMPARE(table[0].name, std::string("model.embed_tokens.weight"));
        QCOMPARE(table[0].shape, (std::vector<int64_t>{4096, 128}));
        int64_t params = 0;
        for (const auto& spec : table) {
            int64_t n = 1;
            for (int64_t d : spec.shape) n *= d;
            params += n;
            if (spec.name == "model.layers.2.self_attn.k_proj.weight") {
                QCOMPARE(spec.shape, (std::vector<int64_t>{2 * 32, 128}));  // [Nkv*D, H]
                QVERIFY(spec.weight == LlamaWeight::KProj);
                QCOMPARE(spec.layer, int64_t(2));
            }
        }
        QCOMPARE(params, config.parameterCount());

        config.tieWordEmbeddings = false;
        config.attentionBias = true;
        config.mlpBias = true;
        table = llamaTensorTable(config);
        QCOMPARE(table.size(), size_t(3 + 16 * config.numHiddenLayers));
        QCOMPARE(table.back().name, std::string("lm_head.weight"));
        params = 0;
        for (const auto& spec : table) {
            int64_t n = 1;
            for (int64_t d : spec.shape) n *= d;
            params += n;
        }
        QCOMPARE(params, config.parameterCount());
    }

    void checkpointAgainstConfig()
    {
        LlamaConfig config = tinyConfig();
        config.numHiddenLayers = 2;
        NamedTensors tensors;
        for (const auto& spec : llamaTensorTable(config)) tensors.emplace_back(spec.name, at::zeros(spec.shape));
        tensors.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::zeros({16}));  // tolerated
        QTemporaryDir dir;
        writeSafetensorsCheckpoint(dir.path().toStdString(), tensors);
        checkCheckpoint(SafetensorsCheckpoint::open(dir.path().toStdString()), config, "tiny");

        NamedTensors broken;
        for (auto& [name, t] : tensors) {
            if (name == "model.layers.1.mlp.up_proj.weight") continue;  // missing
            if (name == "model.norm.weight")
                broken.emplace_back(name, at::zeros({config.hiddenSize + 1}));  // wrong shape
            else
                broken.emplace_back(name, t);
        }
        broken.emplace_back("model.layers.7.mlp.up_proj.weight", at::zeros({2}));  // unexpected
        QTemporaryDir dir2;
        writeSafetensorsCheckpoint(dir2.path().toStdString(), broken);
        const auto c = SafetensorsCheckpoint::open(dir2.path().toStdString());
        const CheckpointMismatch m = compareCheckpoint(c, config);
        QCOMPARE(m.missing, std::vector<std::string>{"model.layers.1.mlp.up_proj.weight"});
        QCOMPARE(m.unexpected, std::vector<std::string>{"model.layers.7.mlp.up_proj.weight"});
        QCOMPARE(m.wrongShape, std::vector<std::string>{"model.norm.weight: [129] in the file, [128] expected"});
        try {
            checkCheckpoint(c, config, "dir2");
            QFAIL("no error");
        } catch (const tsumugi::Error& e) {
            const std::string message = e.what();
            QVERIFY2(message.find("model.layers.1.mlp.up_proj.weight") != std::string::npos, message.c_str());
            QVERIFY2(message.find("model.layers.7.mlp.up_proj.weight") != std::string::npos, message.c_str());
            QVERIFY2(message.find("model.norm.weight: [129]") != std::string::npos, message.c_str());
        }
        // An untied config needs lm_head.weight.
        config.tieWordEmbeddings = false;
        const CheckpointMismatch untied =
            compareCheckpoint(SafetensorsCheckpoint::open(dir.path().toStdString()), config);
        QCOMPARE(untied.missing, std::vector<std::string>{"lm_head.weight"});
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
