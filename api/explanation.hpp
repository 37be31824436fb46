#pragma once

#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// Explains every number `shop` holds for product `code` (one per Shopify
/// location, one for Amazon): its value, the stock of each contributing
/// warehouse, the warehouses left out and why, the rules applied step by
/// step, the events behind it (from the record's recent seqs, read from the
/// log), and the request that carried it with the channel's answer (from
/// the shop's delivery record). `rec` is the product's live record.
caf::expected<nlohmann::json>
explain_product(const store& db, const config& conf, const shop_config& shop,
                const std::string& code, const product_record& rec);

/// `explain_product` from what it reads: the product's latest events
/// (`rec.recent`'s, oldest first) and the shop's delivery record of the
/// product (empty when nothing was sent).
nlohmann::json explain_from(const config& conf, const shop_config& shop,
                            const std::string& code, const product_record& rec,
                            const std::vector<stock_event>& events,
                            const delivery_record& deliveries);

/// Renders what `explain_product` built as readable text.
std::string explanation_text(const nlohmann::json& x);

/// The state of one shop view entry as the API reports it: "pending",
/// "in_flight", "confirmed" (only when the confirmed value is the desired
/// one) or "failed". `d` is null when nothing was ever sent.
const char* delivery_state_of(const delivery* d, int64_t desired);

/// The channel error of `d` as the API reports it: null or code, message
/// and time as the channel gave them.
nlohmann::json delivery_error_json(const delivery& d);

} // namespace shelfsync
