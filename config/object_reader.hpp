#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace shelfsync::detail {

/// The parsed document; ordered so that problems follow the file's order.
using json = nlohmann::ordered_json;

// -- paths and values in messages --------------------------------------------

/// The path of member `key` below `parent`: `$.node`, or `$["a b"]` when the
/// key is not a plain identifier.
std::string member_path(const std::string& parent, const std::string& key);

/// The path of element `index` below `parent`: `$.shops[1]`.
std::string index_path(const std::string& parent, size_t index);

/// A JSON value as a message shows it after "got": `"ftp://x"`, `5`, `an
/// object`. Long values are shortened.
std::string describe(const json& value);

/// A string quoted and escaped as JSON, for messages.
std::string json_string(const std::string& text);

// -- reading one object ------------------------------------------------------

/// Whether a member must be present.
enum class presence { required, optional };

/// Reads the members of one JSON object and reports what is wrong with them.
/// Every key asked for is remembered; `finish` then reports the keys nobody
/// asked for, so that a typo never passes silently. Keys starting with `x-`
/// are extensions and are never reported.
class object_reader {
 public:
  /// Checks that `value` is an object; when it is not, reports it and every
  /// getter returns nothing.
  object_reader(const json& value, std::string path,
                std::vector<config_problem>& problems);

  /// Returns whether the value is an object.
  bool is_object() const { return object_ != nullptr; }

  /// The path of this object.
  const std::string& path() const { return path_; }

  /// The path of member `key`.
  std::string path_of(const std::string& key) const;

  /// Records a problem at `path`.
  void report(const std::string& path, std::string message);

  /// Returns member `key` or nullptr; reports a missing required member,
  /// naming the `expected` kind of value.
  const json* member(const std::string& key, presence p, const char* expected);

  /// Returns member `key` if it is a string; a missing required one is
  /// reported as lacking `expected`.
  std::optional<std::string> string(const std::string& key, presence p,
                                    const char* expected = "a string");

  /// Returns member `key` if it is a non-empty string without control
  /// characters.
  std::optional<std::string> text(const std::string& key, presence p);

  /// Returns member `key` if it is a boolean.
  std::optional<bool> boolean(const std::string& key, presence p);

  /// Returns member `key` if it is an integer from `min` to `max`.
  std::optional<int64_t>
  integer(const std::string& key, presence p, int64_t min = 0,
          int64_t max = std::numeric_limits<int64_t>::max());

  /// Returns member `key` if it is a valid environment variable name that
  /// does not look like a secret; its value is never quoted in a problem.
  std::optional<std::string> env_name(const std::string& key, presence p);

  /// Returns member `key` if it is an http(s) URL with a host.
  std::optional<std::string> url(const std::string& key, presence p);

  /// Returns member `key` if it is an array.
  const json* array(const std::string& key, presence p);

  /// Reports every member that no getter asked for.
  void finish();

 private:
  const json* object_ = nullptr;
  std::string path_;
  std::vector<config_problem>& problems_;
  std::vector<std::string> known_;
};

// -- value shapes ------------------------------------------------------------

/// Returns whether `text` (UTF-8) contains a control character: C0 (below
/// U+0020), DEL or C1 (U+0080 to U+009F).
bool has_control_character(const std::string& text);

/// Returns whether `name` is a valid environment variable name:
/// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters.
bool is_env_name(const std::string& name);

/// Returns what kind of secret `text` looks like by its prefix (a Shopify
/// `shpat_` token, an Amazon `Atzr|` refresh token, ...), or nullptr.
const char* secret_kind(const std::string& text);

/// Returns what is wrong with `url` as an http(s) endpoint, or nothing.
std::optional<std::string> url_problem(const std::string& url);

} // namespace shelfsync::detail
