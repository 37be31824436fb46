#include "tests/support/config.hpp"

namespace shelfsync::tests {

shop_config make_shop(std::string id, channel_kind channel,
                      std::vector<shop_warehouse> warehouses) {
  shop_config s;
  s.id = std::move(id);
  s.channel = channel;
  s.warehouses = std::move(warehouses);
  return s;
}

std::shared_ptr<config> make_config(std::string data_dir,
                                    const std::vector<std::string>& warehouses,
                                    std::vector<shop_config> shops) {
  auto c = std::make_shared<config>();
  c->node.data_dir = std::move(data_dir);
  for (auto& id : warehouses)
    c->warehouses.push_back({id});
  c->shops = std::move(shops);
  return c;
}

std::shared_ptr<config> two_shop_config(std::string data_dir) {
  return make_config(
      std::move(data_dir), {"WH-A", "WH-B"},
      {make_shop("eu-store", channel_kind::shopify,
                 {{"WH-A", true, location_a}, {"WH-B", true, location_b}}),
       make_shop("amazon-us", channel_kind::amazon,
                 {{"WH-A", true, ""}, {"WH-B", true, ""}})});
}

} // namespace shelfsync::tests
