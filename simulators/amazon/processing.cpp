#include "simulators/amazon/processing.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "channels/amazon/json_schema.hpp"

namespace shelfsync::amazon::sim {

using nlohmann::json;

sku_failure transient_failure(uint32_t times) {
  return {"4000000", "An internal error has occurred. Please try again.",
          times};
}

sku_failure permanent_failure(uint32_t times) {
  return {"4000003",
          "The Amazon product type specified is invalid or not supported.",
          times};
}

namespace {

json make_report(const std::string& seller_id, const std::string& feed_id,
                 json issues, size_t processed, size_t accepted,
                 size_t invalid) {
  size_t errors = 0;
  size_t warnings = 0;
  for (auto& i : issues) {
    if (i["severity"] == "ERROR")
      ++errors;
    else if (i["severity"] == "WARNING")
      ++warnings;
  }
  return {{"header",
           {{"sellerId", seller_id}, {"version", "2.0"}, {"feedId", feed_id}}},
          {"issues", std::move(issues)},
          {"summary",
           {{"errors", errors},
            {"warnings", warnings},
            {"messagesProcessed", processed},
            {"messagesAccepted", accepted},
            {"messagesInvalid", invalid}}}};
}

processing_outcome fatal(const std::string& seller_id,
                         const std::string& feed_id, std::string code,
                         std::string message) {
  processing_outcome out;
  out.fatal = true;
  out.validation_issues.push_back(message);
  json issue = {{"code", std::move(code)},
                {"severity", "ERROR"},
                {"message", std::move(message)}};
  // Amazon leaves sellerId empty when it could not read the feed.
  out.report =
      make_report(seller_id, feed_id, json::array({issue}), 0, 0, 0).dump();
  return out;
}

json message_issue(int64_t message_id, const json& msg, std::string code,
                   std::string text, std::string attribute = {}) {
  json issue = {{"messageId", message_id},
                {"code", std::move(code)},
                {"severity", "ERROR"},
                {"message", std::move(text)}};
  if (msg.is_object() && msg.contains("sku") && msg["sku"].is_string() &&
      !msg["sku"].get<std::string>().empty())
    issue["sku"] = msg["sku"];
  if (!attribute.empty()) issue["attributeName"] = std::move(attribute);
  return issue;
}

/// A message that satisfies the message schema, to check an envelope alone.
json placeholder_message() {
  return {{"messageId", 1}, {"sku", "x"}, {"operationType", "DELETE"}};
}

} // namespace

processing_outcome process_feed(const std::string& seller_id,
                                const std::string& feed_id,
                                std::string_view body, listing_store& listings,
                                failure_table& failures) {
  auto doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded())
    return fatal("", feed_id, "4002001", "Item 'Feed' cannot be parsed.");
  // Valid as a whole (the common case): no message needs a look of its own.
  auto problems = json_schema::listings_feed().validate(doc);
  std::vector<bool> bad_message;
  std::vector<std::string> bad_reason;
  processing_outcome out;
  if (!problems.empty()) {
    if (!doc.is_object() || !doc.contains("messages") ||
        !doc["messages"].is_array())
      return fatal("", feed_id, "4002001",
                   "Item 'Feed' cannot be parsed: " + to_string(problems));
    auto& msgs = doc["messages"];
    bad_message.assign(msgs.size(), false);
    bad_reason.resize(msgs.size());
    json envelope = doc;
    envelope["messages"] = json::array();
    for (size_t i = 0; i < msgs.size(); ++i) {
      auto v = json_schema::listings_feed_message().validate(msgs[i]);
      if (v.empty()) {
        envelope["messages"].push_back(msgs[i]);
      } else {
        bad_message[i] = true;
        bad_reason[i] = to_string(v);
      }
    }
    if (envelope["messages"].empty())
      envelope["messages"].push_back(placeholder_message());
    auto rest = json_schema::listings_feed().validate(envelope);
    if (!rest.empty()) {
      if (doc.contains("header") && doc["header"].is_object() &&
          doc["header"].contains("version") &&
          doc["header"]["version"] != "2.0")
        return fatal(seller_id, feed_id, "4002006",
                     "The attribute 'version' does not match the required "
                     "value.");
      return fatal(seller_id, feed_id, "4002001",
                   "Item 'Feed' cannot be parsed: " + to_string(rest));
    }
  }
  auto& header = doc["header"];
  if (header["sellerId"] != seller_id)
    return fatal(seller_id, feed_id, "4002005",
                 "The feed's header.sellerId does not name the seller that "
                 "submitted it.");
  auto& msgs = doc["messages"];
  out.messages = msgs.size();
  json issues = json::array();
  std::set<int64_t> ids;
  std::string source = "feed " + feed_id;
  for (size_t i = 0; i < msgs.size(); ++i) {
    auto& msg = msgs[i];
    if (!bad_message.empty() && bad_message[i]) {
      int64_t id = msg.is_object() && msg.contains("messageId") &&
                           msg["messageId"].is_number_integer()
                       ? msg["messageId"].get<int64_t>()
                       : 0;
      out.validation_issues.push_back("message " + std::to_string(i) + ": " +
                                      bad_reason[i]);
      auto issue = message_issue(id, msg, "4002008",
                                 "The provided message did not meet the schema "
                                 "validation requirements for a feed message.");
      if (id < 1) issue.erase("messageId");
      issues.push_back(std::move(issue));
      ++out.invalid;
      continue;
    }
    auto id = msg["messageId"].get<int64_t>();
    auto sku = msg["sku"].get<std::string>();
    // The schema cannot say it; Amazon correlates on it, so a duplicate is a
    // bug in the submitter worth surfacing.
    if (!ids.insert(id).second) {
      out.validation_issues.push_back("messageId " + std::to_string(id) +
                                      " is not unique");
      issues.push_back(message_issue(
          id, msg, "4002008",
          "The provided message did not meet the schema validation "
          "requirements for a feed message: messageId " +
              std::to_string(id) + " is not unique within the feed."));
      ++out.invalid;
      continue;
    }
    if (auto f = failures.find(sku); f != failures.end()) {
      issues.push_back(
          message_issue(id, msg, f->second.code, f->second.message));
      if (f->second.times == 1)
        failures.erase(f);
      else if (f->second.times > 1)
        --f->second.times;
      ++out.invalid;
      continue;
    }
    auto op = msg["operationType"].get<std::string>();
    auto product_type = msg.value("productType", std::string{});
    std::vector<listing_issue> refused;
    if (op == "PATCH")
      refused =
          apply_patches(listings, sku, product_type, msg["patches"], source);
    else if (op == "UPDATE" || op == "PARTIAL_UPDATE")
      refused = apply_attributes(listings, sku, product_type, msg["attributes"],
                                 source);
    else
      listings.erase(sku);
    if (!refused.empty()) {
      for (auto& r : refused)
        issues.push_back(
            message_issue(id, msg, r.code, r.message, r.attribute_name));
      ++out.invalid;
      continue;
    }
    ++out.accepted;
  }
  out.report = make_report(seller_id, feed_id, std::move(issues), out.messages,
                           out.accepted, out.invalid)
                   .dump();
  return out;
}

std::string forced_fatal_report(const std::string& seller_id,
                                const std::string& feed_id) {
  return fatal(seller_id, feed_id, "4000000",
               "An internal error has occurred. Please try again.")
      .report;
}

} // namespace shelfsync::amazon::sim
