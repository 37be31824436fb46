#include "simulators/amazon/processing.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "channels/amazon/feed.hpp"
#include "channels/amazon/json_schema.hpp"
#include "channels/amazon/report.hpp"

using namespace shelfsync::amazon;
using nlohmann::json;

namespace {

const std::string seller = "A2EXAMPLE";

listings_feed build(std::vector<std::pair<std::string, int64_t>> items) {
  feed_options opts;
  opts.seller_id = seller;
  feed_builder b{opts};
  for (auto& [sku, qty] : items)
    b.add(sku, qty);
  auto batch = b.finish();
  EXPECT_EQ(batch.feeds.size(), 1u);
  return std::move(batch.feeds.at(0));
}

json report_of(const sim::processing_outcome& out) {
  auto doc = json::parse(out.report);
  auto problems = json_schema::processing_report().validate(doc);
  EXPECT_TRUE(problems.empty()) << to_string(problems);
  return doc;
}

json message(int id, std::string sku, int qty) {
  return {
      {"messageId", id},
      {"sku", std::move(sku)},
      {"operationType", "PATCH"},
      {"productType", "PRODUCT"},
      {"patches",
       {{{"op", "merge"},
         {"path", "/attributes/fulfillment_availability"},
         {"value",
          {{{"fulfillment_channel_code", "DEFAULT"}, {"quantity", qty}}}}}}}};
}

json feed_doc(json messages) {
  return {{"header", {{"sellerId", seller}, {"version", "2.0"}}},
          {"messages", std::move(messages)}};
}

} // namespace

TEST(sim_processing, applies_a_valid_feed_and_reports_every_message_accepted) {
  sim::listing_store listings;
  sim::failure_table failures;
  auto feed = build({{"A", 5}, {"B", 0}, {"C", 12}});
  auto out = sim::process_feed(seller, "100", feed.body, listings, failures);
  EXPECT_FALSE(out.fatal);
  EXPECT_EQ(out.accepted, 3u);
  auto doc = report_of(out);
  EXPECT_EQ(doc["header"]["feedId"], "100");
  EXPECT_EQ(doc["summary"]["messagesProcessed"], 3);
  EXPECT_EQ(doc["summary"]["messagesAccepted"], 3);
  EXPECT_TRUE(doc["issues"].empty());
  EXPECT_EQ(listings["A"].quantity(), 5);
  EXPECT_EQ(listings["B"].quantity(), 0);
  EXPECT_EQ(listings["C"].history, std::vector<int64_t>{12});
  EXPECT_EQ(listings["C"].sources, std::vector<std::string>{"feed 100"});
}

TEST(sim_processing, invalid_message_is_an_error_issue_and_the_rest_applies) {
  sim::listing_store listings;
  sim::failure_table failures;
  auto bad = message(2, "B", 3);
  bad.erase("productType"); // PATCH requires productType
  auto doc = feed_doc({message(1, "A", 4), bad, message(3, "C", 6)});
  auto out = sim::process_feed(seller, "101", doc.dump(), listings, failures);
  EXPECT_FALSE(out.fatal);
  auto report = report_of(out);
  ASSERT_EQ(report["issues"].size(), 1u);
  EXPECT_EQ(report["issues"][0]["messageId"], 2);
  EXPECT_EQ(report["issues"][0]["sku"], "B");
  EXPECT_EQ(report["issues"][0]["code"], "4002008");
  EXPECT_EQ(report["summary"]["messagesInvalid"], 1);
  EXPECT_EQ(listings["A"].quantity(), 4);
  EXPECT_EQ(listings["C"].quantity(), 6);
  EXPECT_EQ(listings.count("B"), 0u);
  EXPECT_FALSE(out.validation_issues.empty());
}

TEST(sim_processing, missing_selector_and_negative_quantity_are_refused) {
  sim::listing_store listings;
  sim::failure_table failures;
  auto no_selector = message(1, "A", 1);
  no_selector["patches"][0]["value"][0].erase("fulfillment_channel_code");
  auto doc = feed_doc({no_selector, message(2, "B", -3)});
  auto out = sim::process_feed(seller, "102", doc.dump(), listings, failures);
  auto report = report_of(out);
  ASSERT_EQ(report["issues"].size(), 2u);
  EXPECT_EQ(report["issues"][0]["code"], "BAD_REQUEST");
  EXPECT_EQ(report["issues"][1]["code"], "90000900");
  EXPECT_TRUE(listings.empty());
}

TEST(sim_processing, a_broken_document_is_fatal_with_a_report_saying_why) {
  sim::listing_store listings;
  sim::failure_table failures;
  auto unparseable =
      sim::process_feed(seller, "1", "{\"header\":", listings, failures);
  EXPECT_TRUE(unparseable.fatal);
  EXPECT_EQ(report_of(unparseable)["issues"][0]["code"], "4002001");

  // json::array spelled out: clang (unlike gcc) reads {one_json} as that
  // json itself, not as an array of it.
  auto wrong_version = feed_doc(json::array({message(1, "A", 1)}));
  wrong_version["header"]["version"] = "1.0";
  auto v =
      sim::process_feed(seller, "2", wrong_version.dump(), listings, failures);
  EXPECT_TRUE(v.fatal);
  EXPECT_EQ(report_of(v)["issues"][0]["code"], "4002006");

  auto no_header = json{{"messages", json::array({message(1, "A", 1)})}};
  auto h = sim::process_feed(seller, "3", no_header.dump(), listings, failures);
  EXPECT_TRUE(h.fatal);
  EXPECT_NE(h.validation_issues.at(0).find("header"), std::string::npos);

  auto other_seller = feed_doc(json::array({message(1, "A", 1)}));
  other_seller["header"]["sellerId"] = "SOMEONE_ELSE";
  EXPECT_TRUE(
      sim::process_feed(seller, "4", other_seller.dump(), listings, failures)
          .fatal);
  EXPECT_TRUE(listings.empty());
}

TEST(sim_processing, sku_failures_count_down_and_duplicate_ids_are_flagged) {
  sim::listing_store listings;
  sim::failure_table failures;
  failures["A"] = sim::transient_failure(1);
  failures["B"] = sim::permanent_failure();
  auto feed = build({{"A", 1}, {"B", 2}});
  auto first = sim::process_feed(seller, "1", feed.body, listings, failures);
  auto report = parse_processing_report(first.report);
  ASSERT_TRUE(report);
  auto outcomes = classify_report(*report, feed);
  EXPECT_EQ(outcomes[0].result, sku_result::transient_error);
  EXPECT_EQ(outcomes[1].result, sku_result::permanent_error);
  EXPECT_EQ(outcomes[1].code, "4000003");
  auto second = sim::process_feed(seller, "2", feed.body, listings, failures);
  outcomes = classify_report(*parse_processing_report(second.report), feed);
  EXPECT_EQ(outcomes[0].result, sku_result::accepted);
  EXPECT_EQ(outcomes[1].result, sku_result::permanent_error);
  EXPECT_EQ(listings["A"].quantity(), 1);

  auto dup = feed_doc({message(1, "X", 1), message(1, "Y", 2)});
  auto d = sim::process_feed(seller, "3", dup.dump(), listings, failures);
  EXPECT_EQ(d.invalid, 1u);
  EXPECT_EQ(listings.count("Y"), 0u);
}

TEST(sim_listings, merge_keeps_other_fields_and_replace_drops_them) {
  sim::listing_store store;
  auto patch = [](std::string op, json value) {
    return json::array({{{"op", std::move(op)},
                         {"path", "/attributes/fulfillment_availability"},
                         {"value", std::move(value)}}});
  };
  EXPECT_TRUE(
      sim::apply_patches(
          store, "S", "PRODUCT",
          patch("replace",
                {{{"fulfillment_channel_code", "DEFAULT"}, {"quantity", 3}},
                 {{"fulfillment_channel_code", "AMAZON_NA"}}}),
          "t")
          .empty());
  EXPECT_EQ(store["S"].availability.size(), 2u);
  sim::apply_patches(store, "S", "PRODUCT",
                     patch("merge", {{{"fulfillment_channel_code", "DEFAULT"},
                                      {"quantity", 8}}}),
                     "t");
  EXPECT_EQ(store["S"].availability.size(), 2u);
  EXPECT_EQ(store["S"].quantity(), 8);
  sim::apply_patches(store, "S", "PRODUCT",
                     patch("replace", {{{"fulfillment_channel_code", "DEFAULT"},
                                        {"quantity", 1}}}),
                     "t");
  EXPECT_EQ(store["S"].availability.size(), 1u);
  EXPECT_EQ(store["S"].history, (std::vector<int64_t>{3, 8, 1}));
  auto nested =
      json::array({{{"op", "merge"},
                    {"path", "/attributes/fulfillment_availability/0/quantity"},
                    {"value", json::array({json::object()})}}});
  EXPECT_EQ(sim::apply_patches(store, "S", "PRODUCT", nested, "t").at(0).code,
            "90000900");
}
