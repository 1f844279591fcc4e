// Data commands: import, export, search.
#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/utf8.h"
#include "datastore/search.h"
#include "datastore/workspace.h"
#include "export/exporter.h"
#include "export/importer.h"
#include "tokenizer/chat.h"

namespace tsumugi::cli {

using ojson = nlohmann::ordered_json;

namespace {

std::string formatList()
{
    std::string out;
    for (Format f : allFormats()) out += (out.empty() ? "" : ", ") + std::string(formatName(f));
    return out;
}

std::string templateList()
{
    std::string out;
    for (const std::string& n : tok::ChatTemplate::namedTemplates()) out += (out.empty() ? "" : ", ") + n;
    return out;
}

void addImport(CLI::App& app)
{
    struct Options {
        std::string ws, file, format = "messages", status = "approved", source, licence, url, rejects, textTemplate;
        std::vector<std::string> tags;
        bool redistributable = false, skipInvalid = false;
        size_t maxLineBytes = 4 << 20;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("import", "Import a JSONL file (.jsonl, .jsonl.gz, .jsonl.zst) in one transaction");
    cmd->add_option("workspace", o->ws)->required();
    cmd->add_option("file", o->file)->required();
    cmd->add_option("--format", o->format, formatList())->capture_default_str();
    cmd->add_option("--template", o->textTemplate, "The text format: the chat template its texts use (" + templateList() + ")");
    cmd->add_option("--tag", o->tags, "Tag every imported message (repeatable)");
    cmd->add_option("--source", o->source, "Name of the data source (provenance; default: the file's name)");
    cmd->add_option("--licence,--license", o->licence, "Licence of the source, e.g. CC-BY-SA-4.0");
    cmd->add_option("--url", o->url, "Where the source came from");
    cmd->add_flag("--redistributable", o->redistributable,
                  "The licence allows redistribution (otherwise exports of this data need --allow-restricted)");
    cmd->add_option("--status", o->status, "approved (train as is), submitted (send through review) or draft")
        ->capture_default_str();
    cmd->add_flag("--skip-invalid", o->skipInvalid, "Import the valid lines; write rejected ones to FILE.rejects.jsonl");
    cmd->add_option("--rejects", o->rejects, "Where --skip-invalid writes rejected lines");
    cmd->add_option("--max-line-bytes", o->maxLineBytes, "Longest line accepted")->capture_default_str();
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->ws, true);
        const Account actor = actingAccount(ws);
        ImportOptions options;
        options.format = parseFormat(o->format);
        options.tags = o->tags;
        if (!o->source.empty()) options.sourceName = o->source;
        if (!o->licence.empty()) options.licence = o->licence;
        if (!o->url.empty()) options.sourceUrl = o->url;
        options.redistributable = o->redistributable;
        options.status = parseStatus(o->status);
        options.skipInvalid = o->skipInvalid;
        options.rejectsPath = o->rejects;
        options.maxLineBytes = o->maxLineBytes;
        if (!o->textTemplate.empty()) options.textTemplate = o->textTemplate;
        const auto start = std::chrono::steady_clock::now();
        options.progress = [start](int64_t records, uint64_t bytes) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            progress("importing: " + humanCount(records) + " records, " + std::to_string(bytes >> 20) + " MiB, " +
                     humanCount(static_cast<int64_t>(records / std::max(s, 1e-3))) + " records/s");
            emit({{"event", "progress"}, {"records", records}, {"bytes", bytes}, {"seconds", s}});
        };
        const ImportReport r = importFile(ws, actor, o->file, options);
        endProgress();
        const double total = r.insertSeconds + r.indexSeconds;
        say("imported " + humanCount(r.records) + " records (" + humanCount(r.messages) + " messages) from " +
            o->file + " in " + std::to_string(total).substr(0, 5) + " s");
        if (r.rankings || r.reviews || r.labels)
            say("  with " + humanCount(r.rankings) + " rankings, " + humanCount(r.reviews) + " reviews, " +
                humanCount(r.labels) + " labels");
        if (r.rejected) say("  rejected " + humanCount(r.rejected) + " lines, with reasons, in " + r.rejectsPath);
        if (o->source.empty())
            say("  recorded as source '" + r.sourceName + "' with licence 'unspecified'" +
                (o->redistributable ? "" : ", not redistributable: exports of it need --allow-restricted") +
                " (name the source with --source and --licence)");
        emit({{"event", "import"}, {"file", o->file}, {"source", r.sourceName}, {"records", r.records}, {"messages", r.messages},
              {"rankings", r.rankings}, {"reviews", r.reviews}, {"labels", r.labels}, {"rejected", r.rejected},
              {"rejects", r.rejectsPath}, {"insert_seconds", r.insertSeconds}, {"index_seconds", r.indexSeconds}});
    });
}

void addExport(CLI::App& app)
{
    struct Options {
        std::string ws, out, format = "messages", snapshot, compress = "none", textTemplate, prettyName, cardLicence;
        bool hfDataset = false, allowRestricted = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("export", "Export a snapshot, one file per split (OUT/train.jsonl, …)");
    cmd->add_option("workspace", o->ws)->required();
    cmd->add_option("out", o->out, "Output folder")->required();
    cmd->add_option("--format", o->format, formatList())->capture_default_str();
    cmd->add_option("--snapshot", o->snapshot, "The snapshot to export")->required();
    cmd->add_option("--compress", o->compress, "none, gz or zst")->capture_default_str();
    cmd->add_option("--template", o->textTemplate, "The text format: the chat template to render with (" + templateList() + ")");
    cmd->add_flag("--hf-dataset", o->hfDataset, "Write a Hugging Face dataset folder: the split files and README.md, the dataset card");
    cmd->add_flag("--allow-restricted", o->allowRestricted,
                  "Export messages of sources not marked redistributable (the card says so); only where their licence allows");
    cmd->add_option("--pretty-name", o->prettyName, "The dataset card's title");
    cmd->add_option("--card-licence,--card-license", o->cardLicence, "The dataset card's license id (default: from the sources)");
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->ws, false);
        ExportOptions options;
        options.format = parseFormat(o->format);
        options.snapshot = o->snapshot;
        options.outDir = o->out;
        if (!o->textTemplate.empty()) options.textTemplate = o->textTemplate;
        options.hfDataset = o->hfDataset;
        options.allowRestricted = o->allowRestricted;
        options.prettyName = o->prettyName;
        options.cardLicence = o->cardLicence;
        if (o->compress == "gz") options.extension = ".jsonl.gz";
        else if (o->compress == "zst") options.extension = ".jsonl.zst";
        else if (o->compress != "none") throw Error("--compress must be none, gz or zst");
        options.progress = [](int64_t records) { progress("exporting: " + humanCount(records) + " records"); };
        const ExportReport r = exportSnapshot(ws, options);
        endProgress();
        ojson j = {{"event", "export"}, {"snapshot", o->snapshot}, {"format", o->format}, {"trees", r.trees},
                   {"skipped", r.skippedPaths}};
        for (const auto& [split, count] : r.recordsPerSplit) {
            say(r.files.at(split) + ": " + humanCount(count) + " records");
            j["files"][split] = {{"path", r.files.at(split)}, {"records", count}};
        }
        if (r.skippedPaths)
            say("  left out " + humanCount(r.skippedPaths) + " conversations the " + o->format +
                " format cannot hold (multi-turn for alpaca and ichikara, unranked for trl-preference, of unknown "
                "desirability for trl-kto, or ending without an answer)");
        if (r.restrictedMessages)
            say("  holds " + humanCount(r.restrictedMessages) +
                " messages of sources not marked redistributable (--allow-restricted): keep it inside their licence");
        if (!r.cardPath.empty()) {
            say(r.cardPath + ": dataset card");
            j["card"] = r.cardPath;
        }
        j["restricted_messages"] = r.restrictedMessages;
        emit(j);
    });
}

std::string snippet(const std::string& text, const std::string& query, size_t context = 24)
{
    size_t at = query.empty() ? 0 : text.find(query);
    if (at == std::string::npos) at = 0;
    // Walk code points around the match.
    std::vector<size_t> starts;
    for (size_t pos = 0; pos < text.size();) {
        starts.push_back(pos);
        utf8::next(text, pos);
    }
    starts.push_back(text.size());
    const size_t index = static_cast<size_t>(std::lower_bound(starts.begin(), starts.end(), at) - starts.begin());
    const size_t qlen = utf8::length(query);
    const size_t from = index > context ? index - context : 0;
    const size_t to = std::min(starts.size() - 1, index + qlen + context);
    std::string out = (from ? "…" : "") + text.substr(starts[from], starts[to] - starts[from]) +
                      (to + 1 < starts.size() ? "…" : "");
    for (char& c : out)
        if (c == '\n' || c == '\t') c = ' ';
    return out;
}

void addSearch(CLI::App& app)
{
    struct Options {
        std::string ws, query, role, tag, author, from, to;
        std::vector<std::string> statuses;
        int limit = 20;
        int64_t before = 0;
        bool ignoreCase = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("search", "Substring search (any length, case-sensitive), newest first");
    cmd->add_option("workspace", o->ws)->required();
    cmd->add_option("query", o->query, "Text to find (empty: filters only)");
    cmd->add_option("--status", o->statuses, "Only these statuses (repeatable; default: all but deleted)")
        ->delimiter(',');
    cmd->add_option("--role", o->role, "system, user or assistant");
    cmd->add_option("--tag", o->tag, "Only messages with this tag");
    cmd->add_option("--author", o->author, "Only messages by this account");
    cmd->add_option("--from", o->from, "Created at or after (e.g. 2026-11-01)");
    cmd->add_option("--to", o->to, "Created before");
    cmd->add_option("--limit", o->limit, "Results per page")->capture_default_str();
    cmd->add_option("--before", o->before, "Next page: results older than this message id");
    cmd->add_flag("-i,--ignore-case", o->ignoreCase, "Fold ASCII letter case");
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->ws, false);
        SearchQuery q;
        q.text = o->query;
        q.ignoreCase = o->ignoreCase;
        for (const auto& s : o->statuses) q.statuses.push_back(parseStatus(s));
        if (!o->role.empty()) q.role = parseMessageRole(o->role);
        if (!o->tag.empty()) q.tag = o->tag;
        if (!o->author.empty()) {
            auto account = findAccount(ws, o->author);
            if (!account) throw NotFoundError("no account named '" + o->author + "'");
            q.authorId = account->id;
        }
        if (!o->from.empty()) q.createdFrom = o->from;
        if (!o->to.empty()) q.createdTo = o->to;
        if (o->before > 0) q.beforeId = o->before;
        q.limit = o->limit;
        const SearchPage page = searchMessages(ws, q);
        for (int64_t id : page.ids) {
            const Message m = getMessage(ws, id);
            say(std::to_string(id) + "\t" + std::string(messageRoleName(m.role)) + "\t" +
                std::string(statusName(m.status)) + "\t" + snippet(m.text, o->query));
            emit({{"id", id}, {"tree_id", m.treeId}, {"role", messageRoleName(m.role)},
                  {"status", statusName(m.status)}, {"text", m.text}});
        }
        if (page.ids.empty()) say("no messages match");
        if (page.nextBeforeId) say("more: add --before " + std::to_string(*page.nextBeforeId));
        ojson end = {{"event", "search.end"}, {"count", page.ids.size()}};
        end["next_before"] = page.nextBeforeId ? ojson(*page.nextBeforeId) : ojson(nullptr);
        emit(end);
    });
}

}  // namespace

void addDataCommands(CLI::App& app)
{
    addImport(app);
    addExport(app);
    addSearch(app);
}

}  // namespace tsumugi::cli
