#include "pgsluice/commands/inspect.hpp"

#include <fmt/format.h>

#include <ostream>

#include "pgsluice/engine/inspect_report.hpp"
#include "pgsluice/engine/inspection.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::commands {

void runInspect(const InspectOptions& options, std::ostream& out) {
    using nlohmann::ordered_json;
    const engine::Inspection inspection =
        engine::inspectArchive(options.file, options.io, options.verify);
    const ordered_json report = engine::buildInspectReport(
        inspection.facts, inspection.contents, inspection.results ? &*inspection.results : nullptr);
    if (options.json) {
        // Strings from the archive went through a JSON parser, but the writer name in the file
        // header did not: replace invalid UTF-8 instead of throwing.
        out << report.dump(2, ' ', false, ordered_json::error_handler_t::replace) << '\n';
    } else {
        out << engine::formatInspectText(report);
    }
    out.flush();
    if (!out) {
        throw Error("cannot write the report of archive " + inspection.facts.name);
    }
    const std::string status = report["status"].get<std::string>();
    if (status != "complete") {
        std::vector<std::string> problems;
        for (const auto& p : report["problems"]) {
            problems.push_back(p.get<std::string>());
        }
        throw FormatError(fmt::format("archive {} is {}: {}", inspection.facts.name, status,
                                      engine::joinNames(problems, 5, "; ")));
    }
}

}  // namespace pgsluice::commands
