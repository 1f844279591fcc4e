#pragma once

namespace CLI {
class App;
}

namespace tsumugi::cli {

// init, account, backup, stats, agreement, snapshot, task
void addWorkspaceCommands(CLI::App& app);
// import, export, search
void addDataCommands(CLI::App& app);
// tokenizer train|encode|decode, tokenize
void addTokenizerCommands(CLI::App& app);

}  // namespace tsumugi::cli
