#include <memory>

#include "options.hpp"
#include "pgsluice/commands/restore.hpp"

namespace pgsluice::cli {

void addRestoreCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "restore", "Load an archive written by `pgsluice dump` into --target, in parallel");
    auto options = std::make_shared<commands::RestoreOptions>();
    auto args = std::make_shared<LoadArgs>();
    auto io = std::make_shared<std::string>("auto");

    cmd->add_option("-f,--file", options->file, "The archive, or - for standard input")->required();
    addLoadOptions(cmd, *options, *args);
    cmd->add_option("--io", *io, "auto|uring|sync: how the archive is read")->capture_default_str();
    cmd->add_flag("--verify", options->verify,
                  "Read every loaded table back and compare it with the archive's checksums");

    cmd->callback([&action, options, args, io] {
        args->finish(*options);
        options->io = io::parseIoMode(*io);
        action = [options] { commands::runRestore(*options); };
    });
}

}  // namespace pgsluice::cli
