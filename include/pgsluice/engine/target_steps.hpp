#pragma once

// Steps of loading a target that are plain statements on one target session.

#include <set>
#include <string>
#include <vector>

#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/retry.hpp"
#include "pgsluice/pg/connection.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/sanitize/rules.hpp"

namespace pgsluice::engine {

// Drops the objects of `archive` from the target as `pg_restore --clean --if-exists` would,
// in one transaction; with `list_file`, only the objects that pg_restore list keeps. Returns a
// warning for each drop that failed even when retried.
std::vector<std::string> cleanTarget(pg::Connection& target, const pg::SchemaTool& tool,
                                     const std::string& archive, const pg::RestoreFlags& flags,
                                     const std::string& list_file = "");

// The statements that turn the indexes built for PK/UNIQUE constraints into those constraints
// and set CLUSTER ON and REPLICA IDENTITY (each only touches the catalog), in chunks of a few
// hundred tables, one transaction each; empty for none. Tables marked in `attached` (per plan
// table) had theirs set while they loaded and are left out.
std::vector<std::string> attachSql(const Plan& plan, const std::vector<bool>& attached = {});

// Runs the rules' `after` statements on the target in one transaction (begun and committed
// with `commit`); a failure names the statement, its line in the rules file and the server's
// message.
void runAfterStatements(pg::Connection& target, const sanitize::Rules& rules,
                        CommitTracker& commit);

// The post-data entries of `toc` that already exist on the target (an interrupted attempt
// created them): indexes, constraints, triggers, rules, policies, index attachments, extended
// statistics, event triggers, populated materialized views. Other kinds are not looked for.
std::set<int> presentPostDataEntries(pg::Connection& target, const std::vector<pg::TocEntry>& toc);

}  // namespace pgsluice::engine
