#include <memory>

#include "options.hpp"
#include "pgsluice/commands/dump.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::cli {

void addDumpCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "dump", "Write --source to a compressed archive (a file, or - for standard output)");
    auto options = std::make_shared<commands::DumpOptions>();
    auto split = std::make_shared<std::string>("1GB");
    auto progress = std::make_shared<std::string>("auto");
    auto compress = std::make_shared<std::string>("zstd");
    auto io = std::make_shared<std::string>("auto");
    auto stall = std::make_shared<std::string>("60s");
    auto selection = std::make_shared<SelectionArgs>();

    addConnectionOptions(cmd, &options->source, nullptr);
    cmd->add_option("-f,--file", options->file,
                    "The archive to write (it appears only when complete), or - for standard "
                    "output")
        ->required();
    cmd->add_option("-j,--jobs", options->jobs, "Parallel source connections and compressors")
        ->capture_default_str();
    cmd->add_option("--compress", *compress, "zstd or zstd:LEVEL (1-19)")->capture_default_str();
    cmd->add_option("--io", *io, "auto|uring|sync: how the archive is written")
        ->capture_default_str();
    cmd->add_option("--split-tables-larger-than", *split,
                    "Cut tables larger than SIZE (TOAST included) into ctid ranges")
        ->capture_default_str();
    addSubsetOption(cmd, options->subset);
    addRetryOptions(cmd, options->retries, *stall);
    cmd->add_option("--rules", options->rules_file,
                    "Rewrite columns by this YAML rules file before they reach the archive");
    cmd->add_flag("--strict", options->strict,
                  "Before anything is touched, scan the source for personal data and stop (exit 2) "
                  "on any column no rule, exclude_table_data or keep: covers (see docs/scan.md)");
    cmd->add_option("--progress", *progress, "auto|plain|json|none")->capture_default_str();
    cmd->add_option("--report", options->report_file, "Write a JSON summary to FILE");
    addPgBinOption(cmd, options->pg_bin);
    cmd->add_flag("-v,--verbose", options->verbose, "Say more");
    cmd->add_flag("-q,--quiet", options->quiet, "Say only errors and warnings");
    addSelectionOptions(cmd, *selection);

    cmd->callback([&action, options, split, progress, compress, io, selection, stall] {
        options->stall_timeout_seconds = static_cast<int>(util::parseDuration(*stall));
        options->split_bytes = util::parseSize(*split);
        options->progress = engine::parseProgressMode(*progress);
        options->compression_level = engine::parseCompression(*compress);
        options->io = io::parseIoMode(*io);
        options->selection = selection->resolve();
        options->selection_args = describeSelection(options->selection);
        options->drop_dangling_foreign_keys = selection->drop_dangling_foreign_keys;
        action = [options] { commands::runDump(*options); };
    });
}

}  // namespace pgsluice::cli
