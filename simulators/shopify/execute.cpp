#include "simulators/shopify/execute.hpp"

#include <algorithm>
#include <cctype>

#include "simulators/shopify/document.hpp"
#include "simulators/shopify/inventory.hpp"
#include "simulators/shopify/resolve.hpp"

namespace shelfsync::shopify::sim {

namespace {

/// A top-level error raised by a field; its value becomes null.
struct field_error {
  std::string message;
  std::string code;
};

bool is_connection_type(const std::string& name) {
  return name.size() > 10 && name.rfind("Connection") == name.size() - 10;
}

class executor {
 public:
  executor(const schema& s, const graphql::document& doc, const json& vars,
           execution_env& env)
      : s_(s), doc_(doc), vars_(vars), env_(env) {}

  execution run(const graphql::operation& op) {
    bool mutation = op.kind == graphql::operation_kind::mutation;
    const char* root_type =
        mutation ? schema::mutation_root : schema::query_root;
    auto* root = s_.find_type(root_type);
    out_.data = json::object();
    json root_obj{{"__typename", root_type}};
    for (auto& group :
         collect_fields(s_, doc_, root_type, {&op.selections}, vars_)) {
      auto& sel = *group.second.front();
      if (sel.name == "__typename") {
        out_.data[group.first] = root_type;
        continue;
      }
      auto& def = *root->find_field(sel.name);
      out_.root_fields.push_back(sel.name);
      auto args = resolve_arguments(def.args, sel.arguments, vars_);
      json value;
      if (mutation) {
        try {
          value = run_mutation(def, sel, args);
        } catch (field_error& e) {
          out_.errors.push_back(make_error(
              e.message, {}, json::array({group.first}), {{"code", e.code}}));
          out_.data[group.first] = nullptr;
          out_.actual_cost += 10;
          continue;
        }
      } else {
        value = resolve_field(env_.inventory, root_type, root_obj, def, args);
      }
      double cost = 0;
      out_.data[group.first] =
          render(value, def.type, sub_selections(group), cost);
      out_.actual_cost += field_cost(*root, def, args, value, cost, mutation);
    }
    return std::move(out_);
  }

 private:
  // -- mutations -------------------------------------------------------------

  json run_mutation(const field_def& def, const graphql::selection& sel,
                    const json& args) {
    const graphql::directive* idem = nullptr;
    for (auto& d : sel.directives)
      if (d.name == "idempotent") idem = &d;
    bool wants_key =
        def.name == "inventorySetQuantities" || def.name == "inventoryActivate";
    if (def.name == "inventorySetQuantities") {
      auto& rows = args.at("input").at("quantities");
      out_.rows += rows.size();
      if (env_.version.requires_idempotency())
        for (auto& row : rows)
          if (!row.contains("changeFromQuantity"))
            throw field_error{"InventoryQuantityInput must include the "
                              "following argument: changeFromQuantity.",
                              "INVALID_FIELD_ARGUMENTS"};
    }
    if (wants_key && idem == nullptr && env_.version.requires_idempotency())
      throw field_error{"The @idempotent directive is required for this "
                        "mutation but was not provided.",
                        "BAD_REQUEST"};
    std::string key;
    if (idem != nullptr)
      for (auto& a : idem->arguments)
        if (a.name == "key") {
          auto v = literal_value(a.val, vars_);
          key = v.is_string() ? v.get<std::string>() : std::string{};
        }
    bool blank = std::all_of(key.begin(), key.end(), [](char c) {
      return std::isspace(static_cast<unsigned char>(c)) != 0;
    });
    if (idem != nullptr && blank)
      throw field_error{"The idempotency key must not be empty.",
                        "BAD_REQUEST"};
    if (idem == nullptr || !wants_key) return apply(def.name, args).payload;

    out_.idempotency_keys.push_back(key);
    auto canonical = args.dump();
    auto i = env_.idempotency.find(key);
    std::string payload_type = def.type.base();
    if (i != env_.idempotency.end()) {
      auto& rec = i->second;
      mutation_outcome refusal;
      if (rec.field != def.name || rec.arguments != canonical)
        refusal = idempotency_refusal(payload_type,
                                      "IDEMPOTENCY_KEY_PARAMETER_MISMATCH");
      else if (env_.now < rec.ready_at)
        refusal =
            idempotency_refusal(payload_type, "IDEMPOTENCY_CONCURRENT_REQUEST");
      else {
        out_.replayed = true;
        return rec.payload;
      }
      out_.user_errors = true;
      return refusal.payload;
    }
    auto outcome = apply(def.name, args);
    env_.idempotency[key] = {def.name, canonical, outcome.payload,
                             env_.now + env_.answer_delay};
    return outcome.payload;
  }

  mutation_outcome apply(const std::string& name, const json& args) {
    mutation_outcome o;
    if (name == "inventorySetQuantities")
      o = set_quantities(env_.inventory, args.at("input"), env_.version);
    else if (name == "inventoryActivate")
      o = activate(env_.inventory, args);
    else
      o = update_item(env_.inventory, args);
    out_.user_errors = out_.user_errors || o.user_errors;
    out_.wrote = out_.wrote || o.wrote;
    return o;
  }

  // -- rendering -------------------------------------------------------------

  /// Renders `v` of type `t` through the selections; adds the actual cost
  /// of the object's children to `cost`.
  json render(const json& v, const graphql::type_ref& t,
              const selection_sets& sets, double& cost) {
    if (v.is_null() || v.is_discarded()) return nullptr;
    if (t.is_list()) {
      json out = json::array();
      if (!v.is_array()) return out;
      for (auto& e : v)
        out.push_back(render(e, t.list_of.front(), sets, cost));
      return out;
    }
    auto* type = s_.find_type(t.name);
    if (type == nullptr || !type->is_composite()) return v;
    auto concrete = v.value("__typename", t.name);
    auto* ctype = s_.find_type(concrete);
    json out = json::object();
    for (auto& group : collect_fields(s_, doc_, concrete, sets, vars_)) {
      auto& sel = *group.second.front();
      if (sel.name == "__typename") {
        out[group.first] = concrete;
        continue;
      }
      auto* def = ctype ? ctype->find_field(sel.name) : nullptr;
      if (def == nullptr) {
        out[group.first] = nullptr;
        continue;
      }
      auto args = resolve_arguments(def->args, sel.arguments, vars_);
      auto child = resolve_field(env_.inventory, concrete, v, *def, args);
      double child_cost = 0;
      out[group.first] =
          render(child, def->type, sub_selections(group), child_cost);
      cost += field_cost(*ctype, *def, args, child, child_cost, false);
    }
    return out;
  }

  /// The actual cost of a field whose value is `v` and whose rendered
  /// children cost `children` in total (per element for lists).
  double field_cost(const type_def& parent, const field_def& def,
                    const json& args, const json& v, double children,
                    bool root_mutation) {
    auto* result = s_.find_type(def.type.base());
    if (result == nullptr || !result->is_composite()) return 0;
    if (root_mutation) return 10 + children;
    if (def.connection) return 2 + children;
    if (v.is_null()) return 0;
    if (def.type.is_list()) {
      size_t n = 0;
      for (auto& e : v)
        n += e.is_null() ? 0 : 1;
      bool in_connection = is_connection_type(parent.name);
      if ((in_connection && def.name == "nodes") || args.contains("ids"))
        return static_cast<double>(n) + children;
      if (in_connection && def.name == "edges") return children;
      // Elements are free; their selection counts once.
      return n == 0 ? 0 : children / static_cast<double>(n);
    }
    if (result->name == "PageInfo") return 0;
    return 1 + children;
  }

  const schema& s_;
  const graphql::document& doc_;
  const json& vars_;
  execution_env& env_;
  execution out_;
};

} // namespace

execution execute(const schema& s, const graphql::document& doc,
                  const graphql::operation& op, const json& variables,
                  execution_env& env) {
  return executor{s, doc, variables, env}.run(op);
}

} // namespace shelfsync::shopify::sim
