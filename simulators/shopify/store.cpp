#include "simulators/shopify/store.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace shelfsync::shopify::sim {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Splits a search string into terms, honouring '...' and "..." quotes
/// with backslash escapes, as Shopify's search syntax does.
std::vector<std::string> terms_of(std::string_view q) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    char c = q[i];
    if (quote != 0) {
      if (c == '\\' && i + 1 < q.size()) {
        cur += q[++i];
      } else if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

} // namespace

std::string now_rfc3339() {
  auto t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t gid_number(std::string_view gid) {
  auto slash = gid.rfind('/');
  if (slash == std::string_view::npos) return 0;
  uint64_t n = 0;
  for (auto c : gid.substr(slash + 1)) {
    if (c < '0' || c > '9') break;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

level* item::find_level(std::string_view location_id) {
  for (auto& l : levels)
    if (l.location_id == location_id) return &l;
  return nullptr;
}

const level* item::find_level(std::string_view location_id) const {
  for (auto& l : levels)
    if (l.location_id == location_id) return &l;
  return nullptr;
}

const level* item::stocked_at(std::string_view location_id) const {
  auto* l = find_level(location_id);
  return l != nullptr && l->active ? l : nullptr;
}

location& store::add_location(std::string name, std::string id) {
  if (id.empty())
    id = "gid://shopify/Location/" + std::to_string(next_location_);
  auto n = gid_number(id);
  next_location_ = std::max(next_location_, n + 1);
  locations_.push_back({std::move(id), std::move(name), n, true});
  return locations_.back();
}

item& store::add_item(std::string sku, bool tracked, std::string id) {
  if (id.empty())
    id = "gid://shopify/InventoryItem/" + std::to_string(next_item_);
  auto n = gid_number(id);
  next_item_ = std::max(next_item_, n + 1);
  item it;
  it.id = std::move(id);
  it.legacy_id = n;
  it.sku = std::move(sku);
  it.tracked = tracked;
  it.created_at = it.updated_at = now_rfc3339();
  items_.push_back(std::move(it));
  return items_.back();
}

level& store::activate(item& it, const std::string& location_id) {
  if (auto* existing = it.find_level(location_id)) {
    existing->active = true;
    existing->updated_at = now_rfc3339();
    return *existing;
  }
  level lv;
  lv.level_id = next_level_++;
  lv.location_id = location_id;
  lv.history.push_back(0);
  lv.created_at = lv.updated_at = now_rfc3339();
  it.levels.push_back(std::move(lv));
  return it.levels.back();
}

void store::set_available(item& it, level& lv, int64_t value) {
  auto delta = value - lv.available;
  lv.available = value;
  lv.on_hand += delta;
  ++lv.writes;
  if (delta != 0) lv.history.push_back(value);
  lv.updated_at = it.updated_at = now_rfc3339();
}

void store::set_on_hand(item& it, level& lv, int64_t value) {
  auto delta = value - lv.on_hand;
  lv.on_hand = value;
  lv.available += delta;
  ++lv.writes;
  if (delta != 0) lv.history.push_back(lv.available);
  lv.updated_at = it.updated_at = now_rfc3339();
}

location* store::find_location(std::string_view id) {
  for (auto& l : locations_)
    if (l.id == id) return &l;
  return nullptr;
}

item* store::find_item(std::string_view id) {
  for (auto& i : items_)
    if (i.id == id) return &i;
  return nullptr;
}

std::vector<const item*> store::search(std::string_view query) const {
  std::vector<const item*> out;
  auto terms = terms_of(query);
  for (auto& it : items_) {
    bool match = true;
    for (auto& term : terms) {
      auto colon = term.find(':');
      if (colon == std::string::npos) continue;
      auto field = lower(term.substr(0, colon));
      auto want = term.substr(colon + 1);
      if (field == "sku") {
        // Loose on purpose: Shopify's search is tokenized and fuzzy, so a
        // client must compare the SKU exactly itself.
        auto have = lower(it.sku);
        auto prefix = lower(want);
        match = match && have.compare(0, prefix.size(), prefix) == 0;
      } else if (field == "id") {
        match = match && std::to_string(it.legacy_id) == want;
      }
    }
    if (match) out.push_back(&it);
  }
  return out;
}

int store::duplicate_sku_count(const item& it) const {
  int n = 0;
  for (auto& other : items_)
    if (&other != &it && !it.sku.empty() && other.sku == it.sku) ++n;
  return n;
}

std::string store::next_group_id() {
  return "gid://shopify/InventoryAdjustmentGroup/" +
         std::to_string(next_group_++);
}

} // namespace shelfsync::shopify::sim
