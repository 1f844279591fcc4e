#include "datastore/workspace.h"

#include <sqlite3.h>
#include <sys/statfs.h>

#include <filesystem>

#include "core/error.h"
#include "datastore/schema_sql.h"
#include "datastore/search.h"

namespace tsumugi {

std::string networkFilesystemName(int64_t type)
{
    switch (static_cast<uint32_t>(type)) {
    case 0x6969: return "nfs";
    case 0xFF534D42: return "cifs";
    case 0x517B: return "smb";
    case 0xFE534D42: return "smb2";
    case 0x01021997: return "9p";
    case 0x5346414F: return "afs";
    case 0x00C36400: return "ceph";
    case 0x0BD00BD0: return "lustre";
    case 0x01161970: return "gfs2";
    case 0x564C: return "ncp";
    case 0x47504653: return "gpfs";
    default: return "";
    }
}

namespace {
std::string detectNetworkFs(const std::string& path)
{
    std::filesystem::path probe = std::filesystem::absolute(path);
    if (!std::filesystem::exists(probe)) probe = probe.parent_path();
    struct statfs info {};
    if (statfs(probe.c_str(), &info) != 0) return "";
    return networkFilesystemName(static_cast<int64_t>(info.f_type));
}
}  // namespace

Workspace::Workspace(const std::string& path, const WorkspaceOptions& options) : m_path(path)
{
    const bool exists = std::filesystem::exists(path);
    if (!exists && !options.create)
        throw NotFoundError(path + ": no such workspace; create it with `tsumugi init " + path + "`");
    if (exists && std::filesystem::is_directory(path))
        throw Error(path + ": is a directory, not a workspace file");

    m_networkFs = options.assumeNetworkFs ? std::string("nfs") : detectNetworkFs(path);
    m_readOnly = options.readOnly || (!m_networkFs.empty() && !options.forceNetworkFs);
    if (!m_networkFs.empty() && !exists && !options.forceNetworkFs)
        throw Error(path + ": is on a network filesystem (" + m_networkFs +
                    "); a workspace needs a local disk for WAL. Create it on a local disk, or pass --force");

    db::OpenOptions dbOptions;
    dbOptions.readOnly = m_readOnly;
    dbOptions.create = options.create;
    m_db = std::make_unique<db::Database>(path, dbOptions);
    registerSearchTokenizer(*m_db);

    // Check what the file is before writing anything to it.
    const int64_t appId = m_db->queryInt("PRAGMA application_id");
    const int64_t tables = m_db->queryInt("SELECT count(*) FROM sqlite_schema");
    if (tables > 0 && appId != kApplicationId)
        throw SchemaError(path + ": is an SQLite file but not a Tsumugi workspace (application_id " +
                          std::to_string(appId) + "); open a file made by `tsumugi init`");
    const int64_t version = m_db->queryInt("PRAGMA user_version");
    m_openedAt = static_cast<int>(version);
    if (version > latestSchemaVersion())
        throw SchemaError(path + ": was written by a newer Tsumugi (schema " + std::to_string(version) +
                          ", this build knows up to " + std::to_string(latestSchemaVersion()) +
                          "); upgrade tsumugi to open it. The file was not changed");
    if (tables == 0 && m_readOnly)
        throw SchemaError(path + ": is empty, not a workspace; create one with `tsumugi init`");

    if (!m_readOnly) {
        m_db->exec("PRAGMA journal_mode=WAL");
        m_db->exec("PRAGMA synchronous=NORMAL");
    }
    m_db->exec("PRAGMA foreign_keys=ON");
    // A larger page cache and memory-mapped reads: imports and index builds of millions of
    // rows otherwise spend their time re-reading pages through pread.
    m_db->exec("PRAGMA cache_size=-65536");
    m_db->exec("PRAGMA mmap_size=268435456");
    m_db->exec("PRAGMA temp_store=MEMORY");
    if (!m_readOnly && options.migrate) migrate();
}

int Workspace::latestSchemaVersion() { return schema::kMigrations.back().version; }

int Workspace::schemaVersion() { return static_cast<int>(m_db->queryInt("PRAGMA user_version")); }

void Workspace::migrate()
{
    for (const auto& migration : schema::kMigrations) {
        if (migration.version <= schemaVersion()) continue;
        db::Transaction tx(*m_db);
        // Re-read inside the write lock: another process may have migrated meanwhile.
        if (migration.version <= schemaVersion()) continue;
        try {
            if (migration.version == 1) {
                m_db->exec("PRAGMA application_id=" + std::to_string(kApplicationId));
                m_db->exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                           "applied_at TEXT NOT NULL)");
            }
            m_db->exec(migration.sql);
            m_db->prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)")
                .bindAll(static_cast<int64_t>(migration.version), std::string(migration.name), now())
                .run();
            m_db->exec("PRAGMA user_version=" + std::to_string(migration.version));
        } catch (const Error& e) {
            e.rethrowWithContext(m_path + ": migrating to schema " + std::to_string(migration.version) + " (" +
                                 std::string(migration.name) + ")");
        }
        tx.commit();
    }
}

void Workspace::requireWritable() const
{
    if (!m_networkFs.empty() && m_readOnly)
        throw Error(m_path + ": is on a network filesystem (" + m_networkFs +
                    "); WAL needs a local disk, so writes are refused. Copy the workspace to a local disk, "
                    "or pass --force if you accept the risk");
    if (m_readOnly) throw Error(m_path + ": opened read-only; writes are refused");
}

void Workspace::backupTo(const std::string& destination)
{
    if (std::filesystem::exists(destination))
        throw Error(destination + ": already exists; choose a new file name for the backup");
    sqlite3* target = nullptr;
    if (sqlite3_open_v2(destination.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        std::string message = target ? sqlite3_errmsg(target) : "out of memory";
        sqlite3_close(target);
        throw Error(destination + ": cannot create backup file: " + message);
    }
    sqlite3_backup* backup = sqlite3_backup_init(target, "main", m_db->handle(), "main");
    if (!backup) {
        std::string message = sqlite3_errmsg(target);
        sqlite3_close(target);
        throw Error(destination + ": cannot start backup: " + message);
    }
    // Copy in steps; a writer in between makes SQLite restart the copy, so the result is
    // always one consistent state of the source.
    int rc;
    do {
        rc = sqlite3_backup_step(backup, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(backup);
    const bool ok = rc == SQLITE_DONE;
    std::string message = ok ? "" : sqlite3_errstr(rc);
    if (ok) sqlite3_exec(target, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    sqlite3_close(target);
    if (!ok) {
        std::filesystem::remove(destination);
        throw Error(destination + ": backup failed: " + message);
    }
}

}  // namespace tsumugi
