#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shelfsync::amazon {

/// One way a JSON document breaks its schema.
struct schema_violation {
  /// Where in the document, as a JSON pointer ("/messages/3/sku"); empty for
  /// the root.
  std::string path;
  /// What is wrong there, in valijson's words.
  std::string message;
};

/// A parsed JSON Schema (draft-07) that validates documents with valijson.
/// Immutable after construction, so one instance may be shared by threads.
class json_schema {
 public:
  /// Parses `schema_text`; throws std::runtime_error when it is not a valid
  /// schema (the compiled-in schemas are covered by tests).
  explicit json_schema(std::string_view schema_text);
  ~json_schema();

  json_schema(const json_schema&) = delete;
  json_schema& operator=(const json_schema&) = delete;

  /// Returns every violation of the schema in `doc`; empty when it is valid.
  std::vector<schema_violation> validate(const nlohmann::json& doc) const;

  /// The schema of a whole JSON_LISTINGS_FEED document (parsed once).
  static const json_schema& listings_feed();

  /// The schema of one message of a JSON_LISTINGS_FEED (parsed once).
  static const json_schema& listings_feed_message();

  /// The schema of a JSON_LISTINGS_FEED processing report (parsed once).
  static const json_schema& processing_report();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Formats violations as "path: message; path: message", at most `limit`
/// of them, for reports and logs.
std::string to_string(const std::vector<schema_violation>& violations,
                      size_t limit = 5);

} // namespace shelfsync::amazon
