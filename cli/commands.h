#pragma once

namespace CLI {
class App;
}

namespace tsumugi::cli {

// init, account, backup, stats, agreement, snapshot, task
void addWorkspaceCommands(CLI::App& app);
// import, export, search
void addDataCommands(CLI::App& app);
// check, contamination, settings
void addQualityCommands(CLI::App& app);
// tokenizer train|encode|decode, tokenize
void addTokenizerCommands(CLI::App& app);
// model init, generate (built with LibTorch only)
void addModelCommands(CLI::App& app);
// sft, runs ingest (built with LibTorch only)
void addTrainCommands(CLI::App& app);

}  // namespace tsumugi::cli
