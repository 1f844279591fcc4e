// tsumugi — the command line. Parses flags and calls the libraries; the only place (with
// the annotator's top level) that catches errors, prints them and exits non-zero.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"

int main(int argc, char** argv)
{
    using namespace tsumugi;
    CLI::App app{"Tsumugi (紡): instruction data and alignment for Japanese LLMs", "tsumugi"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "tsumugi 0.1.0");
    auto& ctx = cli::context();
    app.add_option("--as", ctx.as, "Act as this account (default: $TSUMUGI_ACCOUNT, else the service account)");
    app.add_flag("--json", ctx.json, "Print one JSON object per line");
    app.add_flag("--password-stdin", ctx.passwordStdin, "Read the acting account's password from standard input");
    app.add_flag("--force", ctx.force, "Write to a workspace on a network filesystem anyway");
    app.fallthrough();

    cli::addWorkspaceCommands(app);
    cli::addDataCommands(app);
    cli::addQualityCommands(app);
    cli::addTokenizerCommands(app);
#ifdef TSUMUGI_WITH_MODEL
    cli::addModelCommands(app);
    cli::addTrainCommands(app);
#endif

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const ParseError& e) {
        cli::endProgress();
        std::cerr << "tsumugi: " << e.what() << "\n";
        return 65;  // EX_DATAERR
    } catch (const PermissionError& e) {
        cli::endProgress();
        std::cerr << "tsumugi: permission denied: " << e.what() << "\n";
        return 77;  // EX_NOPERM
    } catch (const ConflictError& e) {
        cli::endProgress();
        std::cerr << "tsumugi: conflict: " << e.what() << "\n";
        return 75;  // EX_TEMPFAIL
    } catch (const Error& e) {
        cli::endProgress();
        std::cerr << "tsumugi: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        cli::endProgress();
        std::cerr << "tsumugi: unexpected error: " << e.what() << "\n";
        return 70;
    }
    return 0;
}
