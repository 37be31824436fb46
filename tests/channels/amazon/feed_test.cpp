#include "channels/amazon/feed.hpp"

#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "channels/amazon/json_schema.hpp"

using namespace shelfsync::amazon;
using nlohmann::json;

namespace {

feed_options seller() {
  feed_options opts;
  opts.seller_id = "A2EXAMPLE";
  return opts;
}

/// Updates with the default product type.
std::vector<quantity_update>
updates(std::initializer_list<std::pair<std::string, int64_t>> list) {
  std::vector<quantity_update> out;
  for (auto& [sku, qty] : list)
    out.push_back({sku, qty, {}});
  return out;
}

void expect_schema_valid(const listings_feed& feed) {
  auto doc = json::parse(feed.body);
  auto problems = json_schema::listings_feed().validate(doc);
  EXPECT_TRUE(problems.empty()) << to_string(problems);
  for (const auto& msg : doc["messages"]) {
    auto msg_problems = json_schema::listings_feed_message().validate(msg);
    EXPECT_TRUE(msg_problems.empty()) << to_string(msg_problems);
  }
}

} // namespace

TEST(feed, message_has_the_documented_shape) {
  auto opts = seller();
  opts.issue_locale = "en_US";
  auto batch = build_listings_feeds(updates({{"SKU-1", 7}}), opts);
  ASSERT_EQ(batch.feeds.size(), 1u);
  auto doc = json::parse(batch.feeds[0].body);
  EXPECT_EQ(doc, json::parse(R"({
    "header": {"sellerId": "A2EXAMPLE", "version": "2.0",
               "issueLocale": "en_US"},
    "messages": [{"messageId": 1, "sku": "SKU-1", "operationType": "PATCH",
      "productType": "PRODUCT",
      "patches": [{"op": "merge",
                   "path": "/attributes/fulfillment_availability",
                   "value": [{"fulfillment_channel_code": "DEFAULT",
                              "quantity": 7}]}]}]})"));
  expect_schema_valid(batch.feeds[0]);
}

TEST(feed, omits_issue_locale_when_unset_and_honours_product_type) {
  auto opts = seller();
  opts.product_type = "LUGGAGE";
  auto batch = build_listings_feeds({{"A", 1, {}}, {"B", 2, "SHOES"}}, opts);
  ASSERT_EQ(batch.feeds.size(), 1u);
  auto doc = json::parse(batch.feeds[0].body);
  EXPECT_FALSE(doc["header"].contains("issueLocale"));
  EXPECT_EQ(doc["messages"][0]["productType"], "LUGGAGE");
  EXPECT_EQ(doc["messages"][1]["productType"], "SHOES");
  expect_schema_valid(batch.feeds[0]);
}

TEST(feed, sku_appears_once_with_its_latest_value) {
  auto batch = build_listings_feeds(
      updates({{"A", 1}, {"B", 2}, {"A", 3}, {"C", 4}, {"B", 0}, {"A", 9}}),
      seller());
  ASSERT_EQ(batch.feeds.size(), 1u);
  auto doc = json::parse(batch.feeds[0].body);
  ASSERT_EQ(doc["messages"].size(), 3u);
  std::map<std::string, int64_t> got;
  for (auto& m : doc["messages"])
    got[m["sku"]] = m["patches"][0]["value"][0]["quantity"];
  EXPECT_EQ(got,
            (std::map<std::string, int64_t>{{"A", 9}, {"B", 0}, {"C", 4}}));
  // Entries map messageId back to SKU and quantity.
  auto& feed = batch.feeds[0];
  ASSERT_NE(feed.find(1), nullptr);
  EXPECT_EQ(feed.find(1)->sku, "A");
  EXPECT_EQ(feed.find(1)->quantity, 9);
  EXPECT_EQ(feed.find(3)->sku, "C");
  EXPECT_EQ(feed.find(4), nullptr);
  EXPECT_EQ(feed.find(0), nullptr);
}

TEST(feed, escapes_skus_and_rejects_what_cannot_be_sent) {
  std::string odd = "q\"u\\o\te\x01/\xc3\xa9";
  auto batch = build_listings_feeds(
      updates({{odd, 1}, {"", 2}, {"NEG", -1}, {"bad\xff", 3}}), seller());
  ASSERT_EQ(batch.feeds.size(), 1u);
  auto doc = json::parse(batch.feeds[0].body);
  ASSERT_EQ(doc["messages"].size(), 1u);
  EXPECT_EQ(doc["messages"][0]["sku"], odd);
  expect_schema_valid(batch.feeds[0]);
  ASSERT_EQ(batch.rejected.size(), 3u);
  EXPECT_EQ(batch.rejected[0].reason, "SKU is empty");
  EXPECT_EQ(batch.rejected[1].sku, "NEG");
  EXPECT_EQ(batch.rejected[2].reason, "SKU is not valid UTF-8");
}

TEST(feed, splits_at_25000_messages_into_the_fewest_feeds) {
  feed_builder builder{seller()};
  const size_t n = 60'001;
  for (size_t i = 0; i < n; ++i)
    builder.add("SKU-" + std::to_string(i), static_cast<int64_t>(i % 50));
  auto batch = builder.finish();
  ASSERT_EQ(batch.feeds.size(), 3u);
  EXPECT_EQ(batch.feeds[0].entries.size(), 25'000u);
  EXPECT_EQ(batch.feeds[1].entries.size(), 25'000u);
  EXPECT_EQ(batch.feeds[2].entries.size(), 10'001u);
  std::set<std::string> seen;
  for (auto& feed : batch.feeds) {
    auto doc = json::parse(feed.body);
    ASSERT_EQ(doc["messages"].size(), feed.entries.size());
    std::set<int64_t> ids;
    for (auto& m : doc["messages"]) {
      ids.insert(m["messageId"].get<int64_t>());
      EXPECT_TRUE(seen.insert(m["sku"].get<std::string>()).second);
    }
    EXPECT_EQ(ids.size(), feed.entries.size()) << "messageIds not unique";
    EXPECT_EQ(*ids.begin(), 1);
    EXPECT_EQ(*ids.rbegin(), static_cast<int64_t>(feed.entries.size()));
  }
  EXPECT_EQ(seen.size(), n);
  expect_schema_valid(batch.feeds[0]);
  EXPECT_EQ(builder.size(), 0u);
}

TEST(feed, splits_by_serialized_size_and_never_exceeds_it) {
  auto opts = seller();
  opts.max_bytes = 10 * 1024 * 1024;
  // 2,000-byte SKUs: about 2.2 KB a message, so the 10 MiB bound binds well
  // before the 25,000-message bound.
  feed_builder builder{opts};
  const size_t n = 10'000;
  for (size_t i = 0; i < n; ++i) {
    auto sku = std::to_string(i);
    sku.resize(2000, 'x');
    builder.add(sku, 1);
  }
  auto batch = builder.finish();
  size_t total = 0;
  size_t bytes = 0;
  for (auto& feed : batch.feeds) {
    EXPECT_LE(feed.body.size(), opts.max_bytes);
    total += feed.entries.size();
    bytes += feed.body.size();
    EXPECT_NO_THROW(json::parse(feed.body));
  }
  EXPECT_EQ(total, n);
  // Greedy filling: every feed but the last is within one message of full.
  for (size_t i = 0; i + 1 < batch.feeds.size(); ++i)
    EXPECT_GT(batch.feeds[i].body.size(), opts.max_bytes - 2200);
  EXPECT_GE(batch.feeds.size(), 3u);
  EXPECT_LE(batch.feeds.size(), bytes / (opts.max_bytes - 2200) + 1);
}

TEST(feed, a_message_larger_than_a_feed_is_rejected) {
  auto opts = seller();
  opts.max_bytes = 300;
  std::string huge(400, 'h');
  auto batch = build_listings_feeds(updates({{"ok", 1}, {huge, 2}}), opts);
  ASSERT_EQ(batch.feeds.size(), 1u);
  EXPECT_EQ(batch.feeds[0].entries.size(), 1u);
  ASSERT_EQ(batch.rejected.size(), 1u);
  EXPECT_EQ(batch.rejected[0].sku, huge);
}

TEST(feed, amazons_own_example_is_schema_valid) {
  // Guards the compiled-in schema and the valijson setup: if these disagreed
  // every feed test above would prove nothing.
  std::ifstream in{SHELFSYNC_AMAZON_SCHEMAS
                   "/listings-feed-schema-v2.example.json"};
  ASSERT_TRUE(in);
  auto doc = json::parse(in);
  EXPECT_TRUE(json_schema::listings_feed().validate(doc).empty());
  doc["messages"][4]["patches"] = json::array();
  doc["messages"][0]["productType"] = "X";
  auto problems = json_schema::listings_feed().validate(doc);
  EXPECT_FALSE(problems.empty());
  auto msg = doc["messages"][3];
  msg.erase("productType");
  EXPECT_FALSE(json_schema::listings_feed_message().validate(msg).empty());
}

TEST(feed, latest_value_wins_across_index_growth) {
  // 5,000 SKUs, each set three times in interleaved rounds: the index grows
  // several times while earlier SKUs are being overwritten.
  feed_builder builder{seller()};
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 5000; ++i)
      builder.add("S" + std::to_string(i), round * 10000 + i);
  EXPECT_EQ(builder.size(), 5000u);
  auto batch = builder.finish();
  ASSERT_EQ(batch.feeds.size(), 1u);
  auto& entries = batch.feeds[0].entries;
  ASSERT_EQ(entries.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    EXPECT_EQ(entries[i].sku, "S" + std::to_string(i));
    EXPECT_EQ(entries[i].quantity, 20000 + i);
  }
}
