#include "options.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/filter/filter_file.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::cli {

filter::SelectionOptions SelectionArgs::resolve() const {
    filter::SelectionOptions out = options;
    for (const auto& file : filter_files) {
        filter::loadFilterFile(file, out);
    }
    return out;
}

void addConnectionOptions(CLI::App* cmd, std::string* source, std::string* target) {
    if (source) {
        cmd->add_option("--source", *source, "Source connection (URI or key=value)")
            ->envname("PGSLUICE_SOURCE")
            ->required();
    }
    if (target) {
        cmd->add_option("--target", *target, "Target connection (URI or key=value)")
            ->envname("PGSLUICE_TARGET")
            ->required();
    }
}

void addSelectionOptions(CLI::App* cmd, SelectionArgs& args) {
    auto& o = args.options;
    const char* group = "Selection (pg_dump patterns)";
    cmd->add_option("-t,--table", o.include_tables, "Copy only tables matching PATTERN")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("--table-and-children", o.include_table_and_children,
                    "Like -t, and the partitions/children of matching tables")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("-T,--exclude-table", o.exclude_tables, "Leave out tables matching PATTERN")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("--exclude-table-and-children", o.exclude_table_and_children,
                    "Like -T, and the partitions/children of matching tables")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("-n,--schema", o.include_schemas, "Copy only schemas matching PATTERN")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("-N,--exclude-schema", o.exclude_schemas, "Leave out schemas matching PATTERN")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("--exclude-table-data", o.exclude_table_data,
                    "Copy the definition of matching tables, not their rows")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("--exclude-table-data-and-children", o.exclude_table_data_and_children,
                    "Like --exclude-table-data, and for partitions/children")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_option("--filter", args.filter_files,
                    "Read include/exclude patterns from FILE (pg_dump 17 syntax)")
        ->group(group)
        ->allow_extra_args(false);
    cmd->add_flag("--strict-names", o.strict_names,
                  "Every -t/-n pattern must match something (else exit 2)")
        ->group(group);
    cmd->add_flag("--drop-dangling-foreign-keys", args.drop_dangling_foreign_keys,
                  "Copy without the foreign keys that point at rows left out (else exit 2)")
        ->group(group);
}

}  // namespace pgsluice::cli

namespace pgsluice::cli {

void addLoadOptions(CLI::App* cmd, engine::LoadOptions& options, LoadArgs& args) {
    addConnectionOptions(cmd, nullptr, &options.target);
    cmd->add_option("-j,--jobs", options.jobs, "Parallel data connections")->capture_default_str();
    args.index_jobs = cmd->add_option("--index-jobs", options.index_jobs,
                                      "Parallel index builds (default: --jobs)");
    cmd->add_flag("--clean", options.clean,
                  "Drop and recreate the loaded objects on the target (as pg_restore --clean "
                  "--if-exists)");
    cmd->add_flag("--create", options.create,
                  "Create the target database when it does not exist (owned by the connecting "
                  "user, with the source's encoding and locale)");
    cmd->add_flag("--no-owner", options.no_owner, "Do not set object owners on the target");
    cmd->add_flag("--no-privileges", options.no_privileges,
                  "Do not load privileges (GRANT/REVOKE)");
    cmd->add_flag("--skip-analyze", options.skip_analyze, "Do not ANALYZE the target at the end");
    cmd->add_option("--progress", args.progress, "auto|plain|json|none")->capture_default_str();
    cmd->add_option("--report", options.report_file, "Write a JSON summary to FILE");
    cmd->add_option("--protect", options.protect,
                    "Refuse a target whose host or database matches PATTERN (repeatable; default "
                    "PGSLUICE_PROTECT or *prod*; '' clears)")
        ->allow_extra_args(false);
    cmd->add_flag("--yes", options.yes, "Do not ask before overwriting a non-empty target");
    cmd->add_flag("--swap", options.swap,
                  "Load into a new database, then rename it into the target's name (the old one "
                  "is untouched unless everything succeeded)");
    cmd->add_flag("--keep-old", options.keep_old, "--swap: keep the replaced database");
    cmd->add_flag("--terminate-connections", options.terminate_connections,
                  "--swap: end other sessions on the target database before renaming it");
    cmd->add_option("--swap-wait", options.swap_wait_seconds,
                    "--swap: seconds to wait for other sessions to leave")
        ->capture_default_str();
    cmd->add_option("--rules", options.rules_file,
                    "Rewrite columns in flight by this YAML rules file (see docs/rules.md)");
    cmd->add_flag("--strict", options.strict,
                  "Before anything is touched, check for personal data no rule, "
                  "exclude_table_data or keep: covers, and stop (exit 2) on any: copy samples "
                  "the source, restore checks the archive's column names and types (see "
                  "docs/scan.md)");
    cmd->add_flag("-v,--verbose", options.verbose, "Say more");
    cmd->add_flag("-q,--quiet", options.quiet, "Say only errors and warnings");
    addRetryOptions(cmd, options.retries, args.stall_timeout);
    addPgBinOption(cmd, options.pg_bin);
    addSelectionOptions(cmd, args.selection);
}

void addPgBinOption(CLI::App* cmd, std::string& pg_bin) {
    cmd->add_option("--pg-bin", pg_bin,
                    "Directory of the pg_dump and pg_restore to use (default: PGSLUICE_PG_BIN, "
                    "then PATH, then the newest suitable /usr/lib/postgresql/*/bin)");
}

void addSubsetOption(CLI::App* cmd, std::vector<std::string>& subset) {
    cmd->add_option("--subset", subset,
                    "Copy a consistent slice: rows of TABLE matching CONDITION (TABLE:CONDITION), "
                    "the rows they reference, and the rows that follow them (see docs/rules.md)")
        ->allow_extra_args(false)
        ->group("Selection (pg_dump patterns)");
}

void addRetryOptions(CLI::App* cmd, int& retries, std::string& stall_timeout) {
    const char* group = "Unattended runs";
    cmd->add_option("--retries", retries,
                    "Times a unit or step is tried again after a transient failure (a lost "
                    "connection, a server restarting), inside the same snapshot")
        ->capture_default_str()
        ->group(group);
    cmd->add_option("--stall-timeout", stall_timeout,
                    "A data connection on which no byte moved for this long is taken for dead "
                    "and retried (e.g. 60s, 5min; 0: never)")
        ->capture_default_str()
        ->group(group);
}

void LoadArgs::finish(engine::LoadOptions& options) const {
    if (index_jobs->count() == 0) {
        options.index_jobs = options.jobs;
    }
    if (options.swap && options.clean) {
        throw UsageError(
            "--swap and --clean exclude each other: --swap never touches the "
            "target database until the new copy is complete");
    }
    options.progress = engine::parseProgressMode(progress);
    options.stall_timeout_seconds = static_cast<int>(util::parseDuration(stall_timeout));
    options.selection = selection.resolve();
    options.drop_dangling_foreign_keys = selection.drop_dangling_foreign_keys;
}

std::vector<std::string> describeSelection(const filter::SelectionOptions& s) {
    std::vector<std::string> out;
    auto add = [&](const char* option, const std::vector<std::string>& patterns) {
        for (const auto& p : patterns) {
            out.emplace_back(option);
            out.push_back(p);
        }
    };
    add("--table", s.include_tables);
    add("--table-and-children", s.include_table_and_children);
    add("--exclude-table", s.exclude_tables);
    add("--exclude-table-and-children", s.exclude_table_and_children);
    add("--schema", s.include_schemas);
    add("--exclude-schema", s.exclude_schemas);
    add("--exclude-table-data", s.exclude_table_data);
    add("--exclude-table-data-and-children", s.exclude_table_data_and_children);
    if (s.strict_names) {
        out.emplace_back("--strict-names");
    }
    return out;
}

}  // namespace pgsluice::cli
