#include "datastore/sources.h"

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/messages.h"
#include "datastore/workspace.h"

namespace tsumugi {

namespace {
Source readSource(db::Statement& st)
{
    return {st.int64(0), st.text(1), st.text(2), st.int64(3) != 0, st.optText(4), st.text(5)};
}
constexpr std::string_view kSelect = "SELECT id, name, licence, redistributable, url, imported_at FROM sources ";
}  // namespace

Source ensureSource(Workspace& ws, const Account& actor, const std::string& name, const std::string& licence,
                    bool redistributable, const std::optional<std::string>& url)
{
    requireRole(actor, {Role::Admin, Role::Service}, "record data sources");
    validateText(name, "the source name");
    validateText(licence, "the source licence");
    auto find = ws.db().prepare(std::string(kSelect) + "WHERE name = ?");
    find.bind(1, name);
    if (find.step()) {
        Source existing = readSource(find);
        if (existing.licence != licence)
            throw ConflictError("source '" + name + "' is recorded with licence '" + existing.licence + "', not '" +
                                licence + "'; use another source name or the same licence");
        return existing;
    }
    ws.db()
        .prepare("INSERT INTO sources(name, licence, redistributable, url, imported_at) VALUES (?, ?, ?, ?, ?)")
        .bindAll(name, licence, int64_t(redistributable), url, ws.now())
        .run();
    const int64_t id = ws.db().lastInsertId();
    audit(ws, actor, {"source.create", "source", id, {}, {}}, {{"name", name}, {"licence", licence}});
    return {id, name, licence, redistributable, url, ws.now()};
}

std::vector<Source> listSources(Workspace& ws)
{
    auto st = ws.db().prepare(std::string(kSelect) + "ORDER BY id");
    std::vector<Source> out;
    while (st.step()) out.push_back(readSource(st));
    return out;
}

}  // namespace tsumugi
