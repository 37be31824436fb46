#include "channels/amazon/report.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "channels/amazon/issue_codes.hpp"
#include "channels/amazon/json_schema.hpp"

using namespace shelfsync::amazon;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

listings_feed feed_of(std::vector<feed_entry> entries) {
  listings_feed feed;
  feed.entries = std::move(entries);
  return feed;
}

} // namespace

TEST(report, parses_amazons_official_example) {
  auto text =
      read_file(SHELFSYNC_AMAZON_SCHEMAS
                "/listings-feed-processing-report-schema-v2.example.json");
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(json_schema::processing_report()
                  .validate(nlohmann::json::parse(text))
                  .empty());
  std::string error;
  auto report = parse_processing_report(text, &error);
  ASSERT_TRUE(report) << error;
  EXPECT_EQ(report->seller_id, "AXXXXXXXXXXXX");
  EXPECT_EQ(report->version, "2.0");
  EXPECT_EQ(report->feed_id, "1234567890");
  ASSERT_EQ(report->issues.size(), 3u);
  EXPECT_EQ(report->issues[0].message_id, 4);
  EXPECT_EQ(report->issues[0].code, "90220");
  EXPECT_EQ(report->issues[0].severity, issue_severity::error);
  EXPECT_EQ(report->issues[2].attribute_name, "purchasable_offer.our_price");
  EXPECT_EQ(report->summary.errors, 3);
  EXPECT_EQ(report->summary.messages_processed, 4);
  EXPECT_EQ(report->summary.messages_accepted, 2);
  EXPECT_EQ(report->summary.messages_invalid, 2);

  // The example's feed had five messages; 4 and 5 were refused.
  auto feed = feed_of({{"My-SKU-A", 1},
                       {"My-SKU-X", 2},
                       {"My-SKU-Y", 3},
                       {"My-SKU-B", 4},
                       {"My-SKU-C", 5}});
  auto outcomes = classify_report(*report, feed);
  ASSERT_EQ(outcomes.size(), 5u);
  EXPECT_EQ(outcomes[0].result, sku_result::accepted);
  EXPECT_EQ(outcomes[2].result, sku_result::accepted);
  EXPECT_EQ(outcomes[3].sku, "My-SKU-B");
  EXPECT_EQ(outcomes[3].result, sku_result::permanent_error);
  EXPECT_EQ(outcomes[3].errors, 2u);
  EXPECT_EQ(outcomes[3].code, "90220");
  EXPECT_EQ(outcomes[3].message,
            "'[batteries_required]' is required but not supplied.");
  EXPECT_EQ(outcomes[4].result, sku_result::permanent_error);
  EXPECT_EQ(outcomes[4].code, "99022");
}

TEST(report, warnings_count_as_accepted_and_transient_codes_are_retried) {
  auto text = R"({"header":{"sellerId":"S","version":"2.0","feedId":"7"},
    "issues":[
      {"messageId":1,"sku":"A","code":"18448","severity":"WARNING",
       "message":"Attributes tagged as relevant_attributes are incomplete."},
      {"messageId":2,"sku":"B","code":"4000000","severity":"ERROR",
       "message":"An internal error has occurred. Please try again."},
      {"messageId":3,"code":"4000000","severity":"ERROR",
       "message":"An internal error has occurred. Please try again."},
      {"messageId":3,"code":"4000003","severity":"ERROR",
       "message":"The Amazon product type specified is invalid or not supported."},
      {"sku":"D","code":"5000","severity":"INFO","message":"fyi"},
      {"messageId":99,"code":"1","severity":"ERROR","message":"stray"}],
    "summary":{"errors":4,"warnings":1,"messagesProcessed":4,
               "messagesAccepted":2,"messagesInvalid":2}})";
  auto report = parse_processing_report(text);
  ASSERT_TRUE(report);
  auto outcomes = classify_report(
      *report, feed_of({{"A", 1}, {"B", 2}, {"C", 3}, {"D", 4}}));
  EXPECT_EQ(outcomes[0].result, sku_result::accepted);
  EXPECT_EQ(outcomes[0].warnings, 1u);
  EXPECT_EQ(outcomes[1].result, sku_result::transient_error);
  EXPECT_EQ(outcomes[1].code, "4000000");
  // One permanent error among transient ones makes the SKU permanent.
  EXPECT_EQ(outcomes[2].result, sku_result::permanent_error);
  EXPECT_EQ(outcomes[3].result, sku_result::accepted);
  EXPECT_EQ(outcomes[3].quantity, 4);
}

TEST(report, feed_level_failure_leaves_every_message_unprocessed) {
  // Shape seen on Amazon for a feed it could not parse.
  auto text = R"({"header":{"sellerId":"","version":"2.0","feedId":"9"},
    "issues":[{"code":"4002001","severity":"ERROR",
               "message":"Item 'Feed' cannot be parsed."}],
    "summary":{"errors":1,"warnings":0,"messagesProcessed":0,
               "messagesAccepted":0,"messagesInvalid":0}})";
  auto report = parse_processing_report(text);
  ASSERT_TRUE(report);
  auto outcomes = classify_report(*report, feed_of({{"A", 1}, {"B", 2}}));
  for (auto& o : outcomes) {
    EXPECT_EQ(o.result, sku_result::not_processed);
    EXPECT_EQ(o.code, "4002001");
    EXPECT_EQ(o.message, "Item 'Feed' cannot be parsed.");
  }
}

TEST(report, malformed_reports_say_what_is_wrong) {
  std::string error;
  EXPECT_FALSE(parse_processing_report("{", &error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos);
  EXPECT_FALSE(parse_processing_report(R"({"issues":[]})", &error));
  EXPECT_NE(error.find("summary"), std::string::npos);
  EXPECT_FALSE(parse_processing_report(
      R"({"issues":[{"severity":"FATAL","message":"x"}],
        "summary":{"errors":0,"warnings":0,"messagesProcessed":0,
                   "messagesAccepted":0,"messagesInvalid":0}})",
      &error));
  EXPECT_NE(error.find("issues[0].severity"), std::string::npos);
}

TEST(issue_codes, transient_only_for_amazons_own_failures) {
  EXPECT_TRUE(is_transient_issue("4000000", ""));
  EXPECT_TRUE(is_transient_issue("X", "Internal error, please TRY AGAIN"));
  EXPECT_FALSE(is_transient_issue("90220", "'[x]' is required"));
  EXPECT_FALSE(
      is_transient_issue("BAD_REQUEST", "Invalid parameters provided."));
  EXPECT_FALSE(is_transient_issue("", ""));
}
