#include "simulators/shopify/variable_uses.hpp"

#include <set>

namespace shelfsync::shopify::sim {

namespace {

class use_collector {
 public:
  use_collector(const schema& s, const graphql::document& doc)
      : s_(s), doc_(doc) {}

  void collect_value_uses(const graphql::value& v, const graphql::type_ref& t,
                          bool has_default, const std::string& arg_name,
                          std::vector<variable_use>& uses) {
    using k = graphql::value::kind;
    if (v.type == k::variable) {
      uses.push_back({v.text, t, has_default, arg_name, v.at});
      return;
    }
    if (v.type == k::list) {
      auto inner = t.is_list() ? t.list_of.front() : t;
      for (auto& item : v.items)
        collect_value_uses(item, inner, false, arg_name, uses);
      return;
    }
    if (v.type == k::object) {
      auto* def = s_.find_type(t.base());
      for (auto& [name, item] : v.fields) {
        auto* field = def ? def->find_input_field(name) : nullptr;
        if (field != nullptr)
          collect_value_uses(item, field->type,
                             field->default_value.has_value(), name, uses);
        else
          collect_value_uses(item, graphql::type_ref{}, true, name, uses);
      }
    }
  }

  void collect_arg_uses(const std::vector<input_value_def>& defs,
                        const std::vector<graphql::argument>& given,
                        std::vector<variable_use>& uses) {
    for (auto& a : given) {
      const input_value_def* def = nullptr;
      for (auto& d : defs)
        if (d.name == a.name) def = &d;
      if (def != nullptr)
        collect_value_uses(a.val, def->type, def->default_value.has_value(),
                           a.name, uses);
      else
        collect_value_uses(a.val, graphql::type_ref{}, true, a.name, uses);
    }
  }

  void collect_directive_uses(const graphql::directive& d,
                              std::vector<variable_use>& uses) {
    auto* def = s_.find_directive(d.name);
    collect_arg_uses(def ? def->args : std::vector<input_value_def>{},
                     d.arguments, uses);
  }

  void collect_uses(const std::string& type_name,
                    const std::vector<graphql::selection>& set,
                    std::vector<variable_use>& uses,
                    std::set<std::string>& visited) {
    auto* type = s_.find_type(type_name);
    for (auto& sel : set) {
      for (auto& d : sel.directives)
        collect_directive_uses(d, uses);
      switch (sel.type) {
      case graphql::selection::kind::field: {
        auto* field = type ? type->find_field(sel.name) : nullptr;
        collect_arg_uses(field ? field->args : std::vector<input_value_def>{},
                         sel.arguments, uses);
        auto child = field ? field->type.base() : std::string{};
        collect_uses(child, sel.selections, uses, visited);
        break;
      }
      case graphql::selection::kind::fragment_spread: {
        if (!visited.insert(sel.name).second) break;
        if (auto* frag = doc_.find_fragment(sel.name))
          collect_uses(frag->type_condition, frag->selections, uses, visited);
        break;
      }
      case graphql::selection::kind::inline_fragment:
        collect_uses(sel.type_condition.empty() ? type_name
                                                : sel.type_condition,
                     sel.selections, uses, visited);
        break;
      }
    }
  }

  std::vector<variable_use> uses;

 private:
  const schema& s_;
  const graphql::document& doc_;
};

} // namespace

std::vector<variable_use> variable_uses(const schema& s,
                                        const graphql::document& doc,
                                        const graphql::operation& op) {
  use_collector c{s, doc};
  std::set<std::string> visited;
  auto root = op.kind == graphql::operation_kind::mutation
                  ? schema::mutation_root
                  : schema::query_root;
  c.collect_uses(root, op.selections, c.uses, visited);
  for (auto& d : op.directives)
    c.collect_directive_uses(d, c.uses);
  return std::move(c.uses);
}

} // namespace shelfsync::shopify::sim
