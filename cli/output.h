// How the CLI talks: human lines on stdout, progress on stderr (only on a terminal), or
// with --json one JSON object per line on stdout for programs (the annotator) to read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tsumugi {
class Workspace;
struct Account;
}

namespace tsumugi::cli {

struct Context {
    std::optional<std::string> as;  // --as or TSUMUGI_ACCOUNT
    bool json = false;
    bool passwordStdin = false;
    bool force = false;  // network filesystems
};

Context& context();

void emit(const nlohmann::ordered_json& object);  // --json only
void say(const std::string& line);                // human output unless --json
void progress(const std::string& line);           // \r-updated line on a terminal
void endProgress();

// The workspace, opened for writing or reading.
Workspace openWorkspace(const std::string& path, bool write);
// The acting account: --as / TSUMUGI_ACCOUNT, else the local service account.
Account actingAccount(Workspace& ws);

std::string humanCount(int64_t n);

}  // namespace tsumugi::cli
