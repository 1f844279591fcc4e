#pragma once

namespace CLI {
class App;
}

namespace tsumugi::cli {

// init, account, backup, stats, agreement, snapshot, task
void addWorkspaceCommands(CLI::App& app);
// import, export, search
void addDataCommands(CLI::App& app);

}  // namespace tsumugi::cli
