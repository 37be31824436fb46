#include "simulators/shopify/validate.hpp"

#include <functional>
#include <set>
#include <string>

#include "simulators/shopify/document.hpp"
#include "simulators/shopify/variable_uses.hpp"

namespace shelfsync::shopify::sim {

namespace {

class validator {
 public:
  validator(const schema& s, const graphql::document& doc) : s_(s), doc_(doc) {}

  json run() {
    check_operation_names();
    for (auto& op : doc_.operations)
      check_operation(op);
    for (auto& frag : doc_.fragments)
      check_fragment(frag);
    check_fragment_usage();
    return std::move(errors_);
  }

 private:
  void error(std::string message, graphql::position at, const json& path,
             json extensions) {
    errors_.push_back(
        make_error(std::move(message), at, path, std::move(extensions)));
  }

  static std::string op_label(const graphql::operation& op) {
    std::string label = graphql::to_string(op.kind);
    if (!op.name.empty()) label += " " + op.name;
    return label;
  }

  void check_operation_names() {
    std::set<std::string> seen;
    for (auto& op : doc_.operations) {
      if (op.name.empty()) continue;
      if (!seen.insert(op.name).second)
        error("Operation name \"" + op.name + "\" must be unique", op.at,
              json::array({op_label(op)}),
              {{"code", "operationNotUnique"}, {"operationName", op.name}});
    }
  }

  void check_operation(const graphql::operation& op) {
    json path = json::array({op_label(op)});
    const char* root = op.kind == graphql::operation_kind::mutation
                           ? schema::mutation_root
                           : schema::query_root;
    if (op.kind == graphql::operation_kind::subscription) {
      error("Schema is not configured for subscriptions", op.at, path,
            {{"code", "missingSubscriptionConfiguration"}});
      return;
    }
    const char* where =
        op.kind == graphql::operation_kind::mutation ? "mutations" : "queries";
    check_directives(op.directives, where, false, path);
    for (auto& def : op.variables) {
      auto* t = s_.find_type(def.type.base());
      if (t == nullptr ||
          (t->kind != type_kind::scalar && t->kind != type_kind::enumeration &&
           t->kind != type_kind::input_object))
        error(def.type.base() + " isn't a defined input type (on $" + def.name +
                  ")",
              def.at, path,
              {{"code", "variableRequiresValidType"},
               {"typeName", def.type.base()},
               {"variableName", def.name}});
    }
    check_selections(root, op.selections, path);

    // Variables: every use declared, every declaration used, types fit.
    auto uses = variable_uses(s_, doc_, op);
    std::string owner =
        op.name.empty()
            ? "anonymous " + std::string{graphql::to_string(op.kind)}
            : op_label(op);
    std::set<std::string> used;
    for (auto& u : uses) {
      used.insert(u.name);
      const graphql::variable_definition* def = nullptr;
      for (auto& d : op.variables)
        if (d.name == u.name) def = &d;
      if (def == nullptr) {
        error("Variable $" + u.name + " is used by " + owner +
                  " but not declared",
              u.at, path,
              {{"code", "variableNotDefined"}, {"variableName", u.name}});
        continue;
      }
      check_variable_fit(*def, u, path);
    }
    for (auto& d : op.variables)
      if (used.count(d.name) == 0)
        error("Variable $" + d.name + " is declared by " + owner +
                  " but not used",
              d.at, path,
              {{"code", "variableNotUsed"}, {"variableName", d.name}});
  }

  void check_variable_fit(const graphql::variable_definition& def,
                          const variable_use& u, const json& path) {
    auto var_type = def.type;
    auto expected = u.expected;
    bool var_nullable_ok = def.default_value.has_value() || u.has_default;
    if (expected.non_null && !var_type.non_null && !var_nullable_ok) {
      error("Nullability mismatch on variable $" + u.name + " and argument " +
                u.argument + " (" + var_type.to_string() + " / " +
                expected.to_string() + ")",
            u.at, path,
            {{"code", "variableMismatch"},
             {"variableName", u.name},
             {"typeName", var_type.to_string()},
             {"argumentName", u.argument},
             {"errorMessage", "Nullability mismatch"}});
      return;
    }
    // Compare shapes with nullability relaxed the allowed way.
    std::function<bool(const graphql::type_ref&, const graphql::type_ref&)>
        fits = [&](const graphql::type_ref& v, const graphql::type_ref& e) {
          if (e.non_null && !v.non_null) return false;
          if (v.is_list() != e.is_list()) return false;
          if (v.is_list()) return fits(v.list_of.front(), e.list_of.front());
          return v.name == e.name;
        };
    auto relaxed = var_type;
    if (var_nullable_ok) relaxed.non_null = true;
    if (!fits(relaxed, expected))
      error("Type mismatch on variable $" + u.name + " and argument " +
                u.argument + " (" + var_type.to_string() + " / " +
                expected.to_string() + ")",
            u.at, path,
            {{"code", "variableMismatch"},
             {"variableName", u.name},
             {"typeName", var_type.to_string()},
             {"argumentName", u.argument},
             {"errorMessage", "Type mismatch"}});
  }

  void check_fragment(const graphql::fragment& frag) {
    json path = json::array({"fragment " + frag.name});
    auto* t = s_.find_type(frag.type_condition);
    if (t == nullptr) {
      error("No such type " + frag.type_condition +
                ", so it can't be a fragment condition",
            frag.at, path,
            {{"code", "undefinedType"}, {"typeName", frag.type_condition}});
      return;
    }
    if (!t->is_composite()) {
      error("Invalid fragment on type " + frag.type_condition + " (" +
                (t->kind == type_kind::scalar ? "SCALAR" : "INPUT_OBJECT") +
                ")",
            frag.at, path,
            {{"code", "fragmentOnNonCompositeType"},
             {"typeName", frag.type_condition}});
      return;
    }
    check_directives(frag.directives, "fragment definitions", false, path);
    check_selections(frag.type_condition, frag.selections, path);
    std::vector<std::string> stack{frag.name};
    if (has_cycle(frag, stack))
      error("Fragment " + frag.name + " contains an infinite loop", frag.at,
            path, {{"code", "infiniteLoop"}, {"fragmentName", frag.name}});
  }

  bool has_cycle(const graphql::fragment& frag,
                 std::vector<std::string>& stack) {
    std::vector<std::string> spreads;
    spreads_in(frag.selections, spreads);
    for (auto& name : spreads) {
      for (auto& s : stack)
        if (s == name) return name == stack.front();
      auto* next = doc_.find_fragment(name);
      if (next == nullptr) continue;
      stack.push_back(name);
      bool cyc = has_cycle(*next, stack);
      stack.pop_back();
      if (cyc) return true;
    }
    return false;
  }

  static void spreads_in(const std::vector<graphql::selection>& set,
                         std::vector<std::string>& out) {
    for (auto& sel : set) {
      if (sel.type == graphql::selection::kind::fragment_spread)
        out.push_back(sel.name);
      spreads_in(sel.selections, out);
    }
  }

  void check_fragment_usage() {
    std::vector<std::string> spread;
    for (auto& op : doc_.operations)
      spreads_in(op.selections, spread);
    for (auto& f : doc_.fragments)
      spreads_in(f.selections, spread);
    std::set<std::string> used(spread.begin(), spread.end());
    for (auto& f : doc_.fragments)
      if (used.count(f.name) == 0)
        error("Fragment " + f.name + " was defined, but not used", f.at,
              json::array({"fragment " + f.name}),
              {{"code", "useAndDefineFragment"}, {"fragmentName", f.name}});
    std::set<std::string> defined;
    for (auto& f : doc_.fragments) {
      if (!defined.insert(f.name).second)
        error("Fragment name \"" + f.name + "\" must be unique", f.at,
              json::array({"fragment " + f.name}),
              {{"code", "fragmentNotUnique"}, {"fragmentName", f.name}});
    }
  }

  void check_directives(const std::vector<graphql::directive>& ds,
                        const std::string& where, bool on_field,
                        const json& path) {
    for (auto& d : ds) {
      auto* def = s_.find_directive(d.name);
      if (def == nullptr) {
        error("Directive @" + d.name + " is not defined", d.at, path,
              {{"code", "undefinedDirective"}, {"directiveName", d.name}});
        continue;
      }
      bool allowed = on_field ? def->on_field
                              : (where == "fragment spreads" ||
                                 where == "inline fragments") &&
                                    def->on_fragment;
      if (!allowed) {
        std::string allowed_list = def->on_fragment
                                       ? "fields, fragment spreads, "
                                         "inline fragments"
                                       : "fields";
        error("'@" + d.name + "' can't be applied to " + where +
                  " (allowed: " + allowed_list + ")",
              d.at, path,
              {{"code", "directiveCannotBeApplied"},
               {"targetName", where},
               {"name", d.name}});
      }
      check_arguments(def->args, d.arguments, "Directive", d.name, d.at, path);
    }
  }

  void check_arguments(const std::vector<input_value_def>& defs,
                       const std::vector<graphql::argument>& given,
                       const std::string& owner_kind, const std::string& name,
                       graphql::position at, const json& path) {
    std::string missing;
    for (auto& a : given) {
      const input_value_def* def = nullptr;
      for (auto& d : defs)
        if (d.name == a.name) def = &d;
      if (def == nullptr) {
        error(owner_kind + " '" + name + "' doesn't accept argument '" +
                  a.name + "'",
              a.at, path,
              {{"code", "argumentNotAccepted"},
               {"name", name},
               {"typeName", owner_kind},
               {"argumentName", a.name}});
        continue;
      }
      if (!literal_fits(a.val, def->type, path))
        error("Argument '" + a.name + "' on " + owner_kind + " '" + name +
                  "' has an invalid value (" + literal_text(a.val) +
                  "). Expected type '" + def->type.to_string() + "'.",
              a.at, path,
              {{"code", "argumentLiteralsIncompatible"},
               {"typeName", owner_kind},
               {"argumentName", a.name}});
    }
    for (auto& d : defs) {
      if (!d.type.non_null || d.default_value) continue;
      bool given_it = false;
      for (auto& a : given)
        given_it = given_it || a.name == d.name;
      if (!given_it) missing += (missing.empty() ? "" : ", ") + d.name;
    }
    if (!missing.empty())
      error(owner_kind + " '" + name +
                "' is missing required arguments: " + missing,
            at, path,
            {{"code", "missingRequiredArguments"},
             {"className", owner_kind},
             {"name", name},
             {"arguments", missing}});
  }

  static std::string literal_text(const graphql::value& v) {
    using k = graphql::value::kind;
    switch (v.type) {
    case k::null:
      return "null";
    case k::variable:
      return "$" + v.text;
    case k::string:
      return json(v.text).dump();
    case k::boolean:
      return v.boolean ? "true" : "false";
    case k::list: {
      std::string s = "[";
      for (size_t i = 0; i < v.items.size(); ++i)
        s += (i ? ", " : "") + literal_text(v.items[i]);
      return s + "]";
    }
    case k::object: {
      std::string s = "{";
      for (size_t i = 0; i < v.fields.size(); ++i)
        s += (i ? ", " : "") + v.fields[i].first + ": " +
             literal_text(v.fields[i].second);
      return s + "}";
    }
    default:
      return v.text;
    }
  }

  /// Literal type check; variables are checked per operation instead.
  bool literal_fits(const graphql::value& v, const graphql::type_ref& t,
                    const json& path) {
    using k = graphql::value::kind;
    if (v.type == k::variable) return true;
    if (v.type == k::null) return !t.non_null;
    if (t.is_list()) {
      if (v.type != k::list) return literal_fits(v, t.list_of.front(), path);
      for (auto& item : v.items)
        if (!literal_fits(item, t.list_of.front(), path)) return false;
      return true;
    }
    auto* def = s_.find_type(t.name);
    if (def == nullptr) return false;
    switch (def->kind) {
    case type_kind::scalar:
      if (t.name == "Int") return v.type == k::integer;
      if (t.name == "Float")
        return v.type == k::integer || v.type == k::floating;
      if (t.name == "Boolean") return v.type == k::boolean;
      if (t.name == "ID") return v.type == k::string || v.type == k::integer;
      return v.type == k::string;
    case type_kind::enumeration:
      if (v.type != k::enumeration) return false;
      for (auto& e : def->enum_values)
        if (e == v.text) return true;
      return false;
    case type_kind::input_object: {
      if (v.type != k::object) return false;
      bool ok = true;
      for (auto& [name, item] : v.fields) {
        auto* field = def->find_input_field(name);
        if (field == nullptr) {
          error("InputObject '" + def->name + "' doesn't accept argument '" +
                    name + "'",
                item.at, path,
                {{"code", "argumentNotAccepted"},
                 {"name", def->name},
                 {"typeName", "InputObject"},
                 {"argumentName", name}});
          continue;
        }
        ok = ok && literal_fits(item, field->type, path);
      }
      for (auto& field : def->input_fields) {
        if (!field.type.non_null || field.default_value) continue;
        bool present = false;
        for (auto& [name, item] : v.fields)
          present = present || name == field.name;
        if (!present)
          error("Argument '" + field.name + "' on InputObject '" + def->name +
                    "' is required. Expected type " + field.type.to_string(),
                v.at, path,
                {{"code", "missingRequiredInputObjectAttribute"},
                 {"argumentName", field.name},
                 {"argumentType", field.type.to_string()},
                 {"inputObjectType", def->name}});
      }
      return ok;
    }
    default:
      return false;
    }
  }

  void check_selections(const std::string& type_name,
                        const std::vector<graphql::selection>& set,
                        const json& path) {
    auto* type = s_.find_type(type_name);
    if (type == nullptr) return;
    std::map<std::string, std::string> keys;
    for (auto& sel : set) {
      switch (sel.type) {
      case graphql::selection::kind::field:
        check_field(*type, sel, path, keys);
        break;
      case graphql::selection::kind::fragment_spread: {
        check_directives(sel.directives, "fragment spreads", false, path);
        auto* frag = doc_.find_fragment(sel.name);
        if (frag == nullptr) {
          error("Fragment " + sel.name + " was used, but not defined", sel.at,
                path,
                {{"code", "useAndDefineFragment"}, {"fragmentName", sel.name}});
          break;
        }
        check_spread_possible(type_name, frag->type_condition,
                              "Fragment " + sel.name, sel.at, path);
        break;
      }
      case graphql::selection::kind::inline_fragment: {
        check_directives(sel.directives, "inline fragments", false, path);
        auto cond = sel.type_condition.empty() ? type_name : sel.type_condition;
        auto* t = s_.find_type(cond);
        if (t == nullptr) {
          error("No such type " + cond +
                    ", so it can't be a fragment condition",
                sel.at, path, {{"code", "undefinedType"}, {"typeName", cond}});
          break;
        }
        auto inner = path;
        inner.push_back("... on " + cond);
        check_spread_possible(type_name, cond, "Fragment on " + cond, sel.at,
                              path);
        check_selections(cond, sel.selections, inner);
        break;
      }
      }
    }
  }

  void check_spread_possible(const std::string& parent, const std::string& cond,
                             const std::string& what, graphql::position at,
                             const json& path) {
    if (s_.find_type(cond) == nullptr) return;
    bool possible =
        s_.is_possible(parent, cond) || s_.is_possible(cond, parent);
    if (!possible)
      error(what + " can't be spread inside " + parent, at, path,
            {{"code", "cannotSpreadFragment"},
             {"typeName", cond},
             {"parentName", parent}});
  }

  void check_field(const type_def& parent, const graphql::selection& sel,
                   const json& outer,
                   std::map<std::string, std::string>& keys) {
    json path = outer;
    path.push_back(sel.response_key());
    check_directives(sel.directives, "fields", true, path);
    if (sel.name == "__typename") {
      if (!sel.selections.empty())
        error("Selections can't be made on scalars (field '__typename' "
              "returns String but has selections [...])",
              sel.at, path,
              {{"code", "selectionMismatch"},
               {"nodeName", "field '__typename'"},
               {"typeName", "String"}});
      return;
    }
    auto* field = parent.find_field(sel.name);
    if (field == nullptr) {
      error("Field '" + sel.name + "' doesn't exist on type '" + parent.name +
                "'",
            sel.at, path,
            {{"code", "undefinedField"},
             {"typeName", parent.name},
             {"fieldName", sel.name}});
      return;
    }
    auto [it, fresh] = keys.emplace(sel.response_key(), sel.name);
    if (!fresh && it->second != sel.name)
      error("Field '" + sel.response_key() + "' has a field conflict: " +
                it->second + " or " + sel.name + "?",
            sel.at, path,
            {{"code", "fieldConflict"}, {"fieldName", sel.response_key()}});
    check_arguments(field->args, sel.arguments, "Field", sel.name, sel.at,
                    path);
    if (field->connection) {
      bool sized = false;
      for (auto& a : sel.arguments)
        sized = sized || a.name == "first" || a.name == "last";
      if (!sized)
        error("you must provide one of first or last", sel.at, path, nullptr);
    }
    auto* result = s_.find_type(field->type.base());
    if (result == nullptr) return;
    if (result->is_composite() && sel.selections.empty()) {
      error("Field must have selections (field '" + sel.name + "' returns " +
                result->name + " but has no selections. Did you mean '" +
                sel.name + " { ... }'?)",
            sel.at, path,
            {{"code", "selectionMismatch"},
             {"nodeName", "field '" + sel.name + "'"},
             {"typeName", result->name}});
      return;
    }
    if (!result->is_composite() && !sel.selections.empty()) {
      std::string names;
      for (auto& child : sel.selections)
        names += std::string{names.empty() ? "" : ", "} + "\"" +
                 child.response_key() + "\"";
      error("Selections can't be made on scalars (field '" + sel.name +
                "' returns " + result->name + " but has selections [" + names +
                "])",
            sel.at, path,
            {{"code", "selectionMismatch"},
             {"nodeName", "field '" + sel.name + "'"},
             {"typeName", result->name}});
      return;
    }
    if (result->is_composite())
      check_selections(result->name, sel.selections, path);
  }

  const schema& s_;
  const graphql::document& doc_;
  json errors_ = json::array();
};

} // namespace

json validate(const schema& s, const graphql::document& doc) {
  return validator{s, doc}.run();
}

} // namespace shelfsync::shopify::sim
