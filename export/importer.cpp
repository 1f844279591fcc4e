#include "export/importer.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/labels.h"
#include "datastore/queue.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"
#include "datastore/sources.h"
#include "datastore/tags.h"
#include "datastore/workspace.h"
#include "export/jsonl.h"
#include "export/text_template.h"
#include "tokenizer/chat.h"

namespace tsumugi {

namespace {

// A parsed line, a line to reject, or the end of the file.
struct Parsed {
    int64_t line = 0;
    std::optional<Record> record;
    std::string error;  // set when the line is bad
    std::string raw;    // kept for the rejects file
    std::exception_ptr failure;
};

struct Batch {
    std::vector<Parsed> items;
    uint64_t bytes = 0;
    bool last = false;
    std::exception_ptr failure;
};

// Parsing runs on its own thread while this one writes rows: the two overlap.
class ParserThread {
public:
    ParserThread(const std::string& path, const ImportOptions& options, const TextTemplate* textTemplate)
        : m_reader(path, options.maxLineBytes), m_options(options), m_textTemplate(textTemplate),
          m_thread([this] { run(); })
    {
    }
    ~ParserThread()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }

    Batch take()
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_queue.empty(); });
        Batch b = std::move(m_queue.front());
        m_queue.pop_front();
        m_cv.notify_all();
        return b;
    }

private:
    void push(Batch&& b)
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] { return m_queue.size() < 8 || m_stop; });
        m_queue.push_back(std::move(b));
        m_cv.notify_all();
    }

    void run()
    {
        Batch batch;
        try {
            JsonlReader::Line line;
            while (m_reader.next(line)) {
                if (stopped()) return;
                if (line.tooLong) {
                    const ParseError tooLong(m_reader.path(), line.number, 0,
                                             "the line is " + std::to_string(line.bytes) +
                                                 " bytes, longer than the limit of " +
                                                 std::to_string(m_options.maxLineBytes) +
                                                 " bytes; raise it with --max-line-bytes if the record is meant "
                                                 "to be this long");
                    batch.items.push_back(
                        {line.number, std::nullopt, tooLong.what(), "", std::make_exception_ptr(tooLong)});
                } else if (line.text.find_first_not_of(" \t") != std::string::npos) {
                    Parsed p{line.number, std::nullopt, "", "", nullptr};
                    if (m_options.skipInvalid) p.raw = line.text;
                    try {
                        p.record = m_fast.parse(m_options.format, line.text);
                        if (!p.record)
                            p.record = parseRecord(m_options.format, line.text, m_reader.path(), line.number,
                                                   m_textTemplate);
                    } catch (const ParseError& e) {
                        p.error = e.what();
                        p.failure = std::current_exception();
                    }
                    batch.items.push_back(std::move(p));
                }
                if (batch.items.size() >= 512) {
                    batch.bytes = m_reader.position();
                    push(std::move(batch));
                    batch = Batch{};
                }
            }
        } catch (...) {
            batch.failure = std::current_exception();
        }
        batch.bytes = m_reader.position();
        batch.last = true;
        push(std::move(batch));
    }

    bool stopped()
    {
        std::lock_guard lock(m_mutex);
        return m_stop;
    }

    JsonlReader m_reader;
    FastRecordParser m_fast;
    const ImportOptions& m_options;
    const TextTemplate* m_textTemplate;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Batch> m_queue;
    bool m_stop = false;
    std::thread m_thread;
};

class RecordWriter {
public:
    RecordWriter(Workspace& ws, const Account& actor, const ImportOptions& options, BulkInsert& bulk,
                 int64_t sourceId, std::string sourceJudge, std::vector<int64_t> tagIds)
        : m_ws(ws), m_actor(actor), m_options(options), m_bulk(bulk), m_sourceId(sourceId),
          m_sourceJudge(std::move(sourceJudge)), m_tagIds(std::move(tagIds))
    {
    }

    // Inserts the messages of one record; returns their ids, in node order.
    const std::vector<int64_t>& insertMessages(const Record& r)
    {
        m_ids.clear();
        m_recordTags.clear();
        for (const std::string& t : r.tags) m_recordTags.push_back(tagId(t));
        m_now = m_ws.now();
        BulkRow row;
        row.sourceId = m_sourceId;
        for (const RecordNode& n : r.nodes) {
            row.parentId = n.parent >= 0 ? std::optional<int64_t>(m_ids[static_cast<size_t>(n.parent)]) : std::nullopt;
            row.treeId = m_ids.empty() ? 0 : m_ids.front();
            row.role = n.role;
            row.text = n.text;
            row.status = n.status.value_or(m_options.status);
            row.origin = n.origin.value_or(m_options.format == Format::Tree ? Origin::Human : Origin::Import);
            m_meta = n.meta.empty() ? std::string() : n.meta.dump();
            row.metaJson = m_meta;
            row.authorId = n.author ? accountId(*n.author) : m_actor.id;
            const int64_t id = m_bulk.add(row, m_now);
            for (int64_t tag : m_tagIds) m_bulk.tag(id, tag);
            for (int64_t tag : m_recordTags) m_bulk.tag(id, tag);
            m_ids.push_back(id);
        }
        return m_ids;
    }

    // Rankings, reviews and labels go through the datastore's own checks.
    void insertJudgements(const Record& r, const std::vector<int64_t>& ids, ImportReport& report)
    {
        for (const RecordReview& rv : r.reviews) {
            NewReview review;
            review.messageId = ids[static_cast<size_t>(rv.message)];
            review.revision = 1;
            review.verdict = rv.verdict;
            review.comment = rv.comment;
            review.reviewerId = accountId(rv.reviewer);
            review.recordOnly = true;
            submitReview(m_ws, m_actor, review);
            ++report.reviews;
        }
        for (const RecordRanking& rk : r.rankings) {
            NewRanking ranking;
            ranking.parentId = ids[static_cast<size_t>(rk.parent)];
            ranking.verdict = rk.verdict;
            ranking.reason = rk.reason;
            ranking.annotatorId = accountId(rk.annotator.empty() ? m_sourceJudge : rk.annotator);
            for (const auto& g : rk.groups) {
                ranking.groups.emplace_back();
                for (int node : g) ranking.groups.back().push_back(ids[static_cast<size_t>(node)]);
            }
            submitRanking(m_ws, m_actor, ranking);
            ++report.rankings;
        }
        for (const RecordLabel& lb : r.labels) {
            setLabel(m_ws, m_actor, ids[static_cast<size_t>(lb.message)], lb.name, lb.value,
                     accountId(lb.annotator.empty() ? m_sourceJudge : lb.annotator));
            ++report.labels;
        }
    }

private:
    int64_t accountId(const std::string& name)
    {
        auto it = m_accounts.find(name);
        if (it != m_accounts.end()) return it->second;
        const int64_t id = ensureAccount(m_ws, m_actor, name).id;
        m_accounts.emplace(name, id);
        return id;
    }

    int64_t tagId(const std::string& name)
    {
        auto it = m_tags.find(name);
        if (it != m_tags.end()) return it->second;
        const int64_t id = ensureTag(m_ws, name);
        m_tags.emplace(name, id);
        return id;
    }

    Workspace& m_ws;
    const Account& m_actor;
    const ImportOptions& m_options;
    BulkInsert& m_bulk;
    int64_t m_sourceId;
    std::string m_sourceJudge;
    std::vector<int64_t> m_tagIds;
    std::map<std::string, int64_t> m_accounts;
    std::map<std::string, int64_t> m_tags;
    std::vector<int64_t> m_ids;
    std::vector<int64_t> m_recordTags;
    std::string m_now;
    std::string m_meta;
};

std::string joinedTemplateNames()
{
    std::string out;
    for (const std::string& n : tok::ChatTemplate::namedTemplates()) out += (out.empty() ? "" : ", ") + n;
    return out;
}

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string sourceJudgeName(const std::string& sourceName)
{
    std::string name = "source:";
    for (unsigned char c : sourceName) name += c < 0x21 || c == 0x7F ? '_' : static_cast<char>(c);
    // Account names hold at most 64 bytes; cut at a character boundary.
    if (name.size() > 64) {
        size_t cut = 64;
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
        name.resize(cut);
    }
    return name;
}

ImportReport importFile(Workspace& ws, const Account& actor, const std::string& path, const ImportOptions& options)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "import data (use the service account: --as tsumugi)");
    if (options.status != Status::Approved && options.status != Status::Submitted && options.status != Status::Draft)
        throw Error("--status must be approved, submitted or draft");
    if (options.sourceName.has_value() != options.licence.has_value())
        throw Error("give --source and --licence together: provenance needs both");
    std::optional<TextTemplate> textTemplate;
    if (options.format == Format::Text) {
        if (!options.textTemplate)
            throw Error("the text format needs the chat template its texts were written with: give --template NAME (" +
                        joinedTemplateNames() + ")");
        textTemplate.emplace(*options.textTemplate);
    }

    ImportReport report;
    const auto start = std::chrono::steady_clock::now();
    db::Transaction tx(ws.db());
    const std::string sourceName = options.sourceName.value_or(std::filesystem::path(path).filename().string());
    const int64_t sourceId = ensureSource(ws, actor, sourceName, options.licence.value_or(std::string(kUnspecifiedLicence)),
                                          options.redistributable, options.sourceUrl)
                                 .id;
    report.sourceName = sourceName;
    std::vector<int64_t> tagIds;
    for (const std::string& t : options.tags) tagIds.push_back(ensureTag(ws, t));

    // Flat formats may be large: let the bulk insert rebuild the message indexes afterwards
    // when the file is big for the workspace (about 200 bytes a message). Tree records run
    // the datastore's checks per record, which need the indexes in place.
    std::error_code sizeError;
    const auto fileBytes = std::filesystem::file_size(path, sizeError);
    const int64_t expectedRows =
        formatHasJudgements(options.format) || sizeError ? 0 : static_cast<int64_t>(fileBytes / 200);
    BulkInsert bulk(ws, actor, expectedRows);
    RecordWriter writer(ws, actor, options, bulk, sourceId, sourceJudgeName(sourceName), tagIds);
    std::optional<JsonlWriter> rejects;
    const std::string rejectsPath = options.rejectsPath.empty() ? path + ".rejects.jsonl" : options.rejectsPath;
    auto reject = [&](const Parsed& p, const std::string& reason) {
        if (!rejects) rejects.emplace(rejectsPath);
        ojson line = {{"line", p.line}, {"error", reason}};
        if (!p.raw.empty()) line["text"] = p.raw;
        rejects->writeLine(line.dump());
        ++report.rejected;
    };

    {
        ParserThread parser(path, options, textTemplate ? &*textTemplate : nullptr);
        std::vector<std::pair<const Record*, std::vector<int64_t>>> withJudgements;
        while (true) {
            Batch batch = parser.take();
            if (batch.failure) std::rethrow_exception(batch.failure);
            for (Parsed& p : batch.items) {
                if (!p.record) {
                    if (!options.skipInvalid) std::rethrow_exception(p.failure);
                    reject(p, p.error);
                    continue;
                }
                const bool judged = !p.record->rankings.empty() || !p.record->reviews.empty() ||
                                    !p.record->labels.empty();
                if (!judged) {
                    writer.insertMessages(*p.record);
                } else {
                    // A record whose rankings fail the datastore's checks is rejected whole.
                    db::Transaction record(ws.db());
                    try {
                        const std::vector<int64_t> ids = writer.insertMessages(*p.record);
                        writer.insertJudgements(*p.record, ids, report);
                        record.commit();
                    } catch (const Error& e) {
                        if (!options.skipInvalid) throw ParseError(path, p.line, 0, e.what());
                        reject(p, path + ":" + std::to_string(p.line) + ": " + e.what());
                        continue;
                    }
                }
                ++report.records;
            }
            if (options.progress) options.progress(report.records, batch.bytes);
            if (batch.last) break;
        }
    }
    if (report.records == 0 && report.rejected == 0)
        throw ParseError(path, 0, 0, "the file holds no records (it is empty or only blank lines)");
    report.messages = bulk.count();
    report.firstMessageId = bulk.firstId();
    report.insertSeconds = secondsSince(start);
    const auto indexStart = std::chrono::steady_clock::now();
    bulk.finish("import", ojson({{"file", path},
                                 {"format", formatName(options.format)},
                                 {"records", report.records},
                                 {"messages", report.messages},
                                 {"rejected", report.rejected}})
                              .dump());
    if (rejects) {
        rejects->commit();
        report.rejectsPath = rejectsPath;
    }
    tx.commit();
    report.indexSeconds = secondsSince(indexStart);
    return report;
}

}  // namespace tsumugi
