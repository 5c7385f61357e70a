#include <memory>

#include "options.hpp"
#include "pgsluice/commands/plan.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::cli {

void addPlanCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "plan", "Show what a copy or dump would do, table by table, and check the selection");
    auto request = std::make_shared<commands::PlanRequest>();
    auto split = std::make_shared<std::string>("1GB");
    auto format = std::make_shared<std::string>("text");
    auto selection = std::make_shared<SelectionArgs>();
    addConnectionOptions(cmd, &request->source, nullptr);
    cmd->add_option("-j,--jobs", request->jobs, "Parallel data connections the plan is for")
        ->capture_default_str();
    cmd->add_option("--split-tables-larger-than", *split, "Cut tables larger than SIZE")
        ->capture_default_str();
    cmd->add_option("--format", *format, "text|json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    addSubsetOption(cmd, request->subset);
    cmd->add_option("--rules", request->rules_file,
                    "Check this rules file against the source and show what it rewrites");
    cmd->add_flag("--strict", request->strict,
                  "Before anything is touched, scan the source for personal data and stop (exit 2) "
                  "on any column no rule, exclude_table_data or keep: covers (see docs/scan.md)");
    addSelectionOptions(cmd, *selection);
    cmd->callback([&action, request, split, format, selection] {
        request->split_bytes = util::parseSize(*split);
        request->json = *format == "json";
        request->selection = selection->resolve();
        request->drop_dangling_foreign_keys = selection->drop_dangling_foreign_keys;
        action = [request] { commands::runPlan(*request); };
    });
}

}  // namespace pgsluice::cli
