#include <memory>

#include "options.hpp"
#include "pgsluice/commands/copy.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::cli {

void addCopyCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "copy", "Copy a database from --source to --target directly, in parallel");
    // Options live as long as the App: the callback below runs after parsing.
    auto options = std::make_shared<commands::CopyOptions>();
    auto args = std::make_shared<LoadArgs>();
    auto split = std::make_shared<std::string>("1GB");

    addConnectionOptions(cmd, &options->source, nullptr);
    addLoadOptions(cmd, *options, *args);
    cmd->add_option("--split-tables-larger-than", *split,
                    "Cut tables larger than SIZE (TOAST included) into ctid ranges")
        ->capture_default_str();
    addSubsetOption(cmd, options->subset);
    cmd->add_flag("--verify", options->verify,
                  "Compare the copy with the source (same snapshot) before finishing");

    cmd->callback([&action, options, args, split] {
        args->finish(*options);
        options->split_bytes = util::parseSize(*split);
        action = [options] { commands::runCopy(*options); };
    });
}

}  // namespace pgsluice::cli
