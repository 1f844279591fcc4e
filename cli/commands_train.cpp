// Training commands: sft (supervised fine-tuning on a snapshot) and runs ingest (a run directory's
// metrics.jsonl into the workspace, for runs that trained away from it). Built with LibTorch only.
#include "sft/recipe.h"
#include "training/checkpoint.h"
#include "training/metrics.h"

#include <CLI/CLI.hpp>

#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "datastore/runs.h"
#include "datastore/workspace.h"

namespace tsumugi::cli {

namespace {

training::MetricsOptions terminalOutput(const std::string& runDir)
{
    training::MetricsOptions m;
    m.runDir = runDir;
    m.emit = [](const nlohmann::ordered_json& j) { emit(j); };
    m.say = [](const std::string& line) {
        endProgress();
        say(line);
    };
    m.progress = [](const std::string& line) { progress(line); };
    return m;
}

void addSft(CLI::App& app)
{
    struct Options {
        std::string ws, lora, paths = "consensus", overlong = "drop", schedule = "cosine";
        sft::SftOptions sft;
        bool noPack = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("sft", "Supervised fine-tuning on a snapshot (full or LoRA), resumable");
    cmd->add_option("workspace", o->ws, "Workspace file")->required();
    cmd->add_option("--base", o->sft.base, "The model to start from (a Hugging Face directory)")->required();
    cmd->add_option("--snapshot", o->sft.snapshot, "The snapshot to train on (its test split validates)")->required();
    cmd->add_option("--out", o->sft.out, "The run directory (checkpoints, metrics.jsonl)")->required();
    cmd->add_option("--template", o->sft.templateName, "A named chat template instead of the base model's own");
    cmd->add_option("--seq-len", o->sft.seqLen, "Tokens per row (default: min(2048, the model's limit))");
    cmd->add_option("--batch-size", o->sft.batchSize, "Rows per micro-batch")->capture_default_str();
    cmd->add_option("--grad-accum", o->sft.gradAccum, "Micro-batches per optimizer step")->capture_default_str();
    cmd->add_option("--epochs", o->sft.epochs, "Passes over the data")->capture_default_str();
    cmd->add_option("--max-steps", o->sft.maxSteps, "Stop after this many optimizer steps (overrides --epochs)");
    cmd->add_option("--lr", o->sft.lr, "Peak learning rate")->capture_default_str();
    cmd->add_option("--min-lr-ratio", o->sft.minLrRatio, "Floor of the decay as a share of the peak")->capture_default_str();
    cmd->add_option("--warmup-steps", o->sft.warmupSteps, "Linear warmup steps")->capture_default_str();
    cmd->add_option("--schedule", o->schedule, "cosine | linear | constant")->capture_default_str();
    cmd->add_option("--weight-decay", o->sft.weightDecay, "AdamW weight decay (not on norms and biases)")->capture_default_str();
    cmd->add_option("--max-grad-norm", o->sft.maxGradNorm, "Global gradient-norm clip (0: off)")->capture_default_str();
    cmd->add_option("--seed", o->sft.seed, "Seed of data order, LoRA init and dropout")->capture_default_str();
    cmd->add_flag("--no-pack", o->noPack, "Pad length-bucketed batches instead of packing rows");
    cmd->add_option("--paths", o->paths, "consensus | all | best: which branches of a tree to train on")->capture_default_str();
    cmd->add_option("--overlong", o->overlong, "drop | truncate conversations longer than --seq-len")->capture_default_str();
    cmd->add_flag("--all-tokens", o->sft.allTokens, "Train on every token, not only the assistant's");
    cmd->add_option("--lora", o->lora, "LoRA instead of a full fine-tune: r=16,alpha=32,dropout=0.05,targets=q,k,v,o,gate,up,down");
    cmd->add_flag("--save-merged", o->sft.saveMerged, "LoRA: also save the merged model in the final checkpoint");
    cmd->add_option("--save-every", o->sft.saveEvery, "Checkpoint every N steps (0: at the end)")->capture_default_str();
    cmd->add_option("--keep", o->sft.keepLast, "Checkpoints kept (0: all)")->capture_default_str();
    cmd->add_option("--eval-every", o->sft.evalEvery, "Validation loss every N steps (0: at the end)")->capture_default_str();
    cmd->add_flag("--resume", o->sft.resume, "Continue from the run directory's latest checkpoint");
    cmd->add_flag("--activation-checkpointing", o->sft.activationCheckpointing,
                  "Recompute each layer in the backward pass instead of keeping its activations");
    cmd->add_option("--device", o->sft.device, "cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--dtype", o->sft.dtype, "float32 | bfloat16 | float16 (default: bfloat16 on CUDA, float32 on CPU)");
    cmd->add_option("--spike-sigmas", o->sft.guard.sigmas, "A loss this many standard deviations above the recent mean is a spike")
        ->capture_default_str();
    cmd->add_option("--max-spikes", o->sft.guard.maxSpikes, "Skipped steps within 50 steps that trigger a rollback")
        ->capture_default_str();
    cmd->add_option("--notify-cmd", o->sft.notifyCmd, "Run on failure, rollback and completion with a JSON payload on stdin");
    cmd->add_flag("--dry-run", o->sft.dryRun, "Print the plan (examples, tokens, steps, memory, one masked example) and stop");
    cmd->callback([o] {
        o->sft.pack = !o->noPack;
        o->sft.paths = sft::parsePathSelection(o->paths);
        o->sft.overlong = sft::parseOverlong(o->overlong);
        o->sft.schedule = training::parseSchedule(o->schedule);
        if (!o->lora.empty()) o->sft.lora = sft::parseLoraSpec(o->lora);
        Workspace ws = openWorkspace(o->ws, true);
        const Account actor = actingAccount(ws);
        const sft::SftResult r = sft::runSft(ws, actor, o->sft, terminalOutput(o->sft.dryRun ? "" : o->sft.out));
        endProgress();
        if (o->sft.dryRun) return;
        std::string summary = "trained " + std::to_string(r.steps) + " steps";
        if (!r.losses.empty()) summary += ", last loss " + std::to_string(r.losses.back());
        if (r.validationLoss) summary += ", validation loss " + std::to_string(*r.validationLoss);
        if (r.skippedSteps) summary += ", " + std::to_string(r.skippedSteps) + " steps skipped by the guard";
        say(summary + "; checkpoint " + r.finalCheckpoint);
        emit({{"event", "sft.done"}, {"run_id", r.runId}, {"steps", r.steps}, {"checkpoint", r.finalCheckpoint},
              {"skipped", r.skippedSteps}, {"rollbacks", r.rollbacks}});
    });
}

void addRuns(CLI::App& app)
{
    auto* runs = app.add_subcommand("runs", "Training runs recorded in a workspace");
    runs->require_subcommand(1);
    struct Options {
        std::string ws, runDir;
        int64_t runId = 0;
    };
    auto o = std::make_shared<Options>();
    auto* ingest = runs->add_subcommand("ingest", "Load a run directory's metrics.jsonl into the workspace");
    ingest->add_option("workspace", o->ws, "Workspace file")->required();
    ingest->add_option("run_dir", o->runDir, "The run directory")->required();
    ingest->add_option("--run-id", o->runId, "The run to add to (default: the one the run directory names)");
    ingest->callback([o] {
        Workspace ws = openWorkspace(o->ws, true);
        const Account actor = actingAccount(ws);
        int64_t runId = o->runId;
        if (!runId) {
            const auto last = training::latestCheckpoint(o->runDir);
            if (!last) throw Error(o->runDir + " has no checkpoint naming its run; give --run-id");
            std::ifstream in(*last + "/" + training::kTrainerStateName);
            runId = nlohmann::json::parse(in).at("extra").value("run_id", int64_t(0));
            if (!runId) throw Error(*last + " names no run; give --run-id");
        }
        (void)runById(ws, runId);
        const int64_t lines = training::ingestMetrics(ws, actor, runId, o->runDir + "/metrics.jsonl");
        say("ingested " + std::to_string(lines) + " lines into run " + std::to_string(runId));
        emit({{"event", "runs.ingest"}, {"run_id", runId}, {"lines", lines}});
    });
}

}  // namespace

void addTrainCommands(CLI::App& app)
{
    addSft(app);
    addRuns(app);
}

}  // namespace tsumugi::cli
