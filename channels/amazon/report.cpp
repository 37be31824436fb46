#include "channels/amazon/report.hpp"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "channels/amazon/issue_codes.hpp"

namespace shelfsync::amazon {

std::string_view to_string(issue_severity severity) {
  switch (severity) {
  case issue_severity::error:
    return "ERROR";
  case issue_severity::warning:
    return "WARNING";
  case issue_severity::info:
    return "INFO";
  }
  return "ERROR";
}

std::string_view to_string(sku_result result) {
  switch (result) {
  case sku_result::accepted:
    return "accepted";
  case sku_result::transient_error:
    return "transient_error";
  case sku_result::permanent_error:
    return "permanent_error";
  case sku_result::not_processed:
    return "not_processed";
  }
  return "not_processed";
}

namespace {

using nlohmann::json;

bool fail(std::string* error, std::string what) {
  if (error) *error = "processing report: " + std::move(what);
  return false;
}

bool read_string(const json& obj, const char* key, std::string& out,
                 const std::string& where, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string())
    return fail(error, where + "." + key + " is not a string");
  out = it->get<std::string>();
  return true;
}

bool read_count(const json& obj, const char* key, int64_t& out,
                std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end())
    return fail(error, std::string{"summary."} + key + " is missing");
  if (!it->is_number_integer())
    return fail(error, std::string{"summary."} + key + " is not an integer");
  out = it->get<int64_t>();
  return true;
}

bool read_issue(const json& item, size_t index, report_issue& out,
                std::string* error) {
  auto where = "issues[" + std::to_string(index) + "]";
  if (!item.is_object()) return fail(error, where + " is not an object");
  if (auto it = item.find("messageId"); it != item.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return fail(error, where + ".messageId is not an integer");
    out.message_id = it->get<int64_t>();
  }
  std::string severity;
  if (!read_string(item, "sku", out.sku, where, error) ||
      !read_string(item, "code", out.code, where, error) ||
      !read_string(item, "message", out.message, where, error) ||
      !read_string(item, "attributeName", out.attribute_name, where, error) ||
      !read_string(item, "severity", severity, where, error))
    return false;
  if (severity == "ERROR")
    out.severity = issue_severity::error;
  else if (severity == "WARNING")
    out.severity = issue_severity::warning;
  else if (severity == "INFO")
    out.severity = issue_severity::info;
  else
    return fail(error, where + ".severity is \"" + severity +
                           "\", expected ERROR, WARNING or INFO");
  return true;
}

} // namespace

std::optional<processing_report> parse_processing_report(std::string_view text,
                                                         std::string* error) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    fail(error, "not valid JSON at byte " + std::to_string(e.byte));
    return std::nullopt;
  }
  if (!doc.is_object()) {
    fail(error, "top level is not an object");
    return std::nullopt;
  }
  processing_report out;
  if (auto it = doc.find("header"); it != doc.end()) {
    if (!it->is_object()) {
      fail(error, "header is not an object");
      return std::nullopt;
    }
    if (!read_string(*it, "sellerId", out.seller_id, "header", error) ||
        !read_string(*it, "version", out.version, "header", error) ||
        !read_string(*it, "feedId", out.feed_id, "header", error))
      return std::nullopt;
  }
  auto issues = doc.find("issues");
  if (issues != doc.end() && !issues->is_null()) {
    if (!issues->is_array()) {
      fail(error, "issues is not an array");
      return std::nullopt;
    }
    out.issues.resize(issues->size());
    for (size_t i = 0; i < issues->size(); ++i)
      if (!read_issue((*issues)[i], i, out.issues[i], error))
        return std::nullopt;
  }
  auto summary = doc.find("summary");
  if (summary == doc.end() || !summary->is_object()) {
    fail(error, "summary is missing or not an object");
    return std::nullopt;
  }
  auto& s = out.summary;
  if (!read_count(*summary, "errors", s.errors, error) ||
      !read_count(*summary, "warnings", s.warnings, error) ||
      !read_count(*summary, "messagesProcessed", s.messages_processed, error) ||
      !read_count(*summary, "messagesAccepted", s.messages_accepted, error) ||
      !read_count(*summary, "messagesInvalid", s.messages_invalid, error))
    return std::nullopt;
  return out;
}

std::vector<sku_outcome> classify_report(const processing_report& report,
                                         const listings_feed& feed) {
  std::vector<sku_outcome> out;
  out.reserve(feed.entries.size());
  for (size_t i = 0; i < feed.entries.size(); ++i) {
    auto& entry = feed.entries[i];
    sku_outcome o;
    o.sku = entry.sku;
    o.quantity = entry.quantity;
    o.message_id = static_cast<int64_t>(i + 1);
    out.push_back(std::move(o));
  }
  // An issue names its message by messageId; fall back to the SKU for
  // issues that carry only that.
  std::unordered_map<std::string_view, size_t> by_sku;
  const report_issue* feed_level_error = nullptr;
  std::vector<bool> any_permanent(out.size(), false);
  for (const auto& issue : report.issues) {
    const sku_outcome* target = nullptr;
    if (issue.message_id) {
      if (feed.find(*issue.message_id))
        target = &out[static_cast<size_t>(*issue.message_id - 1)];
    } else if (!issue.sku.empty()) {
      if (by_sku.empty())
        for (size_t i = 0; i < out.size(); ++i)
          by_sku.emplace(out[i].sku, i);
      if (auto it = by_sku.find(issue.sku); it != by_sku.end())
        target = &out[it->second];
    }
    if (!target) {
      if (!issue.message_id && issue.severity == issue_severity::error &&
          !feed_level_error)
        feed_level_error = &issue;
      continue;
    }
    auto index = static_cast<size_t>(target->message_id - 1);
    auto& o = out[index];
    if (issue.severity == issue_severity::warning) {
      ++o.warnings;
      continue;
    }
    if (issue.severity != issue_severity::error) continue;
    if (o.errors++ == 0) {
      o.code = issue.code;
      o.message = issue.message;
    }
    if (!is_transient_issue(issue.code, issue.message))
      any_permanent[index] = true;
  }
  // Nothing processed: whatever is not explicitly refused was never looked
  // at (e.g. 4002001 "Item 'Feed' cannot be parsed." with all counts 0).
  bool nothing_processed = report.summary.messages_processed == 0;
  for (size_t i = 0; i < out.size(); ++i) {
    auto& o = out[i];
    if (o.errors > 0) {
      o.result = any_permanent[i] ? sku_result::permanent_error
                                  : sku_result::transient_error;
    } else if (nothing_processed) {
      o.result = sku_result::not_processed;
      if (feed_level_error) {
        o.code = feed_level_error->code;
        o.message = feed_level_error->message;
      } else {
        o.message = "the processing report says no message was processed";
      }
    }
  }
  return out;
}

} // namespace shelfsync::amazon
