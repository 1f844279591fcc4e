#include "cli/output.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "datastore/accounts.h"
#include "datastore/workspace.h"

namespace tsumugi::cli {

Context& context()
{
    static Context c;
    return c;
}

void emit(const nlohmann::ordered_json& object)
{
    if (context().json) std::cout << object.dump() << '\n' << std::flush;
}

void say(const std::string& line)
{
    if (!context().json) std::cout << line << '\n';
}

namespace {
bool g_progressShown = false;
}

void progress(const std::string& line)
{
    if (context().json || !::isatty(STDERR_FILENO)) return;
    std::cerr << "\r\033[K" << line << std::flush;
    g_progressShown = true;
}

void endProgress()
{
    if (g_progressShown) std::cerr << "\r\033[K" << std::flush;
    g_progressShown = false;
}

Workspace openWorkspace(const std::string& path, bool write)
{
    WorkspaceOptions options;
    options.readOnly = !write;
    options.forceNetworkFs = context().force;
    Workspace ws(path, options);
    if (ws.onNetworkFilesystem() && !context().force)
        std::cerr << "warning: " << path << " is on a network filesystem (" << ws.networkFilesystemName()
                  << "); writes are refused because WAL needs a local disk (--force overrides)\n";
    return ws;
}

Account actingAccount(Workspace& ws)
{
    std::optional<std::string> name = context().as;
    if (!name)
        if (const char* env = std::getenv("TSUMUGI_ACCOUNT"); env && *env) name = env;
    if (!name) name = std::string(kServiceAccountName);
    std::optional<std::string> password;
    if (const char* env = std::getenv("TSUMUGI_PASSWORD")) password = env;
    if (context().passwordStdin) {
        std::string line;
        std::getline(std::cin, line);
        password = line;
    }
    return authenticate(ws, *name, password);
}

std::string humanCount(int64_t n)
{
    std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace tsumugi::cli
