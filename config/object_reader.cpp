#include "config/object_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

namespace shelfsync::detail {

namespace {

bool is_identifier(const std::string& key) {
  if (key.empty() || std::isdigit(static_cast<unsigned char>(key[0])))
    return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// Levenshtein distance, to suggest the key a typo probably meant.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* type_phrase(const json& value) {
  switch (value.type()) {
  case json::value_t::object:
    return "an object";
  case json::value_t::array:
    return "an array";
  case json::value_t::string:
    return "a string";
  case json::value_t::boolean:
    return "a boolean";
  case json::value_t::null:
    return "null";
  case json::value_t::number_float:
    return "a fractional number";
  default:
    return "an integer";
  }
}

} // namespace

// -- paths and values in messages --------------------------------------------

std::string member_path(const std::string& parent, const std::string& key) {
  if (is_identifier(key)) return parent + "." + key;
  return parent + "[" + json_string(key) + "]";
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string json_string(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string describe(const json& value) {
  if (value.is_object() || value.is_array()) return type_phrase(value);
  constexpr size_t limit = 80;
  auto text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

// -- reading one object ------------------------------------------------------

object_reader::object_reader(const json& value, std::string path,
                             std::vector<config_problem>& problems)
    : path_(std::move(path)), problems_(problems) {
  if (value.is_object())
    object_ = &value;
  else
    report(path_, "must be an object, got " + describe(value));
}

std::string object_reader::path_of(const std::string& key) const {
  return member_path(path_, key);
}

void object_reader::report(const std::string& path, std::string message) {
  problems_.push_back(config_problem{path, std::move(message)});
}

const json* object_reader::member(const std::string& key, presence p,
                                  const char* expected) {
  known_.push_back(key);
  if (object_ == nullptr) return nullptr;
  auto i = object_->find(key);
  if (i != object_->end()) return &*i;
  if (p == presence::required)
    report(path_of(key), std::string{"is missing; expected "} + expected);
  return nullptr;
}

std::optional<std::string> object_reader::string(const std::string& key,
                                                 presence p,
                                                 const char* expected) {
  auto* value = member(key, p, expected);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    report(path_of(key), "must be a string, got " + describe(*value));
    return std::nullopt;
  }
  return value->get<std::string>();
}

std::optional<std::string> object_reader::text(const std::string& key,
                                               presence p) {
  auto* value = member(key, p, "a non-empty string");
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    report(path_of(key), "must be a non-empty string, got " + describe(*value));
    return std::nullopt;
  }
  auto result = value->get<std::string>();
  if (result.empty()) {
    report(path_of(key), "must not be empty");
    return std::nullopt;
  }
  if (has_control_character(result)) {
    report(path_of(key),
           "must not contain control characters, got " + describe(*value));
    return std::nullopt;
  }
  return result;
}

std::optional<bool> object_reader::boolean(const std::string& key, presence p) {
  auto* value = member(key, p, "true or false");
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    report(path_of(key), "must be true or false, got " + describe(*value));
    return std::nullopt;
  }
  return value->get<bool>();
}

std::optional<int64_t> object_reader::integer(const std::string& key,
                                              presence p, int64_t min,
                                              int64_t max) {
  constexpr auto top = std::numeric_limits<int64_t>::max();
  std::string expected = "an integer";
  if (max == top)
    expected += min == 0 ? " >= 0" : " >= " + std::to_string(min);
  else
    expected += " from " + std::to_string(min) + " to " + std::to_string(max);
  auto* value = member(key, p, expected.c_str());
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) {
    report(path_of(key), "must be " + expected + ", got " + describe(*value));
    return std::nullopt;
  }
  if (value->is_number_unsigned() && value->get<uint64_t>() > uint64_t(top)) {
    report(path_of(key), "must be " + expected + ", got " + describe(*value));
    return std::nullopt;
  }
  auto result = value->get<int64_t>();
  if (result < min || result > max) {
    report(path_of(key), "must be " + expected + ", got " + describe(*value));
    return std::nullopt;
  }
  return result;
}

std::optional<std::string> object_reader::env_name(const std::string& key,
                                                   presence p) {
  // The value is never quoted: a secret pasted here by mistake must not
  // show in check-config's output, a refused reload's answer or the log.
  auto* value = member(key, p, "the name of an environment variable");
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    report(
        path_of(key),
        std::string{"must be a string naming an environment variable, got "} +
            type_phrase(*value));
    return std::nullopt;
  }
  auto name = value->get<std::string>();
  if (auto kind = secret_kind(name)) {
    report(path_of(key),
           std::string{"holds what looks like "} + kind +
               ", not the name of an environment variable; put the secret "
               "in the environment and name the variable here (the value "
               "is not shown)");
    return std::nullopt;
  }
  if (!is_env_name(name)) {
    report(path_of(key),
           "must be the name of an environment variable "
           "([A-Za-z_][A-Za-z0-9_]*, at most 128 characters); the value is "
           "not shown, as it may be a secret pasted by mistake");
    return std::nullopt;
  }
  return name;
}

std::optional<std::string> object_reader::url(const std::string& key,
                                              presence p) {
  auto text = string(key, p, "an http:// or https:// URL");
  if (!text) return std::nullopt;
  if (auto problem = url_problem(*text)) {
    report(path_of(key), std::move(*problem));
    return std::nullopt;
  }
  return text;
}

const json* object_reader::array(const std::string& key, presence p) {
  auto* value = member(key, p, "an array");
  if (value == nullptr) return nullptr;
  if (!value->is_array()) {
    report(path_of(key), "must be an array, got " + describe(*value));
    return nullptr;
  }
  return value;
}

void object_reader::finish() {
  if (object_ == nullptr) return;
  for (auto& [key, value] : object_->items()) {
    if (key.compare(0, 2, "x-") == 0 ||
        std::find(known_.begin(), known_.end(), key) != known_.end())
      continue;
    std::string message = "unknown key";
    const std::string* best = nullptr;
    size_t best_distance = 3;
    for (auto& candidate : known_) {
      auto d = edit_distance(key, candidate);
      if (d < best_distance) {
        best = &candidate;
        best_distance = d;
      }
    }
    if (best != nullptr)
      message += "; did you mean " + json_string(*best) + "?";
    message += " Expected one of: ";
    for (size_t i = 0; i < known_.size(); ++i)
      message += (i == 0 ? "" : ", ") + known_[i];
    message += " (or an extension key starting with \"x-\")";
    report(path_of(key), std::move(message));
  }
}

// -- value shapes ------------------------------------------------------------

bool has_control_character(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f) return true;
    // C1 (U+0080 to U+009F) is C2 80 to C2 9F in UTF-8, which the JSON
    // parser has checked the text to be.
    if (u == 0xC2 && i + 1 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9F)
      return true;
  }
  return false;
}

bool is_env_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && is_identifier(name);
}

const char* secret_kind(const std::string& text) {
  static const std::pair<const char*, const char*> prefixes[] = {
      {"shpat_", "a Shopify access token"},
      {"shpca_", "a Shopify access token"},
      {"shppa_", "a Shopify access token"},
      {"shpss_", "a Shopify shared secret"},
      {"Atzr|", "an Amazon LWA refresh token"},
      {"Atza|", "an Amazon LWA access token"},
      {"amzn1.", "an Amazon LWA client id"},
  };
  for (auto& [prefix, kind] : prefixes)
    if (text.compare(0, std::strlen(prefix), prefix) == 0) return kind;
  return nullptr;
}

std::optional<std::string> url_problem(const std::string& url) {
  std::string rest;
  for (const char* scheme : {"http://", "https://"}) {
    std::string prefix = scheme;
    if (url.compare(0, prefix.size(), prefix) == 0)
      rest = url.substr(prefix.size());
  }
  if (rest.empty() && url != "http://" && url != "https://")
    return "must start with http:// or https://, got " + json_string(url);
  if (std::any_of(url.begin(), url.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      }))
    return "must not contain spaces or control characters, got " +
           json_string(url);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos)
    // The value is not echoed: it may hold a password.
    return "must not contain a user name or password; credentials are read "
           "from the environment variables named by the *_env fields";
  if (rest.find_first_of("?#") != std::string::npos)
    return "must not contain a query (?) or fragment (#), got " +
           json_string(url);
  auto host = authority;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos)
      return "has an unclosed [ in its host, got " + json_string(url);
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':')
        return "has text after its host, got " + json_string(url);
      port = after.substr(1);
      if (port.empty()) return "has an empty port, got " + json_string(url);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return "has an empty port, got " + json_string(url);
  }
  if (host.empty())
    return "must name a host after the scheme (http://HOST[:PORT][/PATH]), "
           "got " +
           json_string(url);
  if (!port.empty()) {
    bool digits =
        port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        });
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return "must have a port from 1 to 65535, got " + json_string(url);
  }
  return std::nullopt;
}

} // namespace shelfsync::detail
