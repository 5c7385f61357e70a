#include <memory>

#include "pgsluice/cli/commands.hpp"
#include "pgsluice/engine/copy_job.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::cli {

void addCopyCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "copy", "Copy a database from --source to --target directly, in parallel");
    // Options live as long as the App: the callback below runs after parsing.
    auto options = std::make_shared<engine::CopyOptions>();
    auto split = std::make_shared<std::string>("1GB");
    auto progress = std::make_shared<std::string>("auto");
    auto selection = std::make_shared<SelectionArgs>();

    addConnectionOptions(cmd, &options->source, &options->target);
    cmd->add_option("-j,--jobs", options->jobs, "Parallel data connections")->capture_default_str();
    cmd->add_option("--index-jobs", options->index_jobs, "Parallel index builds (default: --jobs)");
    cmd->add_flag("--clean", options->clean,
                  "Drop and recreate the copied objects on the target (as pg_restore --clean "
                  "--if-exists)");
    cmd->add_flag("--no-owner", options->no_owner, "Do not set object owners on the target");
    cmd->add_flag("--no-privileges", options->no_privileges,
                  "Do not copy privileges (GRANT/REVOKE)");
    cmd->add_flag("--skip-analyze", options->skip_analyze, "Do not ANALYZE the target at the end");
    cmd->add_option("--split-tables-larger-than", *split,
                    "Cut tables larger than SIZE (TOAST included) into ctid ranges")
        ->capture_default_str();
    cmd->add_option("--progress", *progress, "auto|plain|json|none")->capture_default_str();
    cmd->add_option("--report", options->report_file, "Write a JSON summary to FILE");
    cmd->add_option("--protect", options->protect,
                    "Refuse a target whose host or database matches PATTERN (repeatable; default "
                    "PGSLUICE_PROTECT or *prod*; '' clears)")
        ->allow_extra_args(false);
    cmd->add_flag("--yes", options->yes, "Do not ask before overwriting a non-empty target");
    cmd->add_flag("--swap", options->swap,
                  "Load into a new database, then rename it into the target's name (the old one "
                  "is untouched unless everything succeeded)");
    cmd->add_flag("--keep-old", options->keep_old, "--swap: keep the replaced database");
    cmd->add_flag("--terminate-connections", options->terminate_connections,
                  "--swap: end other sessions on the target database before renaming it");
    cmd->add_option("--swap-wait", options->swap_wait_seconds,
                    "--swap: seconds to wait for other sessions to leave")
        ->capture_default_str();
    cmd->add_option("--rules", options->rules_file,
                    "Rewrite columns in flight by this YAML rules file (see docs/rules.md)");
    cmd->add_flag("--verify", options->verify,
                  "Compare the copy with the source (same snapshot) before finishing");
    cmd->add_flag("-v,--verbose", options->verbose, "Say more");
    cmd->add_flag("-q,--quiet", options->quiet, "Say only errors and warnings");

    addSelectionOptions(cmd, *selection);

    auto* index_jobs_opt = cmd->get_option("--index-jobs");
    cmd->callback([&action, options, split, progress, selection, index_jobs_opt] {
        if (index_jobs_opt->count() == 0) {
            options->index_jobs = options->jobs;
        }
        if (options->swap && options->clean) {
            throw UsageError(
                "--swap and --clean exclude each other: --swap never touches the "
                "target database until the new copy is complete");
        }
        options->split_bytes = engine::parseSize(*split);
        options->progress = engine::parseProgressMode(*progress);
        options->selection = selection->resolve();
        options->drop_dangling_foreign_keys = selection->drop_dangling_foreign_keys;
        action = [options] { engine::runCopy(*options); };
    });
}

}  // namespace pgsluice::cli
