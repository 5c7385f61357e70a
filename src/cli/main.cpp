#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "options.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/util/version.hpp"

int main(int argc, char** argv) {
    // A write to a closed pipe (`pgsluice ... | head`) must be an error we report, not a
    // silent death.
    std::signal(SIGPIPE, SIG_IGN);
    CLI::App app{"pgsluice: copy a PostgreSQL database fast, leaving out and rewriting data"};
    app.require_subcommand(1);
    app.set_version_flag("--version", pgsluice::util::version_line);
    pgsluice::cli::Action action;
    pgsluice::cli::addCopyCommand(app, action);
    pgsluice::cli::addPlanCommand(app, action);
    pgsluice::cli::addScanCommand(app, action);
    pgsluice::cli::addVerifyCommand(app, action);
    pgsluice::cli::addDumpCommand(app, action);
    pgsluice::cli::addRestoreCommand(app, action);
    pgsluice::cli::addInspectCommand(app, action);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        // CLI11 returns 0 for --help/--version; every real usage error is exit 2.
        return rc == 0 ? 0 : static_cast<int>(pgsluice::ExitCode::usage);
    } catch (const pgsluice::Error& e) {
        std::fprintf(stderr, "pgsluice: error: %s\n", e.what());
        return static_cast<int>(e.code());
    }
    try {
        action();
    } catch (const pgsluice::Error& e) {
        std::fprintf(stderr, "pgsluice: error: %s\n", e.what());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pgsluice: error: %s\n", e.what());
        return static_cast<int>(pgsluice::ExitCode::failure);
    }
    return 0;
}
