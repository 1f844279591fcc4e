// Quality commands: check (Japanese quality, PII, near duplicates), contamination, settings.
#include <CLI/CLI.hpp>

#include <memory>
#include <set>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "datastore/quality/workspace_checks.h"
#include "datastore/settings.h"
#include "datastore/workspace.h"

namespace tsumugi::cli {

using ojson = nlohmann::ordered_json;

namespace {

std::string percent(double share) { return std::to_string(share * 100).substr(0, share >= 0.1 ? 4 : 3) + "%"; }

std::string oneLine(std::string text, size_t maxBytes = 60)
{
    for (char& c : text)
        if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    if (text.size() <= maxBytes) return text;
    size_t cut = maxBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return text.substr(0, cut) + "…";
}

void addCheck(CLI::App& app)
{
    struct Options {
        std::string ws, snapshot;
        std::vector<std::string> incoming;
        bool all = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("check", "Japanese quality, PII, NG words and near duplicates of every message");
    cmd->add_option("workspace", o->ws)->required();
    cmd->add_option("--snapshot", o->snapshot, "Check a snapshot's frozen texts instead of the workspace");
    cmd->add_option("--import", o->incoming,
                    "Also report texts of this JSONL file that duplicate workspace messages (repeatable)");
    cmd->add_flag("--all", o->all, "List every item with a warning, not only the first 20");
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->ws, false);
        const quality::QualityConfig config = quality::qualityConfig(ws);
        const auto items =
            quality::loadItems(ws, o->snapshot.empty() ? std::nullopt : std::optional<std::string>(o->snapshot));
        const quality::NgWordMatcher ng(config.ngWords);
        size_t listed = 0;
        const auto summary = quality::checkItems(items, config, [&](const quality::ItemReport& r) {
            if (context().json) {
                ojson j = {{"event", "item"}, {"id", r.item->id}, {"tree_id", r.item->treeId},
                           {"role", messageRoleName(r.item->role)}};
                const ojson report = quality::reportJson(r.report, ng);
                for (auto it = report.begin(); it != report.end(); ++it) j[it.key()] = *it;
                if (r.language)
                    j["language"] = {{"prompt", r.language->promptLanguage}, {"answer", r.language->answerLanguage},
                                     {"mismatch", r.language->mismatch}};
                emit(j);
                return;
            }
            if (!r.warns() || (!o->all && listed >= 20)) return;
            ++listed;
            std::string what;
            for (const auto& f : r.report.failures) what += " " + f.rule;
            for (const auto& p : r.report.pii) what += " pii:" + std::string(quality::piiKindName(p.kind));
            for (const auto& m : r.report.ngWords) what += " ng:" + ng.words()[m.word];
            if (!r.report.brackets.empty()) what += " brackets";
            if (!r.report.width.empty()) what += " width";
            if (r.language && r.language->mismatch)
                what += " language:" + r.language->promptLanguage + "→" + r.language->answerLanguage;
            say("  #" + std::to_string(r.item->id) + " (" + std::string(messageRoleName(r.item->role)) + "):" + what +
                "  " + oneLine(r.item->text));
        });

        const auto& t = summary.totals;
        say("checked " + humanCount(int64_t(summary.items)) + " messages, " + humanCount(int64_t(t.chars)) +
            " characters; " + humanCount(int64_t(summary.itemsWithWarnings)) + " with warnings");
        if (!context().json && listed < summary.itemsWithWarnings)
            say("  (" + std::to_string(summary.itemsWithWarnings - listed) + " more; --all lists them, --json gives every item)");
        std::string shares;
        for (size_t k = 0; k < quality::kCharClassCount; ++k)
            shares += std::string(k ? ", " : "") + std::string(quality::charClassName(quality::CharClass(k))) + " " +
                      percent(t.share(quality::CharClass(k)));
        say("characters: " + shares);
        say("Swallow fractions over all text: hiragana " + percent(t.hiraganaFraction()) + ", katakana " +
            percent(t.katakanaFraction()) + ", Japanese " + percent(t.japaneseFraction()));
        for (const auto& [rule, n] : summary.failures) say("threshold " + rule + ": " + humanCount(int64_t(n)) + " messages");
        for (const auto& [kind, n] : summary.pii) say("pii " + kind + ": " + humanCount(int64_t(n)) + " findings");
        say("NG words in " + std::to_string(summary.ngWordItems) + ", unbalanced brackets in " +
            std::to_string(summary.bracketItems) + ", mixed widths in " + std::to_string(summary.widthItems) +
            ", NFKC differences in " + std::to_string(summary.nfkcItems) + " messages; " +
            std::to_string(summary.languageMismatches) + " answers in another language than their prompt");
        say("duplicate clusters: " + std::to_string(summary.clusters.size()) + " (threshold " +
            std::to_string(config.thresholds.nearDuplicateThreshold).substr(0, 4) + ")");
        for (const auto& c : summary.clusters) {
            std::string ids;
            for (int64_t id : c.ids) ids += (ids.empty() ? "#" : ", #") + std::to_string(id);
            say("  " + std::string(c.exact ? "exact" : "near ") + " " + std::string(messageRoleName(c.role)) + ": " + ids);
            ojson cj = {{"event", "cluster"}, {"role", messageRoleName(c.role)}, {"ids", c.ids}, {"exact", c.exact},
                        {"min_jaccard", c.minJaccard}};
            emit(cj);
        }
        for (const std::string& file : o->incoming) {
            const auto texts = quality::readTextFields(file);
            const auto dups = quality::incomingDuplicates(items, texts, config.thresholds.nearDuplicateThreshold);
            say(file + ": " + std::to_string(dups.size()) + " texts duplicate workspace messages");
            for (const auto& d : dups) {
                const auto& in = texts[d.incoming];
                say("  " + in.file + ":" + std::to_string(in.line) + " " + in.field + " ~ #" + std::to_string(d.messageId) +
                    " (Jaccard " + std::to_string(d.jaccard).substr(0, 4) + ")");
                emit({{"event", "incoming_duplicate"}, {"file", in.file}, {"line", in.line}, {"field", in.field},
                      {"message_id", d.messageId}, {"jaccard", d.jaccard}});
            }
        }
        ojson end = {{"event", "check.end"}, {"items", summary.items}, {"chars", t.chars},
                     {"with_warnings", summary.itemsWithWarnings}, {"clusters", summary.clusters.size()},
                     {"language_mismatches", summary.languageMismatches}};
        for (size_t k = 0; k < quality::kCharClassCount; ++k)
            end["shares"][std::string(quality::charClassName(quality::CharClass(k)))] = t.share(quality::CharClass(k));
        end["failures"] = summary.failures;
        end["pii"] = summary.pii;
        emit(end);
    });
}

void addContamination(CLI::App& app)
{
    struct Options {
        std::string ws, snapshot;
        std::vector<std::string> against, fields;
        size_t ngram = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("contamination",
                                   "Messages that share a long run of characters with evaluation sets");
    cmd->add_option("workspace", o->ws)->required();
    cmd->add_option("--against", o->against, "Evaluation JSONL file (repeatable): ELYZA-tasks-100, "
                                             "Japanese MT-Bench questions, text/instruction/prompt lines")
        ->required();
    cmd->add_option("--ngram", o->ngram, "Shared run length in non-whitespace characters (default: the "
                                         "workspace's quality.contamination_ngram, 50)");
    cmd->add_option("--field", o->fields, "Read these fields of the evaluation files instead of the known layouts");
    cmd->add_option("--snapshot", o->snapshot, "Check a snapshot's frozen texts instead of the workspace");
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->ws, false);
        const size_t n = o->ngram ? o->ngram : quality::qualityConfig(ws).thresholds.contaminationNgram;
        std::vector<quality::EvalText> evals;
        for (const auto& file : o->against)
            for (auto& t : quality::readTextFields(file, o->fields)) evals.push_back(std::move(t));
        const quality::ContaminationIndex index(std::move(evals), n);
        const auto items =
            quality::loadItems(ws, o->snapshot.empty() ? std::nullopt : std::optional<std::string>(o->snapshot));
        const auto hits = quality::findContamination(items, index);
        std::set<int64_t> ids;
        for (const auto& h : hits) {
            const auto& e = index.texts()[h.hit.eval];
            ids.insert(h.id);
            say("#" + std::to_string(h.id) + "  " + e.file + ":" + std::to_string(e.line) + " " + e.field + "  " +
                std::to_string(h.hit.length) + " chars: " + oneLine(h.shared, 90));
            emit({{"event", "contaminated"}, {"id", h.id}, {"file", e.file}, {"line", e.line}, {"field", e.field},
                  {"length", h.hit.length}, {"item_span", quality::spanJson(h.hit.itemSpan)},
                  {"eval_span", quality::spanJson(h.hit.evalSpan)}, {"shared", h.shared}});
        }
        say(std::to_string(ids.size()) + " of " + humanCount(int64_t(items.size())) + " messages share " +
            std::to_string(n) + "+ characters with " + std::to_string(index.texts().size()) + " evaluation texts" +
            (index.tooShort() ? " (" + std::to_string(index.tooShort()) + " evaluation texts too short to match)" : ""));
        emit({{"event", "contamination.end"}, {"items", items.size()}, {"contaminated", ids.size()}, {"hits", hits.size()},
              {"eval_texts", index.texts().size()}, {"too_short", index.tooShort()}, {"ngram", n}});
    });
}

void addSettings(CLI::App& app)
{
    struct Options {
        std::string ws, key, value;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("settings", "Read and change workspace settings (quality thresholds, NG words …)");
    cmd->require_subcommand(1);
    auto* get = cmd->add_subcommand("get", "Print a setting as JSON (quality: with the defaults filled in)");
    get->add_option("workspace", o->ws)->required();
    get->add_option("key", o->key)->required();
    get->callback([o] {
        Workspace ws = openWorkspace(o->ws, false);
        nlohmann::json value;
        if (o->key == "quality") value = quality::thresholdsToJson(quality::qualityConfig(ws).thresholds);
        else if (auto v = getSetting(ws, o->key)) value = *v;
        else throw NotFoundError("no setting '" + o->key + "' in " + o->ws);
        say(value.dump(2));
        emit({{"key", o->key}, {"value", value}});
    });
    auto* set = cmd->add_subcommand("set", "Set a setting to a JSON value (admin)");
    set->add_option("workspace", o->ws)->required();
    set->add_option("key", o->key)->required();
    set->add_option("value", o->value, "JSON, e.g. '{\"hiragana_fraction_min\": 0.15}' or '[\"NG語\"]'")->required();
    set->callback([o] {
        Workspace ws = openWorkspace(o->ws, true);
        const Account actor = actingAccount(ws);
        const auto value = nlohmann::json::parse(o->value, nullptr, false);
        if (value.is_discarded()) throw Error("the value for '" + o->key + "' is not JSON: " + o->value);
        // Validate what the quality checks read before storing it.
        if (o->key == "quality") quality::thresholdsFromJson(value);
        if (o->key == "ng_words") quality::ngWordsFromJson(value);
        setSetting(ws, actor, o->key, value);
        say("set " + o->key);
        emit({{"event", "settings.set"}, {"key", o->key}, {"value", value}});
    });
}

}  // namespace

void addQualityCommands(CLI::App& app)
{
    addCheck(app);
    addContamination(app);
    addSettings(app);
}

}  // namespace tsumugi::cli
