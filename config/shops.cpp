#include <algorithm>
#include <cctype>
#include <map>

#include "config/validate.hpp"

namespace shelfsync::detail {

namespace {

constexpr const char* location_form = "\"gid://shopify/Location/<digits>\"";

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

bool is_shop_id(const std::string& id) {
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_location(const std::string& text) {
  static const std::string prefix = "gid://shopify/Location/";
  return text.size() > prefix.size() &&
         text.compare(0, prefix.size(), prefix) == 0 &&
         std::all_of(text.begin() + prefix.size(), text.end(), is_digit);
}

/// `YYYY-MM` with a month from 01 to 12.
bool is_api_version(const std::string& text) {
  if (text.size() != 7 || text[4] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (!is_digit(text[i])) return false;
  auto month = std::stoi(text.substr(5));
  return month >= 1 && month <= 12;
}

/// What the checks of one shop need to know beyond the shop itself.
struct shop_context {
  const config& whole;
  bool warehouses_known;
  std::vector<config_problem>& problems;
};

void read_drift_check(const json& value, const std::string& path,
                      drift_check_config& out,
                      std::vector<config_problem>& problems) {
  object_reader r{value, path, problems};
  if (auto on = r.boolean("enabled", presence::optional)) out.enabled = *on;
  if (auto s = r.integer("interval_seconds", presence::optional, 1, 604800))
    out.interval = std::chrono::seconds{*s};
  if (auto p = r.integer("budget_percent", presence::optional, 1, 50))
    out.budget_percent = static_cast<uint32_t>(*p);
  if (auto n = r.integer("page_size", presence::optional, 1, 250))
    out.page_size = static_cast<uint32_t>(*n);
  r.finish();
}

void read_shopify(const json& value, const std::string& path,
                  shopify_config& out, std::vector<config_problem>& problems) {
  object_reader r{value, path, problems};
  if (auto url = r.url("shop_url", presence::required)) out.shop_url = *url;
  if (auto version = r.string("api_version", presence::optional)) {
    if (is_api_version(*version))
      out.api_version = *version;
    else
      r.report(r.path_of("api_version"),
               "must look like YYYY-MM (e.g. \"2026-10\"), got " +
                   json_string(*version));
  }
  if (auto name = r.env_name("access_token_env", presence::required))
    out.access_token_env = *name;
  if (auto* drift = r.member("drift_check", presence::optional, "an object"))
    read_drift_check(*drift, r.path_of("drift_check"), out.drift_check,
                     problems);
  r.finish();
}

void read_marketplaces(object_reader& r, amazon_config& out) {
  auto* list = r.array("marketplace_ids", presence::required);
  if (list == nullptr) return;
  auto path = r.path_of("marketplace_ids");
  if (list->empty())
    r.report(path, "must list at least one marketplace id, e.g. "
                   "[\"ATVPDKIKX0DER\"]");
  for (size_t i = 0; i < list->size(); ++i) {
    auto& id = (*list)[i];
    if (!id.is_string() || id.get<std::string>().empty() ||
        has_control_character(id.get<std::string>()))
      r.report(index_path(path, i),
               "must be a non-empty marketplace id string, got " +
                   describe(id));
    else if (std::find(out.marketplace_ids.begin(), out.marketplace_ids.end(),
                       id.get<std::string>()) != out.marketplace_ids.end())
      r.report(index_path(path, i), "duplicate marketplace id " + describe(id));
    else
      out.marketplace_ids.push_back(id.get<std::string>());
  }
}

void read_amazon(const json& value, const std::string& path, amazon_config& out,
                 std::vector<config_problem>& problems) {
  object_reader r{value, path, problems};
  if (auto url = r.url("endpoint", presence::required)) out.endpoint = *url;
  if (auto url = r.url("lwa_endpoint", presence::required))
    out.lwa_endpoint = *url;
  if (auto id = r.text("seller_id", presence::required)) out.seller_id = *id;
  read_marketplaces(r, out);
  if (auto name = r.env_name("client_id_env", presence::required))
    out.client_id_env = *name;
  if (auto name = r.env_name("client_secret_env", presence::required))
    out.client_secret_env = *name;
  if (auto name = r.env_name("refresh_token_env", presence::required))
    out.refresh_token_env = *name;
  if (auto s =
          r.integer("batch_interval_seconds", presence::optional, 1, 86400))
    out.batch_interval = std::chrono::seconds{*s};
  if (auto s = r.integer("feed_poll_seconds", presence::optional, 1, 3600))
    out.feed_poll = std::chrono::seconds{*s};
  if (auto type = r.text("product_type", presence::optional))
    out.product_type = *type;
  r.finish();
}

void read_rules(const json& value, const std::string& path, stock_rules& out,
                std::vector<config_problem>& problems) {
  object_reader r{value, path, problems};
  out.buffer = r.integer("buffer", presence::optional, 0);
  out.percent = r.integer("percent", presence::optional, 0, 100);
  out.max = r.integer("max", presence::optional, 0);
  r.finish();
}

/// Reads one entry of a shop's `warehouses`. `channel` is unset when the
/// shop's channel is unreadable; `enabled_locations` maps each location of
/// an enabled entry so far to the path of that entry.
void read_shop_warehouse(
    const json& value, const std::string& path,
    std::optional<channel_kind> channel, shop_context& ctx, shop_config& shop,
    std::map<std::string, std::string>& enabled_locations) {
  object_reader r{value, path, ctx.problems};
  if (!r.is_object()) return;
  shop_warehouse entry;
  auto id = r.text("warehouse", presence::required);
  if (id) {
    entry.warehouse = *id;
    auto listed = std::find_if(shop.warehouses.begin(), shop.warehouses.end(),
                               [&](const shop_warehouse& w) {
                                 return w.warehouse == *id;
                               });
    if (ctx.warehouses_known && !ctx.whole.has_warehouse(*id)) {
      std::string declared;
      for (auto& w : ctx.whole.warehouses)
        declared += (declared.empty() ? "" : ", ") + w.id;
      r.report(r.path_of("warehouse"),
               json_string(*id) +
                   " is not a declared warehouse; declared in "
                   "$.warehouses: " +
                   (declared.empty() ? "none" : declared));
    } else if (listed != shop.warehouses.end()) {
      r.report(r.path_of("warehouse"),
               json_string(*id) +
                   " is listed more than once for this shop; each "
                   "warehouse may appear at most once");
    }
  }
  auto enabled = r.boolean("enabled", presence::required);
  entry.enabled = enabled.value_or(false);
  auto* location = r.member("location", presence::optional, "a string");
  if (channel == channel_kind::amazon) {
    if (location != nullptr)
      r.report(r.path_of("location"),
               "must not be set for an amazon shop (Amazon keeps one quantity "
               "per SKU, not per location); remove it");
  } else if (location != nullptr) {
    if (!location->is_string() || !is_location(location->get<std::string>())) {
      r.report(r.path_of("location"), std::string{"must be "} + location_form +
                                          ", got " + describe(*location));
    } else {
      entry.location = location->get<std::string>();
      if (entry.enabled && channel == channel_kind::shopify) {
        auto [at, fresh] = enabled_locations.emplace(entry.location, path);
        if (!fresh)
          r.report(r.path_of("location"),
                   json_string(entry.location) +
                       " is already mapped to the enabled entry at " +
                       at->second +
                       "; two enabled warehouses of one shop must map to "
                       "different locations");
      }
    }
  } else if (channel == channel_kind::shopify && enabled == true) {
    r.report(r.path_of("location"),
             std::string{"is missing; an enabled warehouse of a shopify shop "
                         "needs its location, "} +
                 location_form + " (it may be omitted while enabled is false)");
  }
  if (id) shop.warehouses.push_back(std::move(entry));
  r.finish();
}

/// Reads the `shopify` or `amazon` member matching the shop's channel and
/// reports the one that does not belong.
void read_channel_settings(object_reader& r,
                           std::optional<channel_kind> channel,
                           shop_config& shop,
                           std::vector<config_problem>& problems) {
  auto* shopify = r.member("shopify", presence::optional, "an object");
  auto* amazon = r.member("amazon", presence::optional, "an object");
  if (channel == channel_kind::shopify) {
    if (shopify == nullptr)
      r.report(
          r.path_of("shopify"),
          "is missing; a shop with channel \"shopify\" needs a \"shopify\" "
          "object with shop_url and access_token_env");
    if (amazon != nullptr)
      r.report(r.path_of("amazon"),
               "must not be set for a shop with channel \"shopify\"; remove it "
               "or change the channel");
  } else if (channel == channel_kind::amazon) {
    if (amazon == nullptr)
      r.report(r.path_of("amazon"),
               "is missing; a shop with channel \"amazon\" needs an \"amazon\" "
               "object with endpoint, lwa_endpoint, seller_id, marketplace_ids "
               "and the *_env credential names");
    if (shopify != nullptr)
      r.report(r.path_of("shopify"),
               "must not be set for a shop with channel \"amazon\"; remove it "
               "or change the channel");
  }
  if (shopify != nullptr && channel != channel_kind::amazon)
    read_shopify(*shopify, r.path_of("shopify"), shop.shopify, problems);
  if (amazon != nullptr && channel != channel_kind::shopify)
    read_amazon(*amazon, r.path_of("amazon"), shop.amazon, problems);
}

void read_shop(const json& value, const std::string& path, shop_context& ctx,
               std::map<std::string, std::string>& shop_ids,
               std::vector<shop_config>& out) {
  object_reader r{value, path, ctx.problems};
  if (!r.is_object()) return;
  shop_config shop;
  if (auto id = r.text("id", presence::required)) {
    shop.id = *id;
    if (!is_shop_id(*id))
      r.report(r.path_of("id"),
               "must contain only letters, digits, \".\", \"_\" and \"-\" (it "
               "appears in URLs), got " +
                   json_string(*id));
    else if (auto [at, fresh] = shop_ids.emplace(*id, path); !fresh)
      r.report(r.path_of("id"), "duplicate shop id " + json_string(*id) +
                                    ", already used at " + at->second +
                                    "; shop ids must be unique");
  }
  std::optional<channel_kind> channel;
  if (auto name = r.string("channel", presence::required)) {
    if (*name == "shopify")
      channel = channel_kind::shopify;
    else if (*name == "amazon")
      channel = channel_kind::amazon;
    else
      r.report(r.path_of("channel"),
               "must be \"shopify\" or \"amazon\", got " + json_string(*name));
  }
  shop.channel = channel.value_or(channel_kind::shopify);
  if (auto sync = r.boolean("stock_sync", presence::optional))
    shop.stock_sync = *sync;
  read_channel_settings(r, channel, shop, ctx.problems);
  if (auto* list = r.array("warehouses", presence::required)) {
    std::map<std::string, std::string> enabled_locations;
    for (size_t i = 0; i < list->size(); ++i)
      read_shop_warehouse((*list)[i], index_path(r.path_of("warehouses"), i),
                          channel, ctx, shop, enabled_locations);
  }
  if (auto* rules = r.member("rules", presence::optional, "an object"))
    read_rules(*rules, r.path_of("rules"), shop.rules, ctx.problems);
  r.finish();
  out.push_back(std::move(shop));
}

} // namespace

void read_shops(object_reader& doc, config& out, bool warehouses_known,
                std::vector<config_problem>& problems) {
  auto* list = doc.array("shops", presence::required);
  if (list == nullptr) return;
  shop_context ctx{out, warehouses_known, problems};
  std::map<std::string, std::string> shop_ids;
  std::vector<shop_config> shops;
  for (size_t i = 0; i < list->size(); ++i)
    read_shop((*list)[i], index_path(doc.path_of("shops"), i), ctx, shop_ids,
              shops);
  out.shops = std::move(shops);
}

} // namespace shelfsync::detail
