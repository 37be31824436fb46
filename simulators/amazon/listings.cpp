#include "simulators/amazon/listings.hpp"

#include <nlohmann/json.hpp>

namespace shelfsync::amazon::sim {

using nlohmann::json;

namespace {

constexpr std::string_view availability_path =
    "/attributes/fulfillment_availability";

/// One fulfillment_availability entry, checked.
struct entry {
  std::string channel;
  std::optional<int64_t> quantity;
};

/// Reads a fulfillment_availability value array; on a problem returns the
/// issue Amazon gives for it.
std::optional<listing_issue> read_entries(const json& value,
                                          std::vector<entry>& out) {
  if (!value.is_array())
    return listing_issue{"90000900", "The attributes are invalid.",
                         "fulfillment_availability"};
  for (const auto& item : value) {
    auto code = item.is_object() ? item.find("fulfillment_channel_code")
                                 : json::const_iterator{};
    // Amazon's answer to a missing selector (selling-partner-api-models#4554).
    if (!item.is_object() || code == item.end() || !code->is_string() ||
        code->get<std::string>().empty())
      return listing_issue{"BAD_REQUEST", "Invalid parameters provided.",
                           "fulfillment_availability"};
    entry e{code->get<std::string>(), std::nullopt};
    if (auto q = item.find("quantity"); q != item.end()) {
      if (!q->is_number_integer() || q->get<int64_t>() < 0)
        return listing_issue{"90000900", "The attributes are invalid.",
                             "fulfillment_availability"};
      e.quantity = q->get<int64_t>();
    }
    out.push_back(std::move(e));
  }
  return std::nullopt;
}

/// Every application that leaves a DEFAULT quantity is one history entry,
/// repeats included: a test can count how often a value was sent.
void record(listing& l, const std::string& source) {
  if (auto q = l.quantity()) {
    l.history.push_back(*q);
    l.sources.push_back(source);
  }
}

} // namespace

std::optional<int64_t> listing::quantity() const {
  auto it = availability.find("DEFAULT");
  if (it == availability.end()) return std::nullopt;
  return it->second;
}

std::vector<listing_issue> apply_patches(listing_store& store,
                                         const std::string& sku,
                                         const std::string& product_type,
                                         const json& patches,
                                         const std::string& source) {
  struct step {
    std::string op;
    std::vector<entry> entries;
  };
  std::vector<step> steps;
  if (!patches.is_array() || patches.empty())
    return {{"90000900", "The attributes are invalid.", ""}};
  for (const auto& patch : patches) {
    if (!patch.is_object() || !patch.contains("op") ||
        !patch.contains("path") || !patch["op"].is_string() ||
        !patch["path"].is_string())
      return {{"90000900", "The attributes are invalid.", ""}};
    auto op = patch["op"].get<std::string>();
    auto path = patch["path"].get<std::string>();
    if (op != "add" && op != "replace" && op != "merge" && op != "delete")
      return {{"90000900", "The attributes are invalid.", ""}};
    // Only top-level attributes can be patched.
    if (path.rfind("/attributes/", 0) != 0 ||
        path.find('/', std::string_view{"/attributes/"}.size()) !=
            std::string::npos)
      return {{"90000900", "The attributes are invalid.", path}};
    if (path != availability_path) continue;
    step s{op, {}};
    if (auto v = patch.find("value"); v != patch.end()) {
      if (auto issue = read_entries(*v, s.entries)) return {*issue};
    } else if (op != "delete") {
      return {{"90000900", "The attributes are invalid.",
               "fulfillment_availability"}};
    }
    steps.push_back(std::move(s));
  }
  auto& l = store[sku];
  if (!product_type.empty()) l.product_type = product_type;
  for (auto& s : steps) {
    if (s.op == "replace" || s.op == "add") {
      l.availability.clear();
      for (auto& e : s.entries)
        l.availability[e.channel] = e.quantity;
    } else if (s.op == "merge") {
      for (auto& e : s.entries) {
        auto& slot = l.availability[e.channel];
        if (e.quantity) slot = e.quantity;
      }
    } else if (s.entries.empty()) {
      l.availability.clear();
    } else {
      for (auto& e : s.entries)
        l.availability.erase(e.channel);
    }
    if (s.op != "delete") record(l, source);
  }
  return {};
}

std::vector<listing_issue> apply_attributes(listing_store& store,
                                            const std::string& sku,
                                            const std::string& product_type,
                                            const json& attributes,
                                            const std::string& source) {
  auto it = attributes.find("fulfillment_availability");
  if (it == attributes.end()) {
    store[sku].product_type = product_type;
    return {};
  }
  json patches = json::array(
      {{{"op", "replace"}, {"path", availability_path}, {"value", *it}}});
  return apply_patches(store, sku, product_type, patches, source);
}

} // namespace shelfsync::amazon::sim
