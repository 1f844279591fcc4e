#include "datastore/accounts.h"

#include <sodium.h>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::string_view roleName(Role role)
{
    switch (role) {
    case Role::Annotator: return "annotator";
    case Role::Reviewer: return "reviewer";
    case Role::Admin: return "admin";
    case Role::Service: return "service";
    }
    return "annotator";
}

Role parseRole(std::string_view name)
{
    if (name == "annotator") return Role::Annotator;
    if (name == "reviewer") return Role::Reviewer;
    if (name == "admin") return Role::Admin;
    if (name == "service") return Role::Service;
    throw Error("unknown role '" + std::string(name) + "'; expected annotator, reviewer, admin or service");
}

namespace {

std::string hashPassword(const std::string& password)
{
    if (sodium_init() < 0) throw Error("libsodium failed to initialise");
    if (password.empty()) throw Error("empty password; choose a password or leave the account without one");
    char out[crypto_pwhash_STRBYTES];
    // argon2id with libsodium's interactive limits (about 64 MiB, well under a second).
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        throw Error("hashing the password ran out of memory");
    return out;
}

Account readAccount(db::Statement& st)
{
    Account a;
    a.id = st.int64(0);
    a.name = st.text(1);
    a.role = parseRole(st.textView(2));
    a.active = st.int64(3) != 0;
    a.hasPassword = !st.isNull(4);
    a.createdAt = st.text(5);
    return a;
}

constexpr std::string_view kSelect = "SELECT id, name, role, active, password_hash, created_at FROM accounts ";

void validateName(const std::string& name)
{
    if (name.empty() || name.size() > 64)
        throw Error("account name '" + name + "' must be 1 to 64 bytes long");
    for (unsigned char c : name)
        if (c < 0x21 || c == 0x7F)
            throw Error("account name '" + name + "' contains a space or control character; use another name");
}

Account insertAccount(Workspace& ws, const std::string& name, Role role, const std::optional<std::string>& password)
{
    validateName(name);
    if (findAccount(ws, name)) throw ConflictError("account '" + name + "' already exists");
    std::optional<std::string> hash;
    if (password) hash = hashPassword(*password);
    ws.db()
        .prepare("INSERT INTO accounts(name, role, password_hash, active, created_at) VALUES (?, ?, ?, 1, ?)")
        .bindAll(name, roleName(role), hash, ws.now())
        .run();
    return accountById(ws, ws.db().lastInsertId());
}

}  // namespace

void requireRole(const Account& actor, std::initializer_list<Role> roles, std::string_view action)
{
    for (Role r : roles)
        if (actor.role == r) return;
    std::string allowed;
    for (Role r : roles) allowed += (allowed.empty() ? "" : ", ") + std::string(roleName(r));
    throw PermissionError("account '" + actor.name + "' (" + std::string(roleName(actor.role)) + ") may not " +
                          std::string(action) + "; that needs the role " + allowed);
}

Account bootstrapAccounts(Workspace& ws, const std::string& adminName, const std::optional<std::string>& password)
{
    ws.requireWritable();
    db::Transaction tx(ws.db());
    if (ws.db().queryInt("SELECT count(*) FROM accounts") > 0)
        throw ConflictError(ws.path() + ": already has accounts; add more with `tsumugi account add`");
    Account admin = insertAccount(ws, adminName, Role::Admin, password);
    Account service = insertAccount(ws, std::string(kServiceAccountName), Role::Service, std::nullopt);
    audit(ws, admin, {"account.create", "account", admin.id, {}, {}});
    audit(ws, admin, {"account.create", "account", service.id, {}, {}});
    tx.commit();
    return admin;
}

Account addAccount(Workspace& ws, const Account& actor, const std::string& name, Role role,
                   const std::optional<std::string>& password)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin}, "add accounts");
    db::Transaction tx(ws.db());
    Account account = insertAccount(ws, name, role, password);
    audit(ws, actor, {"account.create", "account", account.id, {}, {}});
    tx.commit();
    return account;
}

Account ensureAccount(Workspace& ws, const Account& actor, const std::string& name, Role role)
{
    if (auto existing = findAccount(ws, name)) return *existing;
    requireRole(actor, {Role::Admin, Role::Service}, "create accounts for imported authors");
    Account account = insertAccount(ws, name, role, std::nullopt);
    audit(ws, actor, {"account.create", "account", account.id, {}, {}});
    return account;
}

void setAccountActive(Workspace& ws, const Account& actor, const std::string& name, bool active)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin}, "disable or enable accounts");
    db::Transaction tx(ws.db());
    auto account = findAccount(ws, name);
    if (!account) throw NotFoundError("no account named '" + name + "'");
    if (account->id == actor.id && !active) throw Error("an admin cannot disable their own account");
    ws.db().prepare("UPDATE accounts SET active = ? WHERE id = ?").bindAll(int64_t(active), account->id).run();
    audit(ws, actor, {active ? "account.enable" : "account.disable", "account", account->id, {}, {}});
    tx.commit();
}

void setPassword(Workspace& ws, const Account& actor, const std::string& name, const std::string& password)
{
    ws.requireWritable();
    auto account = findAccount(ws, name);
    if (!account) throw NotFoundError("no account named '" + name + "'");
    if (account->id != actor.id) requireRole(actor, {Role::Admin}, "set another account's password");
    const std::string hash = hashPassword(password);
    db::Transaction tx(ws.db());
    ws.db().prepare("UPDATE accounts SET password_hash = ? WHERE id = ?").bindAll(hash, account->id).run();
    audit(ws, actor, {"account.password", "account", account->id, {}, {}});
    tx.commit();
}

std::vector<Account> listAccounts(Workspace& ws)
{
    auto st = ws.db().prepare(std::string(kSelect) + "ORDER BY id");
    std::vector<Account> out;
    while (st.step()) out.push_back(readAccount(st));
    return out;
}

std::optional<Account> findAccount(Workspace& ws, std::string_view name)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return readAccount(st);
}

Account accountById(Workspace& ws, int64_t id)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw NotFoundError("no account with id " + std::to_string(id));
    return readAccount(st);
}

Account authenticate(Workspace& ws, std::string_view name, const std::optional<std::string>& password)
{
    auto account = findAccount(ws, name);
    if (!account)
        throw PermissionError("no account named '" + std::string(name) + "' in " + ws.path() +
                              "; see `tsumugi account list`");
    if (!account->active) throw PermissionError("account '" + account->name + "' is disabled; ask an admin");
    if (!account->hasPassword) return *account;
    if (!password)
        throw PermissionError("account '" + account->name +
                              "' has a password; give it in TSUMUGI_PASSWORD or with --password-stdin");
    auto st = ws.db().prepare("SELECT password_hash FROM accounts WHERE id = ?");
    st.bind(1, account->id);
    st.step();
    const std::string hash = st.text(0);
    if (sodium_init() < 0) throw Error("libsodium failed to initialise");
    if (crypto_pwhash_str_verify(hash.c_str(), password->data(), password->size()) != 0)
        throw PermissionError("wrong password for account '" + account->name + "'");
    return *account;
}

}  // namespace tsumugi
