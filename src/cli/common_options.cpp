#include "pgsluice/cli/commands.hpp"
#include "pgsluice/filter/filter_file.hpp"

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
