#include "export/dataset_card.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "datastore/accounts.h"
#include "datastore/consensus.h"
#include "datastore/snapshots.h"
#include "datastore/workspace.h"

namespace tsumugi {

namespace {

std::vector<std::pair<std::string, int64_t>> counts(Workspace& ws, const std::string& sql, int64_t snapshotId)
{
    auto st = ws.db().prepare(sql);
    st.bind(1, snapshotId);
    std::vector<std::pair<std::string, int64_t>> out;
    while (st.step()) out.emplace_back(st.text(0), st.int64(1));
    return out;
}

std::pair<int64_t, int64_t> countAndPeople(Workspace& ws, const std::string& sql, int64_t snapshotId)
{
    auto st = ws.db().prepare(sql);
    st.bind(1, snapshotId);
    if (!st.step()) return {0, 0};
    return {st.int64(0), st.int64(1)};
}

std::string number(int64_t n)
{
    std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string fixed(double v, int digits)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
    return buffer;
}

std::string yamlString(const std::string& s) { return nlohmann::json(s).dump(); }

// Markdown table cells: no line breaks or pipes.
std::string cell(std::string s)
{
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '|') c = ' ';
    return s;
}

std::string listOf(const std::vector<std::pair<std::string, int64_t>>& items)
{
    std::string out;
    for (const auto& [name, n] : items) out += (out.empty() ? "" : ", ") + name + " " + number(n);
    return out.empty() ? "none" : out;
}

struct FormatDoc {
    std::string fields;  // the record layout
    std::string loader;  // which trainer reads it
    std::string task;    // tag for the card
};

FormatDoc formatDoc(Format format, const std::optional<std::string>& textTemplate)
{
    switch (format) {
    case Format::Messages:
        return {"`messages`: a list of `{\"role\": \"system\" | \"user\" | \"assistant\", \"content\": string}`, one "
                "conversation per line.",
                "TRL's `SFTTrainer` reads the `messages` field as a conversational dataset.", "sft"};
    case Format::ShareGpt:
        return {"`conversations`: a list of `{\"from\": \"system\" | \"human\" | \"gpt\", \"value\": string}`, one "
                "conversation per line.",
                "ShareGPT layout, as read by axolotl and LLaMA-Factory (`formatting: sharegpt`).", "sft"};
    case Format::Alpaca:
        return {"`instruction`, `input` (may be empty) and `output` strings.",
                "Alpaca layout, as read by LLaMA-Factory and axolotl (`type: alpaca`).", "sft"};
    case Format::Ichikara:
        return {"`ID`, `text` (the instruction) and `output` (the answer) strings, as in ichikara-instruction.",
                "Map `text`/`output` to prompt/completion for SFT.", "sft"};
    case Format::Text:
        return {"`text`: one conversation rendered with the `" + textTemplate.value_or("?") +
                    "` chat template (no BOS/EOS tokens in the text).",
                "TRL's `SFTTrainer` reads the `text` field as a language-modeling dataset.", "sft"};
    case Format::TrlPreference:
        return {"`prompt`, `chosen`, `rejected`: strings (standard form) or lists of `{\"role\", \"content\"}` "
                "messages (conversational form). One line per preference pair of the consensus ranking.",
                "TRL's `DPOTrainer` and `RewardTrainer` read these fields unchanged.", "preference"};
    case Format::TrlKto:
        return {"`prompt`, `completion` (strings or message lists) and `label` (true for a desirable completion).",
                "TRL's `KTOTrainer` reads these fields unchanged.", "kto"};
    case Format::Oasst:
        return {"One OpenAssistant message tree per line: `message_tree_id`, `tree_state` and `prompt`, a message "
                "node with `message_id`, `parent_id`, `text`, `role` (prompter/assistant), `lang`, `review_count`, "
                "`review_result`, `deleted`, `rank` (0 = best among siblings), `synthetic`, `model_name`, `emojis`, "
                "`labels` ({name: {value, count}}) and `replies`.",
                "OpenAssistant's `oasst_data` reader (`read_message_trees`) and its training code read it.", "sft"};
    case Format::Tree:
        return {"Tsumugi's own tree format: messages with keys and parents, rankings, reviews, labels and tags.",
                "`tsumugi import --format tree` reads it back without loss.", "sft"};
    }
    return {};
}

}  // namespace

std::string hubLicenceId(const SnapshotProvenance& provenance)
{
    static const std::set<std::string> hub = {
        "apache-2.0",  "mit",           "cc0-1.0",         "cc-by-2.0",       "cc-by-3.0",       "cc-by-4.0",
        "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0",    "cc-by-nc-3.0",    "cc-by-nc-4.0",    "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cc-by-nd-4.0", "odc-by",        "odbl",            "pddl",
        "gpl-3.0",     "bsd-3-clause",  "llama2",          "llama3",          "llama3.1",        "gemma",
        "openrail",    "unlicense"};
    std::set<std::string> licences;
    for (const SourceUse& s : provenance.sources) {
        std::string id = s.licence;
        std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
        licences.insert(id);
    }
    if (licences.empty() || (licences.size() == 1 && *licences.begin() == "unspecified")) return "unknown";
    if (licences.size() == 1 && hub.count(*licences.begin())) return *licences.begin();
    return "other";
}

std::string sizeCategory(int64_t records)
{
    static const std::pair<int64_t, const char*> bands[] = {
        {1000LL, "n<1K"},
        {10000LL, "1K<n<10K"},
        {100000LL, "10K<n<100K"},
        {1000000LL, "100K<n<1M"},
        {10000000LL, "1M<n<10M"},
        {100000000LL, "10M<n<100M"},
        {1000000000LL, "100M<n<1B"},
        {10000000000LL, "1B<n<10B"},
        {100000000000LL, "10B<n<100B"},
        {1000000000000LL, "100B<n<1T"},
    };
    for (const auto& [limit, name] : bands)
        if (records < limit) return name;
    return "n>1T";
}

DatasetCardFacts datasetCardFacts(Workspace& ws, const Snapshot& snapshot, const ExportOptions& options,
                                  const ExportReport& report)
{
    DatasetCardFacts f;
    f.prettyName = options.prettyName.empty() ? "Tsumugi snapshot " + snapshot.name : options.prettyName;
    f.format = options.format;
    f.textTemplate = options.textTemplate;
    f.snapshotName = snapshot.name;
    f.snapshotHash = snapshot.contentHash;
    f.snapshotCreatedAt = snapshot.createdAt;
    for (const auto& [split, path] : report.files) {
        const auto slash = path.find_last_of('/');
        f.splitFiles.emplace_back(split, slash == std::string::npos ? path : path.substr(slash + 1));
    }
    for (const auto& [split, n] : report.recordsPerSplit) f.recordsPerSplit.emplace_back(split, n);
    f.trees = report.trees;
    f.skipped = report.skippedPaths;
    f.provenance = report.provenance;
    f.licenceId = options.cardLicence.empty() ? hubLicenceId(report.provenance) : options.cardLicence;
    f.restrictedIncluded = report.restrictedMessages > 0;
    f.extraSections = options.extraCardSections;

    const int64_t id = snapshot.id;
    const std::string items = " FROM snapshot_items si JOIN messages m ON m.id = si.message_id WHERE si.snapshot_id = ? ";
    f.byOrigin = counts(ws, "SELECT m.origin, count(*)" + items + "GROUP BY m.origin ORDER BY m.origin", id);
    f.byRole = counts(ws, "SELECT m.role, count(*)" + items + "GROUP BY m.role ORDER BY m.role", id);
    f.byStatus = counts(ws, "SELECT m.status, count(*)" + items + "GROUP BY m.status ORDER BY m.status", id);
    for (const auto& [_, n] : f.byRole) f.messages += n;
    f.authors = countAndPeople(ws,
                               "SELECT count(DISTINCT m.author_id), 0" + items +
                                   "AND m.author_id NOT IN (SELECT id FROM accounts WHERE role = 'service')",
                               id)
                    .first;
    std::tie(f.rankings, f.rankers) = countAndPeople(
        ws,
        "SELECT count(*), count(DISTINCT r.annotator_id) FROM snapshot_rankings sr JOIN rankings r ON r.id = "
        "sr.ranking_id WHERE sr.snapshot_id = ?",
        id);
    std::tie(f.reviews, f.reviewers) = countAndPeople(
        ws,
        "SELECT count(*), count(DISTINCT rv.reviewer_id) FROM snapshot_items si JOIN reviews rv ON rv.message_id = "
        "si.message_id AND rv.revision = si.revision WHERE si.snapshot_id = ?",
        id);
    std::tie(f.labels, f.labellers) = countAndPeople(
        ws,
        "SELECT count(*), count(DISTINCT l.annotator_id) FROM snapshot_items si JOIN labels l ON l.message_id = "
        "si.message_id WHERE si.snapshot_id = ?",
        id);

    // Kendall's τ-b per pair of rankers, over the snapshot's rankings.
    const std::vector<int64_t> rankingIds = snapshotRankingIds(ws, id);
    for (const PairAgreement& p : rankingAgreement(ws, rankingIds))
        f.rankingAgreement.push_back({accountById(ws, p.annotatorA).name + " ~ " + accountById(ws, p.annotatorB).name,
                                      p.sharedItems, p.tau});
    // Krippendorff's α per label over the snapshot's messages (nominal for 0/1 flags).
    for (const LabelAgreement& a : labelAgreement(ws, id)) f.labelAgreement.push_back({a.name, a.units, a.alpha});
    return f;
}

std::string renderDatasetCard(const DatasetCardFacts& f)
{
    int64_t records = 0;
    for (const auto& [_, n] : f.recordsPerSplit) records += n;
    const FormatDoc doc = formatDoc(f.format, f.textTemplate);
    std::string out;

    // The YAML header the Hub reads.
    out += "---\n";
    out += "license: " + f.licenceId + "\n";
    out += "language:\n- ja\n";
    out += "task_categories:\n- text-generation\n";
    out += "size_categories:\n- " + sizeCategory(records) + "\n";
    out += "pretty_name: " + yamlString(f.prettyName) + "\n";
    out += "tags:\n- tsumugi\n- " + doc.task + "\n- " + std::string(formatName(f.format)) + "\n";
    out += "configs:\n- config_name: default\n  data_files:\n";
    for (const auto& [split, file] : f.splitFiles)
        out += "  - split: " + yamlString(split) + "\n    path: " + yamlString(file) + "\n";
    out += "---\n\n";

    out += "# " + f.prettyName + "\n\n";
    std::string splits;
    for (const auto& [split, n] : f.recordsPerSplit) splits += (splits.empty() ? "" : ", ") + split + " " + number(n);
    out += "Japanese instruction data exported by Tsumugi from the snapshot `" + f.snapshotName + "` in the `" +
           std::string(formatName(f.format)) + "` format: " + number(records) + " records (" +
           (splits.empty() ? "none" : splits) + ") from " + number(f.trees) + " conversation trees holding " +
           number(f.messages) + " messages.";
    if (f.skipped > 0)
        out += " " + number(f.skipped) + " conversations the format cannot hold were left out.";
    out += "\n\n";

    out += "## Loading\n\n```python\nfrom datasets import load_dataset\n\nds = load_dataset(\"json\", data_files={";
    for (size_t i = 0; i < f.splitFiles.size(); ++i)
        out += (i ? ", " : "") + yamlString(f.splitFiles[i].first) + ": " + yamlString(f.splitFiles[i].second);
    out += "})\n```\n\n" + doc.loader + "\n\n";
    out += "## Fields\n\n" + doc.fields + "\n\n";

    out += "## How the data was collected\n\n";
    std::map<std::string, int64_t> origin(f.byOrigin.begin(), f.byOrigin.end());
    out += "- Messages written by people: " + number(origin["human"]) + "; imported from data sets that do not say "
           "who wrote them: " + number(origin["import"]) + "; generated by a model: " + number(origin["model"]) + ".\n";
    out += "- By role: " + listOf(f.byRole) + ". By status when exported: " + listOf(f.byStatus) + ".\n";
    out += "- " + number(f.authors) + " accounts wrote messages (imports counted under the importing service account "
           "are not included).\n\n";

    out += "## Annotation\n\n";
    out += "- Rankings of candidate replies: " + number(f.rankings) + " by " + number(f.rankers) + " annotators";
    out += " (a ranking stated by an imported data set is recorded as the account `source:NAME`).\n";
    out += "- Reviews of the exported revisions: " + number(f.reviews) + " by " + number(f.reviewers) + " reviewers.\n";
    out += "- Labels: " + number(f.labels) + " by " + number(f.labellers) + " annotators.\n\n";

    out += "## Agreement\n\n";
    if (f.rankingAgreement.empty()) {
        out += "No two annotators ranked the same replies in this snapshot, so there is no ranking agreement figure.\n";
    } else {
        out += "Kendall's τ-b between annotators, pooled over the parents both ranked (1 = same order, -1 = "
               "reversed):\n\n| annotators | shared parents | τ-b |\n|---|---|---|\n";
        for (const CardAgreement& a : f.rankingAgreement)
            out += "| " + cell(a.between) + " | " + number(a.items) + " | " +
                   (a.value ? fixed(*a.value, 3) : std::string("undefined (all tied)")) + " |\n";
    }
    out += "\n";
    if (f.labelAgreement.empty()) {
        out += "No labels were given to the exported messages, so there is no label agreement figure.\n\n";
    } else {
        out += "Krippendorff's α per label over the exported messages (nominal for 0/1 flags, interval for scales):"
               "\n\n| label | messages with two or more values | α |\n|---|---|---|\n";
        for (const CardAgreement& a : f.labelAgreement)
            out += "| " + cell(a.between) + " | " + number(a.items) + " | " +
                   (a.value ? fixed(*a.value, 3) : std::string("undefined (no pairable values or no variation)")) +
                   " |\n";
        out += "\n";
    }

    out += "## Sources and licences\n\n";
    out += "| source | licence | redistributable | messages |\n|---|---|---|---|\n";
    for (const SourceUse& s : f.provenance.sources)
        out += "| " + cell(s.url ? "[" + s.name + "](" + *s.url + ")" : s.name) + " | " + cell(s.licence) + " | " +
               (s.redistributable ? "yes" : "no") + " | " + number(s.messages) + " |\n";
    if (f.provenance.workspaceMessages > 0)
        out += "| written in the workspace | chosen by the workspace's owner | yes | " +
               number(f.provenance.workspaceMessages) + " |\n";
    out += "\nThe card's `license` is `" + f.licenceId + "`";
    out += f.licenceId == "other" ? ": the sources' licences differ or are not Hub licence ids; see the table.\n"
           : f.licenceId == "unknown" ? ": no licence was given when the data was imported.\n"
                                      : ".\n";
    if (f.restrictedIncluded) {
        out += "\n**Restricted:** this export holds messages from sources whose licence does not allow "
               "redistribution (";
        std::string names;
        for (const SourceUse& s : f.provenance.sources)
            if (!s.redistributable) names += (names.empty() ? "" : ", ") + s.name + " — " + s.licence;
        out += names + "). It was written with `--allow-restricted` for use inside the licence's terms; do not "
                       "upload or share it.\n";
    }
    out += "\n";

    for (const auto& [title, body] : f.extraSections) out += "## " + title + "\n\n" + body + "\n\n";

    out += "## Snapshot\n\n";
    out += "- Name: `" + f.snapshotName + "`, made " + f.snapshotCreatedAt + ".\n";
    out += "- Content hash (SHA-256 over items, revisions, text hashes, splits and ranking ids): `" + f.snapshotHash +
           "`. Training runs that used this snapshot record the same hash.\n";
    return out;
}

}  // namespace tsumugi
