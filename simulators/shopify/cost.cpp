#include "simulators/shopify/cost.hpp"

#include <algorithm>

namespace shelfsync::shopify::sim {

namespace {

class cost_model {
 public:
  cost_model(const schema& s, const graphql::document& doc, const json& vars)
      : s_(s), doc_(doc), vars_(vars) {}

  /// The cost of selecting `sets` on a value of type `type_name`;
  /// `page` is the page size when the type is a connection.
  double selection_cost(const std::string& type_name,
                        const selection_sets& sets, double page,
                        bool is_root_mutation) {
    auto* type = s_.find_type(type_name);
    if (type == nullptr) return 0;
    if (type->kind == type_kind::interface) {
      double best = 0;
      for (auto& concrete : type->related)
        best = std::max(best, selection_cost(concrete, sets, page, false));
      return best;
    }
    double total = 0;
    for (auto& group : collect_fields(s_, doc_, type_name, sets, vars_)) {
      auto& first = *group.second.front();
      if (first.name == "__typename") continue;
      auto* def = type->find_field(first.name);
      if (def == nullptr) continue;
      total += field_cost(*type, *def, first, sub_selections(group), page,
                          is_root_mutation);
    }
    return total;
  }

 private:
  double field_cost(const type_def& parent, const field_def& def,
                    const graphql::selection& sel, const selection_sets& sub,
                    double page, bool is_root_mutation) {
    auto* result = s_.find_type(def.type.base());
    if (result == nullptr || !result->is_composite()) return 0;
    auto args = resolve_arguments(def.args, sel.arguments, vars_);
    if (def.connection) {
      double n = 0;
      for (auto* k : {"first", "last"})
        if (args.contains(k) && args[k].is_number())
          n = std::max(n, args[k].get<double>());
      return 2 + selection_cost(result->name, sub, n, false);
    }
    double children = selection_cost(result->name, sub, 0, false);
    bool in_connection =
        parent.name.size() > 10 &&
        parent.name.rfind("Connection") == parent.name.size() - 10;
    if (def.type.is_list()) {
      if (in_connection && def.name == "nodes") return page * (1 + children);
      if (in_connection && def.name == "edges") return page * children;
      if (args.contains("ids") && args["ids"].is_array())
        return static_cast<double>(args["ids"].size()) * (1 + children);
      return children;
    }
    if (is_root_mutation) return 10 + children;
    if (result->name == "PageInfo") return 0;
    return 1 + children;
  }

  const schema& s_;
  const graphql::document& doc_;
  const json& vars_;
};

} // namespace

double requested_cost(const schema& s, const graphql::document& doc,
                      const graphql::operation& op, const json& variables) {
  cost_model m{s, doc, variables};
  bool mutation = op.kind == graphql::operation_kind::mutation;
  return m.selection_cost(mutation ? schema::mutation_root : schema::query_root,
                          {&op.selections}, 0, mutation);
}

} // namespace shelfsync::shopify::sim
