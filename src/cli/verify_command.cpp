#include <memory>

#include "options.hpp"
#include "pgsluice/commands/verify.hpp"

namespace pgsluice::cli {

void addVerifyCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "verify",
        "Compare source and target: tables, row counts and content hashes (exit 1 if "
        "they differ)");
    auto options = std::make_shared<commands::VerifyOptions>();
    auto format = std::make_shared<std::string>("text");
    auto selection = std::make_shared<SelectionArgs>();
    addConnectionOptions(cmd, &options->source, &options->target);
    cmd->add_option("-j,--jobs", options->jobs, "Parallel connections per side")
        ->capture_default_str();
    cmd->add_option("--format", *format, "text|json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    addSubsetOption(cmd, options->subset);
    cmd->add_option("--rules", options->rules_file,
                    "Compare with what a copy sanitised by these rules holds");
    addSelectionOptions(cmd, *selection);
    cmd->callback([&action, options, format, selection] {
        options->json = *format == "json";
        options->selection = selection->resolve();
        action = [options] { commands::runVerify(*options); };
    });
}

}  // namespace pgsluice::cli
