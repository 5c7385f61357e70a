#include "pgsluice/engine/subset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "pgsluice/error.hpp"
#include "pgsluice/filter/pattern.hpp"
#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::engine {

const Subset::Table& Subset::table(std::uint32_t oid) const {
    static const Table whole;
    auto it = tables_.find(oid);
    return it == tables_.end() ? whole : it->second;
}

namespace {

// One row: the leaf table it lives in and its packed ctid.
struct RowRef {
    std::uint32_t leaf = 0;
    std::uint64_t ctid = 0;
};

// Parses a ctid's text, "(12,3)".
std::uint64_t parseCtid(std::string_view text) {
    unsigned long block = 0;
    unsigned long item = 0;
    if (std::sscanf(std::string(text).c_str(), "(%lu,%lu)", &block, &item) != 2 || item > 0xFFFF ||
        block > 0xFFFFFFFFul) {
        throw Error(fmt::format("internal error: unexpected ctid {}", text));
    }
    return packCtid(static_cast<std::uint32_t>(block), static_cast<std::uint16_t>(item));
}

// A relation that takes part in the subset: a plain table or a partitioned one (whose rows
// live in its leaves).
struct Node {
    const pg::Table* table = nullptr;
    std::string from;                   // "ONLY s.t" or "s.t" (partitioned)
    std::vector<std::uint32_t> leaves;  // the tables holding its rows that the run moves
    std::string condition;
    std::string where;
    SubsetRole role = SubsetRole::whole;
    bool dirty = true;  // a follower whose parents' kept rows grew since it was computed
};

// A foreign key (or virtual one) between two nodes, and the child rows not yet pulled through
// it.
struct Edge {
    Node* child = nullptr;
    Node* parent = nullptr;
    std::vector<std::string> child_columns;
    std::vector<std::string> parent_columns;
    std::string name;
    std::vector<RowRef> pending;
};

}  // namespace

// Builds a Subset: the nodes and edges of the catalogue, then the kept rows to a fixpoint.
class SubsetBuilder {
  public:
    SubsetBuilder(pg::Connection& conn, const pg::Catalog& catalog, const TableSelection& selection,
                  const SubsetSpec& spec)
        : conn_(conn), catalog_(catalog), selection_(selection), spec_(spec) {}

    std::shared_ptr<const Subset> build();

  private:
    Node* node(std::uint32_t oid);
    std::vector<const pg::Table*> match(const std::string& pattern, const std::string& where);
    void addConditions();
    void addEdges();
    void classify();
    void seedConditions();
    bool pullIn();
    bool follow();
    bool add(Node& node, const RowRef& row, bool pulled);
    std::vector<RowRef> rows(const std::string& sql,
                             const std::vector<std::optional<std::string>>& params);
    std::string keptParameter(const Node& node, std::vector<std::optional<std::string>>& params);
    static std::string rowFilter(const Node& node, const std::string& alias, int oid_param,
                                 int tid_param);
    std::shared_ptr<Subset> result();

    pg::Connection& conn_;
    const pg::Catalog& catalog_;
    const TableSelection& selection_;
    const SubsetSpec& spec_;
    std::map<std::uint32_t, Node> nodes_;
    std::vector<Edge> edges_;
    std::unordered_map<std::uint32_t, std::unordered_set<std::uint64_t>> kept_;  // by leaf
    std::unordered_map<std::uint32_t, std::uint64_t> matched_;
    std::unordered_map<std::uint32_t, std::uint64_t> pulled_;
    int iterations_ = 0;
};

// The node of relation `oid`, made on first use; null for a relation that holds no moving rows.
Node* SubsetBuilder::node(std::uint32_t oid) {
    if (auto it = nodes_.find(oid); it != nodes_.end()) {
        return &it->second;
    }
    const pg::Table* table = catalog_.find(oid);
    if (!table || (table->relkind != 'r' && table->relkind != 'p')) {
        return nullptr;
    }
    Node n;
    n.table = table;
    n.from = (table->relkind == 'r' ? "ONLY " : "") + table->qualified;
    auto moves = [&](const pg::Table& t) {
        return t.holdsData() && !selection_.skip.count(t.oid) &&
               !selection_.schema_only.count(t.oid);
    };
    for (const auto& t : catalog_.tables) {
        bool below = t.oid == oid ||
                     std::find(t.ancestors.begin(), t.ancestors.end(), oid) != t.ancestors.end();
        // A plain table's rows are its own: inheritance children are tables of their own.
        if (below && moves(t) && (table->relkind == 'p' || t.oid == oid)) {
            n.leaves.push_back(t.oid);
        }
    }
    if (n.leaves.empty()) {
        return nullptr;
    }
    return &nodes_.emplace(oid, std::move(n)).first->second;
}

std::vector<const pg::Table*> SubsetBuilder::match(const std::string& text,
                                                   const std::string& where) {
    filter::Pattern pattern = [&] {
        try {
            return filter::Pattern::parse(text, filter::PatternKind::relation);
        } catch (const UsageError& e) {
            throw UsageError(fmt::format("{}: subset table {}", where, e.what()));
        }
    }();
    std::vector<const pg::Table*> out;
    for (const auto& t : catalog_.tables) {
        if ((t.relkind == 'r' || t.relkind == 'p') &&
            pattern.matches({t.schema, t.name, t.visible})) {
            out.push_back(&t);
        }
    }
    if (out.empty()) {
        throw UsageError(fmt::format(
            "{}: subset table pattern \"{}\" matches no table in the source; check the spelling "
            "(names match as in pg_dump -t)",
            where, text));
    }
    return out;
}

// Conditions for one table combine with OR; a --subset condition replaces the rules file's
// conditions for the tables it matches (a one-off on top of the staging rules).
void SubsetBuilder::addConditions() {
    std::set<std::uint32_t> from_command_line;
    for (const auto& c : spec_.conditions) {
        for (const pg::Table* t : match(c.pattern, c.where)) {
            if (c.where == "--subset") {
                from_command_line.insert(t->oid);
            }
        }
    }
    for (const auto& c : spec_.conditions) {
        for (const pg::Table* t : match(c.pattern, c.where)) {
            Node* n = node(t->oid);
            if (!n || (c.where != "--subset" && from_command_line.count(t->oid))) {
                continue;  // its rows do not move in this run, or --subset overrides the file
            }
            n->condition =
                n->condition.empty() ? "(" + c.sql + ")" : n->condition + " OR (" + c.sql + ")";
            n->where = n->where.empty() ? c.where : n->where + ", " + c.where;
        }
    }
}

void SubsetBuilder::addEdges() {
    for (const auto& fk : catalog_.foreign_keys) {
        Node* child = node(fk.table);
        Node* parent = node(fk.referenced);
        if (child && parent && !fk.columns.empty() &&
            fk.columns.size() == fk.referenced_columns.size()) {
            edges_.push_back({child, parent, fk.columns, fk.referenced_columns, fk.name, {}});
        }
    }
    for (const auto& v : spec_.virtual_keys) {
        std::vector<const pg::Table*> from = match(v.from_pattern, v.where);
        std::vector<const pg::Table*> to = match(v.to_pattern, v.where);
        if (from.size() != 1 || to.size() != 1) {
            throw UsageError(fmt::format(
                "{}: a virtual foreign key links one table to one table, but \"{}\" matches {} "
                "and \"{}\" matches {}",
                v.where, v.from_pattern, from.size(), v.to_pattern, to.size()));
        }
        if (v.from_columns.empty() || v.from_columns.size() != v.to_columns.size()) {
            throw UsageError(fmt::format(
                "{}: a virtual foreign key needs as many columns on each side, at least one",
                v.where));
        }
        auto requireColumns = [&](const pg::Table& t, const std::vector<std::string>& columns) {
            for (const auto& c : columns) {
                bool found = std::any_of(t.columns.begin(), t.columns.end(),
                                         [&](const pg::Column& col) { return col.name == c; });
                // A partitioned table's columns are its leaves' (the catalogue keeps them
                // there); the server checks those.
                if (!found && t.relkind == 'r') {
                    throw UsageError(fmt::format("{}: virtual foreign key: {} has no column \"{}\"",
                                                 v.where, t.qualified, c));
                }
            }
        };
        requireColumns(*from.front(), v.from_columns);
        requireColumns(*to.front(), v.to_columns);
        Node* child = node(from.front()->oid);
        Node* parent = node(to.front()->oid);
        if (child && parent) {
            edges_.push_back({child,
                              parent,
                              v.from_columns,
                              v.to_columns,
                              "virtual " + v.from_pattern + " -> " + v.to_pattern,
                              {}});
        }
    }
}

// Condition tables, then every table that references a subsetted one without a condition of
// its own: it follows its parents.
void SubsetBuilder::classify() {
    for (auto& [oid, n] : nodes_) {
        if (!n.condition.empty()) {
            n.role = SubsetRole::condition;
        }
    }
    for (bool grew = true; grew;) {
        grew = false;
        for (const Edge& e : edges_) {
            if (e.parent->role != SubsetRole::whole && e.child->role == SubsetRole::whole) {
                e.child->role = SubsetRole::follows;
                grew = true;
            }
        }
    }
}

std::vector<RowRef> SubsetBuilder::rows(const std::string& sql,
                                        const std::vector<std::optional<std::string>>& params) {
    pg::Result res = conn_.execParams(sql, params);
    std::vector<RowRef> out;
    out.reserve(static_cast<size_t>(res.rows()));
    for (int r = 0; r < res.rows(); ++r) {
        out.push_back({static_cast<std::uint32_t>(res.getInt(r, 0)), parseCtid(res.get(r, 1))});
    }
    return out;
}

// A filter on `alias`'s rows that keeps the rows given as parameters $oid_param (oid[]) and
// $tid_param (tid[]).
std::string SubsetBuilder::rowFilter(const Node& node, const std::string& alias, int oid_param,
                                     int tid_param) {
    if (node.table->relkind == 'r') {
        // The table oids are not needed, but every parameter must have a type.
        return fmt::format(
            "({}.ctid = ANY(${}::pg_catalog.tid[]) AND ${}::pg_catalog.oid[] IS NOT NULL)", alias,
            tid_param, oid_param);
    }
    return fmt::format(
        "({0}.tableoid, {0}.ctid) IN (SELECT * FROM ROWS FROM "
        "(pg_catalog.unnest(${1}::pg_catalog.oid[]), pg_catalog.unnest(${2}::pg_catalog.tid[])))",
        alias, oid_param, tid_param);
}

// Adds `row` to the kept rows of `node`; true when it was new. A row kept for a condition or
// pulled in must pull its own parents in; a row kept by following its parents points at kept
// rows already.
bool SubsetBuilder::add(Node& node, const RowRef& row, bool pulled) {
    if (!kept_[row.leaf].insert(row.ctid).second) {
        return false;
    }
    ++(pulled ? pulled_ : matched_)[row.leaf];
    if (pulled || node.role == SubsetRole::condition) {
        for (Edge& e : edges_) {
            if (e.child == &node && e.parent->role != SubsetRole::whole) {
                e.pending.push_back(row);
            }
        }
    }
    for (const Edge& e : edges_) {
        if (e.parent == &node && e.child->role == SubsetRole::follows) {
            e.child->dirty = true;
        }
    }
    return true;
}

void SubsetBuilder::seedConditions() {
    for (auto& [oid, n] : nodes_) {
        if (n.role != SubsetRole::condition) {
            continue;
        }
        std::vector<RowRef> found;
        try {
            found = rows(fmt::format("SELECT tableoid, ctid FROM {} WHERE {}", n.from, n.condition),
                         {});
        } catch (const pg::PgError& e) {
            if (e.connectionLost()) {
                throw;
            }
            throw UsageError(fmt::format("{}: the subset condition for {} is not valid there: {}",
                                         n.where, n.table->qualified, e.what()));
        }
        for (const RowRef& r : found) {
            add(n, r, false);
        }
    }
}

// Pulls in the parents of the rows that still need theirs, edge by edge, in batches.
bool SubsetBuilder::pullIn() {
    constexpr size_t kBatch = 100000;
    bool grew = false;
    for (Edge& e : edges_) {
        while (!e.pending.empty()) {
            size_t n = std::min(kBatch, e.pending.size());
            std::vector<RowRef> batch(e.pending.end() - static_cast<std::ptrdiff_t>(n),
                                      e.pending.end());
            e.pending.resize(e.pending.size() - n);
            std::string oids = "{";
            std::vector<std::uint64_t> ctids;
            for (size_t i = 0; i < batch.size(); ++i) {
                oids += (i ? "," : "") + std::to_string(batch[i].leaf);
                ctids.push_back(batch[i].ctid);
            }
            oids += "}";
            std::string join;
            for (size_t i = 0; i < e.child_columns.size(); ++i) {
                join += fmt::format("{}c.{} = p.{}", i ? " AND " : "",
                                    pg::quoteIdentifier(e.child_columns[i]),
                                    pg::quoteIdentifier(e.parent_columns[i]));
            }
            std::string sql =
                fmt::format("SELECT DISTINCT p.tableoid, p.ctid FROM {} p JOIN {} c ON {} WHERE {}",
                            e.parent->from, e.child->from, join, rowFilter(*e.child, "c", 1, 2));
            for (const RowRef& parent : rows(sql, {oids, ctidArray(ctids, 0, ctids.size())})) {
                grew = add(*e.parent, parent, true) || grew;
            }
        }
    }
    return grew;
}

// The kept rows of `node` as the parameters rowFilter() reads; returns the filter's SQL.
std::string SubsetBuilder::keptParameter(const Node& node,
                                         std::vector<std::optional<std::string>>& params) {
    std::string oids = "{";
    std::vector<std::uint64_t> ctids;
    for (std::uint32_t leaf : node.leaves) {
        for (std::uint64_t c : kept_[leaf]) {
            oids += (ctids.empty() ? "" : ",") + std::to_string(leaf);
            ctids.push_back(c);
        }
    }
    oids += "}";
    params.push_back(oids);
    params.push_back(ctidArray(ctids, 0, ctids.size()));
    return rowFilter(node, "p", static_cast<int>(params.size()) - 1,
                     static_cast<int>(params.size()));
}

// Recomputes the tables that follow their parents: the rows whose every foreign key to a
// subsetted table is NULL or points at a kept row.
bool SubsetBuilder::follow() {
    bool grew = false;
    for (auto& [oid, n] : nodes_) {
        if (n.role != SubsetRole::follows || !n.dirty) {
            continue;
        }
        n.dirty = false;
        std::vector<std::optional<std::string>> params;
        std::string where;
        for (const Edge& e : edges_) {
            if (e.child != &n || e.parent->role == SubsetRole::whole) {
                continue;
            }
            std::string nulls;
            std::string cols;
            std::string parent_cols;
            for (size_t i = 0; i < e.child_columns.size(); ++i) {
                std::string c = "c." + pg::quoteIdentifier(e.child_columns[i]);
                nulls += c + " IS NULL OR ";
                cols += (i ? ", " : "") + c;
                parent_cols += (i ? ", " : "") + ("p." + pg::quoteIdentifier(e.parent_columns[i]));
            }
            std::string filter = keptParameter(*e.parent, params);
            where += fmt::format("{}({}({}) IN (SELECT {} FROM {} p WHERE {}))",
                                 where.empty() ? "" : " AND ", nulls, cols, parent_cols,
                                 e.parent->from, filter);
        }
        for (const RowRef& r :
             rows(fmt::format("SELECT c.tableoid, c.ctid FROM {} c WHERE {}", n.from, where),
                  params)) {
            grew = add(n, r, false) || grew;
        }
    }
    return grew;
}

std::shared_ptr<Subset> SubsetBuilder::result() {
    auto out = std::make_shared<Subset>();
    out->spec_ = spec_;
    out->iterations_ = iterations_;
    for (const auto& [oid, n] : nodes_) {
        if (n.role == SubsetRole::whole) {
            continue;
        }
        for (std::uint32_t leaf : n.leaves) {
            Subset::Table& t = out->tables_[leaf];
            t.role = n.role;
            const auto& kept = kept_[leaf];
            t.kept.assign(kept.begin(), kept.end());
            std::sort(t.kept.begin(), t.kept.end());
            t.matched = matched_[leaf];
            t.pulled_in = pulled_[leaf];
        }
    }
    return out;
}

std::shared_ptr<const Subset> SubsetBuilder::build() {
    addConditions();
    addEdges();
    classify();
    seedConditions();
    // Monotone: kept sets only grow, so this ends; each round pulls the parents of new rows in
    // and lets the followers of grown tables catch up.
    for (bool grew = true; grew; ++iterations_) {
        grew = pullIn();
        grew = follow() || grew;
    }
    return result();
}

std::shared_ptr<const Subset> computeSubset(pg::Connection& conn, const pg::Catalog& catalog,
                                            const TableSelection& selection,
                                            const SubsetSpec& spec) {
    return SubsetBuilder(conn, catalog, selection, spec).build();
}

}  // namespace pgsluice::engine
