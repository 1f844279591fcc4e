// A workspace: one SQLite file holding everything annotators and trainers share.
// Opening checks that the file is a Tsumugi workspace of a schema this build knows, applies
// pending migrations (each in one transaction), and turns on WAL and foreign keys.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "datastore/database.h"
#include "datastore/time.h"

namespace tsumugi {

struct WorkspaceOptions {
    bool create = false;           // make the file when it does not exist
    bool readOnly = false;         // never write (no migrations either)
    bool forceNetworkFs = false;   // allow writes on a network filesystem (WAL may corrupt)
    bool assumeNetworkFs = false;  // treat the file as remote (tests of the refusal)
    bool migrate = true;           // apply pending migrations on open
};

class Workspace {
public:
    static constexpr int64_t kApplicationId = 0x5453554D;  // "TSUM" in PRAGMA application_id

    explicit Workspace(const std::string& path, const WorkspaceOptions& options = {});

    db::Database& db() { return *m_db; }
    const std::string& path() const { return m_path; }

    int schemaVersion();
    static int latestSchemaVersion();
    // The schema the file had when it was opened (0 for a new file).
    int openedAtSchema() const { return m_openedAt; }

    int64_t nowMillis() const { return m_clock(); }
    std::string now() const { return isoTime(m_clock()); }
    void setClock(Clock clock) { m_clock = std::move(clock); }

    // Throws when writes are refused (read-only open, network filesystem without force).
    void requireWritable() const;
    bool onNetworkFilesystem() const { return !m_networkFs.empty(); }
    const std::string& networkFilesystemName() const { return m_networkFs; }

    // SQLite's online backup: a consistent copy while others keep writing.
    void backupTo(const std::string& destination);

private:
    void migrate();

    std::string m_path;
    std::unique_ptr<db::Database> m_db;
    Clock m_clock = systemMillis;
    std::string m_networkFs;  // the filesystem's name when remote
    bool m_readOnly = false;
    int m_openedAt = 0;
};

// The name of a network filesystem for a statfs f_type, or "" when local.
std::string networkFilesystemName(int64_t statfsType);

}  // namespace tsumugi
