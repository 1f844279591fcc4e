// Workspace commands: init, account, backup, stats, agreement, snapshot, task.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "datastore/accounts.h"
#include "datastore/consensus.h"
#include "datastore/queue.h"
#include "datastore/snapshots.h"
#include "datastore/stats.h"
#include "datastore/workspace.h"

namespace tsumugi::cli {

using ojson = nlohmann::ordered_json;

namespace {

std::string fixed(double v, int digits = 3)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
    return buffer;
}

void addInit(CLI::App& app)
{
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = app.add_subcommand("init", "Create a workspace (or bring an old one to this schema)");
    cmd->add_option("workspace", o->first, "Workspace file, e.g. team.tsumugi")->required();
    const char* user = std::getenv("USER");
    o->second = user && *user ? user : "admin";
    cmd->add_option("--admin", o->second, "Name of the first admin account (default: $USER)");
    cmd->callback([o] {
        const bool existed = std::filesystem::exists(o->first);
        WorkspaceOptions options;
        options.create = true;
        options.forceNetworkFs = context().force;
        Workspace ws(o->first, options);
        if (existed && ws.db().queryInt("SELECT count(*) FROM accounts") > 0) {
            const int before = ws.openedAtSchema();
            say(o->first + ": workspace at schema " + std::to_string(ws.schemaVersion()) +
                (before < ws.schemaVersion() ? " (migrated from schema " + std::to_string(before) + ")"
                                             : " (up to date)"));
            emit({{"event", "init"}, {"workspace", o->first}, {"schema", ws.schemaVersion()}, {"created", false}});
            return;
        }
        std::optional<std::string> password;
        if (const char* env = std::getenv("TSUMUGI_PASSWORD"); env && *env) password = env;
        if (context().passwordStdin) {
            std::string line;
            std::getline(std::cin, line);
            password = line;
        }
        const Account admin = bootstrapAccounts(ws, o->second, password);
        say("created " + o->first + " (schema " + std::to_string(ws.schemaVersion()) + ")");
        say("  admin account:   " + admin.name + (password ? " (with password)" : " (no password; set one with "
                                                                                  "`tsumugi account password`)"));
        say("  service account: " + std::string(kServiceAccountName) + " (imports, trainers)");
        emit({{"event", "init"}, {"workspace", o->first}, {"schema", ws.schemaVersion()}, {"created", true},
              {"admin", admin.name}});
    });
}

void addAccount(CLI::App& app)
{
    auto* cmd = app.add_subcommand("account", "Manage accounts (admin)");
    cmd->require_subcommand(1);

    struct AddOptions {
        std::string ws, name, role = "annotator";
        bool passwordFromEnv = false;
    };
    auto a = std::make_shared<AddOptions>();
    auto* add = cmd->add_subcommand("add", "Add an account");
    add->add_option("workspace", a->ws)->required();
    add->add_option("name", a->name)->required();
    add->add_option("--role", a->role, "annotator, reviewer, admin or service")->capture_default_str();
    add->add_flag("--password-from-env", a->passwordFromEnv, "Set the new account's password from $TSUMUGI_NEW_PASSWORD");
    add->callback([a] {
        Workspace ws = openWorkspace(a->ws, true);
        const Account actor = actingAccount(ws);
        std::optional<std::string> password;
        if (a->passwordFromEnv) {
            const char* env = std::getenv("TSUMUGI_NEW_PASSWORD");
            if (!env || !*env) throw Error("--password-from-env: TSUMUGI_NEW_PASSWORD is not set");
            password = env;
        }
        const Account created = addAccount(ws, actor, a->name, parseRole(a->role), password);
        say("added " + created.name + " (" + std::string(roleName(created.role)) + ")");
        emit({{"event", "account.add"}, {"name", created.name}, {"role", roleName(created.role)}, {"id", created.id}});
    });

    auto l = std::make_shared<std::string>();
    auto* list = cmd->add_subcommand("list", "List accounts");
    list->add_option("workspace", *l)->required();
    list->callback([l] {
        Workspace ws = openWorkspace(*l, false);
        for (const Account& x : listAccounts(ws)) {
            say(x.name + "\t" + std::string(roleName(x.role)) + "\t" + (x.active ? "active" : "disabled") +
                (x.hasPassword ? "\tpassword" : ""));
            emit({{"name", x.name}, {"role", roleName(x.role)}, {"active", x.active}, {"id", x.id}});
        }
    });

    for (bool enable : {false, true}) {
        auto d = std::make_shared<std::pair<std::string, std::string>>();
        auto* sub = cmd->add_subcommand(enable ? "enable" : "disable", enable ? "Enable an account" : "Disable an account");
        sub->add_option("workspace", d->first)->required();
        sub->add_option("name", d->second)->required();
        sub->callback([d, enable] {
            Workspace ws = openWorkspace(d->first, true);
            const Account actor = actingAccount(ws);
            setAccountActive(ws, actor, d->second, enable);
            say((enable ? "enabled " : "disabled ") + d->second);
            emit({{"event", enable ? "account.enable" : "account.disable"}, {"name", d->second}});
        });
    }

    auto p = std::make_shared<std::pair<std::string, std::string>>();
    auto* pw = cmd->add_subcommand("password", "Set an account's password from $TSUMUGI_NEW_PASSWORD");
    pw->add_option("workspace", p->first)->required();
    pw->add_option("name", p->second)->required();
    pw->callback([p] {
        Workspace ws = openWorkspace(p->first, true);
        const Account actor = actingAccount(ws);
        const char* env = std::getenv("TSUMUGI_NEW_PASSWORD");
        if (!env || !*env) throw Error("set TSUMUGI_NEW_PASSWORD to the new password");
        setPassword(ws, actor, p->second, env);
        say("password set for " + p->second);
    });
}

void addBackup(CLI::App& app)
{
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = app.add_subcommand("backup", "Copy a workspace while others keep working (SQLite online backup)");
    cmd->add_option("workspace", o->first)->required();
    cmd->add_option("out", o->second, "New file for the copy")->required();
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->first, false);
        ws.backupTo(o->second);
        say("backed up " + o->first + " to " + o->second);
        emit({{"event", "backup"}, {"workspace", o->first}, {"out", o->second}});
    });
}

void addStats(CLI::App& app)
{
    auto o = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("stats", "Counts by status, role and tag; lengths in characters");
    cmd->add_option("workspace", *o)->required();
    cmd->callback([o] {
        Workspace ws = openWorkspace(*o, false);
        const WorkspaceStats s = workspaceStats(ws);
        say(*o + ": " + humanCount(s.messages) + " messages in " + humanCount(s.trees) + " conversations, " +
            humanCount(s.rankings) + " rankings, " + humanCount(s.reviews) + " reviews, " + humanCount(s.labels) +
            " labels, " + humanCount(s.accounts) + " accounts, " + humanCount(s.snapshots) + " snapshots");
        say("status:");
        for (const auto& [k, v] : s.byStatus) say("  " + k + "\t" + humanCount(v));
        say("role:");
        for (const auto& [k, v] : s.byRole) say("  " + k + "\t" + humanCount(v));
        if (!s.byTag.empty()) say("tag:");
        for (const auto& [k, v] : s.byTag) say("  " + k + "\t" + humanCount(v));
        say("length in characters (min / median / mean / max):");
        for (const LengthStats& l : s.lengths)
            say("  " + l.role + "\t" + std::to_string(l.min) + " / " + std::to_string(l.median) + " / " +
                fixed(l.mean, 1) + " / " + std::to_string(l.max));
        ojson j = {{"messages", s.messages}, {"trees", s.trees}, {"rankings", s.rankings}, {"reviews", s.reviews},
                   {"labels", s.labels}, {"accounts", s.accounts}, {"snapshots", s.snapshots}};
        for (const auto& [k, v] : s.byStatus) j["by_status"][k] = v;
        for (const auto& [k, v] : s.byRole) j["by_role"][k] = v;
        for (const auto& [k, v] : s.byTag) j["by_tag"][k] = v;
        for (const LengthStats& l : s.lengths)
            j["length_chars"][l.role] = {{"count", l.count}, {"min", l.min}, {"median", l.median},
                                         {"mean", l.mean}, {"max", l.max}};
        emit(j);
    });
}

void addAgreement(CLI::App& app)
{
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = app.add_subcommand("agreement", "Inter-annotator agreement: Kendall's τ-b on rankings, "
                                                "Krippendorff's α on labels");
    cmd->add_option("workspace", o->first)->required();
    cmd->add_option("--snapshot", o->second, "Only the rankings frozen in this snapshot");
    cmd->callback([o] {
        Workspace ws = openWorkspace(o->first, false);
        std::optional<std::vector<int64_t>> ids;
        if (!o->second.empty()) ids = snapshotRankingIds(ws, snapshotByName(ws, o->second).id);
        say("rankings (Kendall's τ-b over shared parents):");
        for (const PairAgreement& p : rankingAgreement(ws, ids)) {
            const std::string a = accountById(ws, p.annotatorA).name, b = accountById(ws, p.annotatorB).name;
            say("  " + a + " ~ " + b + "\tτ=" + (p.tau ? fixed(*p.tau) : std::string("n/a")) + "\tshared=" +
                std::to_string(p.sharedItems));
            ojson j = {{"kind", "ranking"}, {"a", a}, {"b", b}, {"shared", p.sharedItems}};
            j["tau_b"] = p.tau ? ojson(*p.tau) : ojson(nullptr);
            emit(j);
        }
        say("labels (Krippendorff's α):");
        for (const LabelAgreement& l : labelAgreement(ws)) {
            say("  " + l.name + "\tα=" + (l.alpha ? fixed(*l.alpha) : std::string("n/a")) + "\tmessages=" +
                std::to_string(l.units));
            ojson j = {{"kind", "label"}, {"name", l.name}, {"units", l.units}};
            j["alpha"] = l.alpha ? ojson(*l.alpha) : ojson(nullptr);
            emit(j);
        }
    });
}

// Conversations and messages per split, and rankings: printed, and added to j.
void describeCounts(Workspace& ws, int64_t snapshotId, ojson& j)
{
    const SnapshotCounts counts = snapshotCounts(ws, snapshotId);
    for (size_t i = 0; i < counts.treesPerSplit.size(); ++i) {
        const auto& [split, trees] = counts.treesPerSplit[i];
        const int64_t messages = counts.messagesPerSplit[i].second;
        say("  " + split + ": " + humanCount(trees) + " conversations, " + humanCount(messages) + " messages");
        j["splits"][split] = {{"trees", trees}, {"messages", messages}};
    }
    say("  rankings: " + humanCount(counts.rankings));
    j["rankings"] = counts.rankings;
}

void addSnapshot(CLI::App& app)
{
    auto* cmd = app.add_subcommand("snapshot", "Freeze, list and show snapshots");
    cmd->require_subcommand(1);

    struct CreateOptions {
        std::string ws, name, filter, split = "train=1", seed;
    };
    auto c = std::make_shared<CreateOptions>();
    auto* create = cmd->add_subcommand("create", "Freeze a filtered set with a split decided now");
    create->add_option("workspace", c->ws)->required();
    create->add_option("name", c->name)->required();
    create->add_option("--filter", c->filter,
                       "e.g. 'status=approved;tag=要約;from=2026-01-01;to=2026-12-01;min_rankings=2' "
                       "(default: status=approved)");
    create->add_option("--split", c->split, "e.g. train=0.9,test=0.1")->capture_default_str();
    create->add_option("--seed", c->seed, "Seed of the split (default: the snapshot's name)");
    create->callback([c] {
        Workspace ws = openWorkspace(c->ws, true);
        const Account actor = actingAccount(ws);
        SplitSpec split = parseSplitSpec(c->split);
        split.seed = c->seed;
        const Snapshot s = createSnapshot(ws, actor, c->name, parseSnapshotFilter(c->filter), split);
        say("snapshot " + s.name + " " + s.contentHash.substr(0, 16));
        ojson j = {{"event", "snapshot.create"}, {"name", s.name}, {"content_hash", s.contentHash}};
        describeCounts(ws, s.id, j);
        emit(j);
    });

    auto l = std::make_shared<std::string>();
    auto* list = cmd->add_subcommand("list", "List snapshots");
    list->add_option("workspace", *l)->required();
    list->callback([l] {
        Workspace ws = openWorkspace(*l, false);
        for (const Snapshot& s : listSnapshots(ws)) {
            say(s.name + "\t" + s.createdAt + "\t" + s.contentHash.substr(0, 16) + "\t" + s.filterJson);
            emit({{"name", s.name}, {"created_at", s.createdAt}, {"content_hash", s.contentHash},
                  {"filter", ojson::parse(s.filterJson)}, {"split", ojson::parse(s.splitJson)}});
        }
    });

    auto s = std::make_shared<std::pair<std::string, std::string>>();
    auto* show = cmd->add_subcommand("show", "Show one snapshot");
    show->add_option("workspace", s->first)->required();
    show->add_option("name", s->second)->required();
    show->callback([s] {
        Workspace ws = openWorkspace(s->first, false);
        const Snapshot snap = snapshotByName(ws, s->second);
        say("name:         " + snap.name);
        say("created:      " + snap.createdAt);
        say("content hash: " + snap.contentHash);
        say("filter:       " + snap.filterJson);
        say("split:        " + snap.splitJson);
        ojson j = {{"name", snap.name}, {"created_at", snap.createdAt}, {"content_hash", snap.contentHash},
                   {"filter", ojson::parse(snap.filterJson)}, {"split", ojson::parse(snap.splitJson)}};
        describeCounts(ws, snap.id, j);
        emit(j);
    });
}

void addTask(CLI::App& app)
{
    auto* cmd = app.add_subcommand("task", "The annotation queue");
    cmd->require_subcommand(1);
    struct NextOptions {
        std::string ws;
        std::vector<std::string> kinds;
    };
    auto n = std::make_shared<NextOptions>();
    auto* next = cmd->add_subcommand("next", "Take the next task for the acting account (holds a lease)");
    next->add_option("workspace", n->ws)->required();
    next->add_option("--kind", n->kinds, "prompt, reply, rank, review or label (repeatable)");
    next->callback([n] {
        Workspace ws = openWorkspace(n->ws, true);
        const Account actor = actingAccount(ws);
        std::vector<TaskKind> kinds;
        for (const auto& k : n->kinds) kinds.push_back(parseTaskKind(k));
        const auto task = nextTask(ws, actor, kinds);
        if (!task) {
            say("no task for " + actor.name + " right now");
            emit({{"task", nullptr}});
            return;
        }
        say(std::string(taskKindName(task->kind)) + (task->targetId ? " " + std::to_string(*task->targetId) : ""));
        ojson j = {{"task", taskKindName(task->kind)}};
        j["target"] = task->targetId ? ojson(*task->targetId) : ojson(nullptr);
        j["lease_expires_at"] = task->leaseExpiresAt;
        emit(j);
    });
}

}  // namespace

void addWorkspaceCommands(CLI::App& app)
{
    addInit(app);
    addAccount(app);
    addBackup(app);
    addStats(app);
    addAgreement(app);
    addSnapshot(app);
    addTask(app);
}

}  // namespace tsumugi::cli
