#include "simulators/shopify/document.hpp"

#include <cstdint>
#include <limits>

namespace shelfsync::shopify::sim {

namespace {

struct problem {
  json path;
  std::string explanation;
};

std::string describe(const json& v) { return v.dump(); }

/// Input coercion of one value; appends problems and returns the result.
json coerce(const schema& s, const json& v, const graphql::type_ref& t,
            json path, std::vector<problem>& problems) {
  if (v.is_null() || v.is_discarded()) {
    if (t.non_null) problems.push_back({path, "Expected value to not be null"});
    return nullptr;
  }
  if (t.is_list()) {
    json out = json::array();
    if (!v.is_array()) {
      out.push_back(coerce(s, v, t.list_of.front(), path, problems));
      return out;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      auto p = path;
      p.push_back(static_cast<int64_t>(i));
      out.push_back(coerce(s, v[i], t.list_of.front(), p, problems));
    }
    return out;
  }
  auto* def = s.find_type(t.name);
  auto bad = [&](const std::string& type_name) {
    problems.push_back(
        {path, "Could not coerce value " + describe(v) + " to " + type_name});
    return json{};
  };
  if (def == nullptr) return bad(t.name);
  switch (def->kind) {
  case type_kind::scalar:
    if (t.name == "Int") {
      if (!v.is_number_integer()) return bad("Int");
      auto n =
          v.is_number_unsigned() &&
                  v.get<uint64_t>() >
                      static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
              ? std::numeric_limits<int64_t>::max()
              : v.get<int64_t>();
      if (n < std::numeric_limits<int32_t>::min() ||
          n > std::numeric_limits<int32_t>::max())
        return bad("Int");
      return n;
    }
    if (t.name == "Float") return v.is_number() ? v : bad("Float");
    if (t.name == "Boolean") return v.is_boolean() ? v : bad("Boolean");
    if (t.name == "ID") {
      if (v.is_string()) return v;
      if (v.is_number_integer()) return v.dump();
      return bad("ID");
    }
    return v.is_string() ? v : bad(t.name);
  case type_kind::enumeration:
    if (v.is_string())
      for (auto& e : def->enum_values)
        if (e == v.get<std::string>()) return v;
    problems.push_back(
        {path, "Expected " + describe(v) + " to be one of: " + [&] {
           std::string all;
           for (auto& e : def->enum_values)
             all += (all.empty() ? "" : ", ") + e;
           return all;
         }()});
    return nullptr;
  case type_kind::input_object: {
    if (!v.is_object()) {
      problems.push_back(
          {path, "Expected " + describe(v) + " to be a key-value object."});
      return nullptr;
    }
    json out = json::object();
    for (auto& [key, val] : v.items()) {
      if (def->find_input_field(key) == nullptr) {
        auto p = path;
        p.push_back(key);
        problems.push_back({p, "Field is not defined on " + def->name});
      }
    }
    for (auto& field : def->input_fields) {
      auto p = path;
      p.push_back(field.name);
      auto i = v.find(field.name);
      if (i == v.end()) {
        if (field.default_value)
          out[field.name] = *field.default_value;
        else if (field.type.non_null)
          problems.push_back({p, "Expected value to not be null"});
        continue;
      }
      out[field.name] = coerce(s, *i, field.type, p, problems);
    }
    return out;
  }
  default:
    return bad(t.name);
  }
}

} // namespace

json make_error(std::string message, graphql::position at, json path,
                json extensions) {
  json e{{"message", std::move(message)}};
  if (at.line > 0)
    e["locations"] = json::array({{{"line", at.line}, {"column", at.column}}});
  if (!path.is_null()) e["path"] = std::move(path);
  if (!extensions.is_null()) e["extensions"] = std::move(extensions);
  return e;
}

const graphql::operation* select_operation(const graphql::document& doc,
                                           std::string_view name,
                                           json& errors) {
  if (name.empty()) {
    if (doc.operations.size() == 1) return &doc.operations.front();
    if (doc.operations.empty())
      errors.push_back(make_error("Document does not contain any operations",
                                  {}, nullptr, nullptr));
    else
      errors.push_back(
          make_error("An operation name is required", {}, nullptr, nullptr));
    return nullptr;
  }
  for (auto& op : doc.operations)
    if (op.name == name) return &op;
  errors.push_back(
      make_error("No operation named \"" + std::string{name} + "\"", {},
                 nullptr, nullptr));
  return nullptr;
}

json coerce_variables(const schema& s, const graphql::operation& op,
                      const json& provided, json& errors) {
  json out = json::object();
  for (auto& def : op.variables) {
    const json* given = nullptr;
    if (provided.is_object()) {
      auto i = provided.find(def.name);
      if (i != provided.end()) given = &*i;
    }
    if (given == nullptr) {
      if (def.default_value) {
        out[def.name] = literal_value(*def.default_value, json::object());
        continue;
      }
      if (!def.type.non_null) continue;
    }
    std::vector<problem> problems;
    json value = given != nullptr ? *given : json{};
    auto coerced = coerce(s, value, def.type, json::array(), problems);
    if (problems.empty()) {
      out[def.name] = std::move(coerced);
      continue;
    }
    std::string msg = "Variable $" + def.name + " of type " +
                      def.type.to_string() + " was provided invalid value";
    std::string where;
    std::string why;
    json listed = json::array();
    for (auto& p : problems) {
      std::string dotted;
      for (auto& part : p.path) {
        if (!dotted.empty()) dotted += '.';
        dotted += part.is_string() ? part.get<std::string>() : part.dump();
      }
      if (!dotted.empty()) where += (where.empty() ? "" : ", ") + dotted;
      why += (why.empty() ? "" : ", ") + p.explanation;
      listed.push_back({{"path", p.path}, {"explanation", p.explanation}});
    }
    if (!where.empty()) msg += " for " + where;
    msg += " (" + why + ")";
    errors.push_back(make_error(msg, def.at, nullptr,
                                {{"code", "INVALID_VARIABLE"},
                                 {"value", value},
                                 {"problems", listed}}));
  }
  return out;
}

bool is_absent(const json& v) { return v.is_discarded(); }

json literal_value(const graphql::value& v, const json& variables) {
  using k = graphql::value::kind;
  switch (v.type) {
  case k::null:
    return nullptr;
  case k::variable: {
    auto i = variables.find(v.text);
    if (i == variables.end()) return json(json::value_t::discarded);
    return *i;
  }
  case k::integer:
    try {
      return std::stoll(v.text);
    } catch (...) {
      return std::stod(v.text);
    }
  case k::floating:
    return std::stod(v.text);
  case k::string:
  case k::enumeration:
    return v.text;
  case k::boolean:
    return v.boolean;
  case k::list: {
    json out = json::array();
    for (auto& item : v.items) {
      auto x = literal_value(item, variables);
      out.push_back(is_absent(x) ? json{} : x);
    }
    return out;
  }
  case k::object: {
    json out = json::object();
    for (auto& [name, item] : v.fields) {
      auto x = literal_value(item, variables);
      if (!is_absent(x)) out[name] = std::move(x);
    }
    return out;
  }
  }
  return nullptr;
}

json resolve_arguments(const std::vector<input_value_def>& defs,
                       const std::vector<graphql::argument>& given,
                       const json& variables) {
  json out = json::object();
  for (auto& def : defs) {
    const graphql::argument* a = nullptr;
    for (auto& g : given)
      if (g.name == def.name) a = &g;
    if (a != nullptr) {
      auto v = literal_value(a->val, variables);
      if (!is_absent(v)) {
        out[def.name] = std::move(v);
        continue;
      }
    }
    if (def.default_value) out[def.name] = *def.default_value;
  }
  return out;
}

bool included(const std::vector<graphql::directive>& ds,
              const json& variables) {
  for (auto& d : ds) {
    if (d.name != "skip" && d.name != "include") continue;
    bool cond = false;
    for (auto& a : d.arguments)
      if (a.name == "if") {
        auto v = literal_value(a.val, variables);
        cond = v.is_boolean() && v.get<bool>();
      }
    if (d.name == "skip" && cond) return false;
    if (d.name == "include" && !cond) return false;
  }
  return true;
}

namespace {

void collect_into(const schema& s, const graphql::document& doc,
                  std::string_view object_type,
                  const std::vector<graphql::selection>& set,
                  const json& variables, std::vector<field_group>& out,
                  std::vector<std::string>& visited) {
  for (auto& sel : set) {
    if (!included(sel.directives, variables)) continue;
    switch (sel.type) {
    case graphql::selection::kind::field: {
      auto& key = sel.response_key();
      bool merged = false;
      for (auto& g : out)
        if (g.first == key) {
          g.second.push_back(&sel);
          merged = true;
        }
      if (!merged) out.push_back({key, {&sel}});
      break;
    }
    case graphql::selection::kind::fragment_spread: {
      bool seen = false;
      for (auto& v : visited)
        seen = seen || v == sel.name;
      if (seen) break;
      visited.push_back(sel.name);
      auto* frag = doc.find_fragment(sel.name);
      if (frag != nullptr && s.is_possible(frag->type_condition, object_type))
        collect_into(s, doc, object_type, frag->selections, variables, out,
                     visited);
      break;
    }
    case graphql::selection::kind::inline_fragment:
      if (sel.type_condition.empty() ||
          s.is_possible(sel.type_condition, object_type))
        collect_into(s, doc, object_type, sel.selections, variables, out,
                     visited);
      break;
    }
  }
}

} // namespace

std::vector<field_group> collect_fields(const schema& s,
                                        const graphql::document& doc,
                                        std::string_view object_type,
                                        const selection_sets& sets,
                                        const json& variables) {
  std::vector<field_group> out;
  std::vector<std::string> visited;
  for (auto* set : sets)
    collect_into(s, doc, object_type, *set, variables, out, visited);
  return out;
}

selection_sets sub_selections(const field_group& group) {
  selection_sets out;
  for (auto* f : group.second)
    out.push_back(&f->selections);
  return out;
}

} // namespace shelfsync::shopify::sim
