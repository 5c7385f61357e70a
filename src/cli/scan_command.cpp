#include <memory>

#include "options.hpp"
#include "pgsluice/commands/scan.hpp"

namespace pgsluice::cli {

void addScanCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "scan",
        "Find columns that likely hold personal data, by name and by sampled values (read-only; "
        "never prints a value)");
    cmd->footer(
        "Each selected table is read inside one snapshot by at most --sample-rows rows: "
        "SELECT <text and json columns> FROM t TABLESAMPLE SYSTEM(p) LIMIT N when the table's "
        "estimate is over 4N rows (p aims at 2N rows), else SELECT ... LIMIT N. Exit 0 when it "
        "ran, findings or not. See docs/scan.md.");
    auto request = std::make_shared<commands::ScanRequest>();
    auto format = std::make_shared<std::string>("text");
    auto selection = std::make_shared<SelectionArgs>();
    addConnectionOptions(cmd, &request->source, nullptr);
    cmd->add_option("--rules", request->rules_file,
                    "Mark the findings this rules file covers (a rule, exclude_table_data, keep)");
    cmd->add_option("--sample-rows", request->sample_rows, "Rows read per table, at most")
        ->capture_default_str();
    cmd->add_option("--format", *format,
                    "text (for people), json (stable: docs/scan.md) or yaml (a draft rules file)")
        ->check(CLI::IsMember({"text", "json", "yaml"}))
        ->capture_default_str();
    cmd->add_flag("-v,--verbose", request->verbose, "Name each table as it is sampled");
    addSelectionOptions(cmd, *selection);
    cmd->callback([&action, request, format, selection] {
        request->format = *format == "json"   ? commands::ScanFormat::json
                          : *format == "yaml" ? commands::ScanFormat::yaml
                                              : commands::ScanFormat::text;
        request->selection = selection->resolve();
        action = [request] { commands::runScan(*request); };
    });
}

}  // namespace pgsluice::cli
