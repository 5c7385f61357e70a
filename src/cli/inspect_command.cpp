#include <iostream>
#include <memory>

#include "options.hpp"
#include "pgsluice/commands/inspect.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::cli {

void addInspectCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "inspect",
        "Show what an archive holds (source, filters, tables, rows, checksums) and check that "
        "it is complete (exit 1 if it is damaged or truncated)");
    auto options = std::make_shared<commands::InspectOptions>();
    auto format = std::make_shared<std::string>("text");
    auto io = std::make_shared<std::string>("auto");
    cmd->add_option("file", options->file, "The archive, or - for standard input")->required();
    cmd->add_option("--format", *format, "text|json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->add_option("--io", *io, "How to read the file: auto|uring|sync")
        ->check(CLI::IsMember({"auto", "uring", "sync"}))
        ->capture_default_str();
    cmd->add_flag("--verify", options->verify,
                  "Read and check every frame of a file, not only its footer index and manifests "
                  "(standard input is always checked whole)");
    cmd->callback([&action, options, format, io] {
        options->json = *format == "json";
        options->io = io::parseIoMode(*io);
        action = [options] { commands::runInspect(*options, std::cout); };
    });
}

}  // namespace pgsluice::cli
