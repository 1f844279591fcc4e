// bench_import [RECORDS=200000]
//
// Ours: importFile of a `messages` JSONL file into a new workspace, as the service account.
// Reference: a plain prepared-statement loop inserting the same message rows (values
// already in memory) into a fresh SQLite file with the same columns, no indexes, one
// transaction and the PRAGMAs a workspace connection has (WAL, synchronous=NORMAL, its
// page cache …; foreign keys off): the floor. The faster of two runs counts. Rows in is
// compared with rows in (both without the COMMIT), the total with the total.
// Goal: >= 100k records/s and >= 0.8x the reference.
#include <iostream>

#include "bench/bench_common.h"
#include "datastore/accounts.h"
#include "datastore/workspace.h"
#include "export/importer.h"

namespace {

using namespace tsumugi;
using namespace tsumugi::bench;

// The columns of datastore/schema/001_initial.sql's messages table, without its indexes.
constexpr const char* kReferenceTable = R"(CREATE TABLE messages (
  id                   INTEGER PRIMARY KEY,
  parent_id            INTEGER REFERENCES messages(id),
  tree_id              INTEGER NOT NULL,
  role                 TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  text                 TEXT NOT NULL,
  author_id            INTEGER NOT NULL REFERENCES accounts(id),
  origin               TEXT NOT NULL DEFAULT 'human' CHECK (origin IN ('human', 'model', 'import')),
  origin_checkpoint_id INTEGER REFERENCES checkpoints(id),
  source_id            INTEGER REFERENCES sources(id),
  meta_json            TEXT,
  status               TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'needs_fix', 'rejected', 'deleted')),
  revision             INTEGER NOT NULL DEFAULT 1,
  revised_by           INTEGER REFERENCES accounts(id),
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL
))";

void check(sqlite3* db, int rc, const char* what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

// The PRAGMAs a workspace connection runs with (WAL, synchronous=NORMAL, its page cache, …),
// as statements to run on the reference connection.
std::string workspacePragmas(Workspace& ws)
{
    std::string out;
    for (const char* name : {"journal_mode", "synchronous", "cache_size", "mmap_size", "temp_store"}) {
        auto st = ws.db().prepare(std::string("PRAGMA ") + name);
        if (st.step()) out += std::string("PRAGMA ") + name + "=" + st.text(0) + ";";
    }
    return out;
}

struct ReferenceTimes {
    double rowsIn = 0;  // BEGIN to the last row, as ImportReport::insertSeconds
    double total = 0;   // BEGIN to COMMIT done
};

ReferenceTimes referenceInsert(const std::filesystem::path& file, const std::string& pragmas,
                               const std::vector<Conversation>& conversations)
{
    sqlite3* db = nullptr;
    check(db, sqlite3_open(file.c_str(), &db), "open");
    check(db, sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), "pragmas");
    check(db, sqlite3_exec(db, kReferenceTable, nullptr, nullptr, nullptr), "create table");
    const std::string now = "2026-01-01T00:00:00.000Z";
    const int64_t author = 2;  // the service account's id in a new workspace

    Stopwatch clock;
    check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "begin");
    sqlite3_stmt* st = nullptr;
    check(db,
          sqlite3_prepare_v2(db,
                             "INSERT INTO messages(id, parent_id, tree_id, role, text, author_id, origin, "
                             "origin_checkpoint_id, source_id, meta_json, status, revision, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                             -1, &st, nullptr),
          "prepare");
    int64_t id = 1;
    auto insert = [&](int64_t parent, int64_t tree, const char* role, const std::string& text) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        if (parent)
            sqlite3_bind_int64(st, 2, parent);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_int64(st, 3, tree);
        sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, author);
        sqlite3_bind_text(st, 7, "import", -1, SQLITE_STATIC);
        sqlite3_bind_null(st, 8);
        sqlite3_bind_null(st, 9);
        sqlite3_bind_null(st, 10);
        sqlite3_bind_text(st, 11, "approved", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 12, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
        sqlite3_bind_text(st, 13, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
        check(db, sqlite3_step(st), "insert");
        return id++;
    };
    for (const Conversation& c : conversations) {
        const int64_t root = insert(0, id, "user", c.user);
        insert(root, root, "assistant", c.assistant);
    }
    sqlite3_finalize(st);
    ReferenceTimes times;
    times.rowsIn = clock.seconds();
    check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
    times.total = clock.seconds();
    sqlite3_close(db);
    return times;
}

}  // namespace

int main(int argc, char** argv)
try {
    const int64_t records = sizeArg(argc, argv, 1, 200000);
    printMachine("bench_import");
    TempDir dir("tsumugi-bench-import");

    // Setup: the conversations in memory and as a JSONL file.
    Stopwatch genClock;
    const std::vector<Conversation> conversations = generateConversations(records, 1);
    const auto jsonl = dir / "records.jsonl";
    writeMessagesJsonl(jsonl, conversations);
    std::cout << "generated " << records << " records (" << 2 * records << " messages, "
              << std::filesystem::file_size(jsonl) / (1 << 20) << " MiB JSONL) in " << fixed(genClock.seconds(), 1)
              << " s\n";

    // Reference first, so that ours does not get a warmer page cache for free; with the
    // PRAGMAs of a workspace connection.
    Workspace ws((dir / "import.tsumugi").string(), WorkspaceOptions{.create = true});
    bootstrapAccounts(ws, "admin", std::nullopt);
    const Account service = *findAccount(ws, kServiceAccountName);
    const std::string pragmas = workspacePragmas(ws);
    std::cout << "reference PRAGMAs (as the workspace's): " << pragmas << "\n";
    // The faster of two runs, each into a fresh file, after the JSONL file is on disk: the
    // floor should not pay for another write-back in flight.
    ::sync();
    ReferenceTimes ref{1e300, 1e300};
    for (int run = 0; run < 2; ++run) {
        const auto file = dir / ("reference" + std::to_string(run) + ".sqlite");
        const ReferenceTimes t = referenceInsert(file, pragmas, conversations);
        if (t.total < ref.total) ref = t;
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
    }
    ::sync();

    // Ours.
    Stopwatch ourClock;
    const ImportReport report = importFile(ws, service, jsonl.string(), ImportOptions{});
    const double ourTotal = ourClock.seconds();
    if (report.records != records || report.messages != 2 * records)
        throw std::runtime_error("import wrote " + std::to_string(report.records) + " records, expected " +
                                 std::to_string(records));

    const double refRowsRate = double(records) / ref.rowsIn;
    const double refTotalRate = double(records) / ref.total;
    const double oursRowsRate = double(records) / report.insertSeconds;
    const double oursTotalRate = double(records) / ourTotal;
    const double ratioRows = oursRowsRate / refRowsRate;
    const double ratioTotal = oursTotalRate / refTotalRate;
    const bool passRows = oursRowsRate >= 100000 && ratioRows >= 0.8;
    const bool passTotal = oursTotalRate >= 100000 && ratioTotal >= 0.8;

    std::cout << "                                    seconds   records/s\n"
              << "reference rows in                " << fixed(ref.rowsIn, 3) << "   " << fixed(refRowsRate, 0) << "\n"
              << "reference total (with COMMIT)    " << fixed(ref.total, 3) << "   " << fixed(refTotalRate, 0) << "\n"
              << "ours rows in                     " << fixed(report.insertSeconds, 3) << "   "
              << fixed(oursRowsRate, 0) << "   (" << fixed(ratioRows) << "x the reference)\n"
              << "ours indexes, queue, COMMIT      " << fixed(report.indexSeconds, 3) << "\n"
              << "ours total                       " << fixed(ourTotal, 3) << "   " << fixed(oursTotalRate, 0) << "   ("
              << fixed(ratioTotal) << "x the reference)\n"
              << "goal: >= 100000 records/s and >= 0.80x the reference: rows in " << verdict(passRows) << ", total "
              << verdict(passTotal) << "\n";
    ResultLine("bench_import")
        .add("records", records)
        .add("ref_rows_in_records_per_s", refRowsRate, 0)
        .add("ref_total_records_per_s", refTotalRate, 0)
        .add("ours_rows_in_records_per_s", oursRowsRate, 0)
        .add("ours_total_records_per_s", oursTotalRate, 0)
        .add("ours_insert_s", report.insertSeconds, 3)
        .add("ours_index_s", report.indexSeconds, 3)
        .add("ratio_rows_in", ratioRows)
        .add("ratio_total", ratioTotal)
        .add("pass_rows_in", std::string(verdict(passRows)))
        .add("pass_total", std::string(verdict(passTotal)))
        .print();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_import: " << e.what() << "\n";
    return 1;
}
