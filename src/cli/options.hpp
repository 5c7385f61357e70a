#pragma once

// The command line: one add*Command per subcommand (src/cli/<name>_command.cpp) and the option
// groups they share. Only this folder knows CLI11; the commands themselves take plain options.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pgsluice/engine/target_load.hpp"
#include "pgsluice/filter/selection.hpp"

namespace pgsluice::cli {

// What a parsed subcommand runs; throws pgsluice::Error on failure.
using Action = std::function<void()>;

// Registers `pgsluice copy` on `app`; `action` is set when the subcommand is chosen.
void addCopyCommand(CLI::App& app, Action& action);

// Registers `pgsluice verify` on `app`.
void addVerifyCommand(CLI::App& app, Action& action);

// Registers `pgsluice plan` on `app`.
void addPlanCommand(CLI::App& app, Action& action);

// Registers `pgsluice scan` on `app`.
void addScanCommand(CLI::App& app, Action& action);

// Registers `pgsluice dump` on `app`.
void addDumpCommand(CLI::App& app, Action& action);

// Registers `pgsluice restore` on `app`.
void addRestoreCommand(CLI::App& app, Action& action);

// Registers `pgsluice inspect` on `app`.
void addInspectCommand(CLI::App& app, Action& action);

// The pg_dump-style selection options of a command, filled by CLI11 while parsing.
struct SelectionArgs {
    filter::SelectionOptions options;
    std::vector<std::string> filter_files;
    bool drop_dangling_foreign_keys = false;

    // The options with every --filter file read in (errors name FILE:LINE, exit 2).
    filter::SelectionOptions resolve() const;
};

// Adds --source (and --target when `target` is not null), required, with the PGSLUICE_SOURCE
// and PGSLUICE_TARGET environment variables standing in for them.
void addConnectionOptions(CLI::App* cmd, std::string* source, std::string* target);

// Adds -t, -T, -n, -N, --exclude-table-data, the -and-children variants, --filter,
// --strict-names and --drop-dangling-foreign-keys to `cmd`.
void addSelectionOptions(CLI::App* cmd, SelectionArgs& args);

// The options of every command that writes a database (copy, restore), filled while parsing;
// finish() completes `options` in the subcommand's callback.
struct LoadArgs {
    std::string progress = "auto";
    std::string stall_timeout = "60s";
    SelectionArgs selection;
    CLI::Option* index_jobs = nullptr;

    // Resolves --progress, --filter files and the --index-jobs default; checks combinations.
    void finish(engine::LoadOptions& options) const;
};

// Adds --target and the load options (-j, --index-jobs, --clean, --no-owner, --swap, --rules,
// --verify, the selection...) to `cmd`.
void addLoadOptions(CLI::App* cmd, engine::LoadOptions& options, LoadArgs& args);

// Adds --subset TABLE:CONDITION (repeatable) to `cmd`.
void addSubsetOption(CLI::App* cmd, std::vector<std::string>& subset);

// Adds --pg-bin DIR (where pg_dump and pg_restore are) to `cmd`.
void addPgBinOption(CLI::App* cmd, std::string& pg_bin);

// Adds --retries and --stall-timeout (unattended runs) to `cmd`.
void addRetryOptions(CLI::App* cmd, int& retries, std::string& stall_timeout);

// The selection as command-line options ("-t", "public.users", ...), for an archive's manifest.
std::vector<std::string> describeSelection(const filter::SelectionOptions& selection);

}  // namespace pgsluice::cli
