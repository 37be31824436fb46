#include "config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "config/json_syntax.hpp"
#include "config/object_reader.hpp"
#include "config/validate.hpp"

namespace shelfsync {

namespace {

using detail::json;

/// Follows the parser through the document to report keys that appear twice
/// in one object: JSON parsers keep only one of them, so the other would be
/// ignored without a word.
class duplicate_key_finder {
 public:
  explicit duplicate_key_finder(std::vector<config_problem>& problems)
      : problems_(problems) {}

  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      frames_.push_back(frame{
          event == json::parse_event_t::array_start, child_path(), {}, {}, 0});
      break;
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      frames_.pop_back();
      break;
    case json::parse_event_t::key: {
      auto& top = frames_.back();
      top.key = parsed.get<std::string>();
      if (!top.keys.insert(top.key).second)
        problems_.push_back(
            {detail::member_path(top.path, top.key),
             "duplicate key; it appears more than once in this object and "
             "only one of them would be used"});
      break;
    }
    case json::parse_event_t::value:
      child_path();
      break;
    }
    return true;
  }

 private:
  struct frame {
    bool is_array;
    std::string path;
    std::set<std::string> keys;
    std::string key;
    size_t next_index = 0;
  };

  /// The path of the value that starts now; advances an array's index.
  std::string child_path() {
    if (frames_.empty()) return "$";
    auto& top = frames_.back();
    if (top.is_array) return detail::index_path(top.path, top.next_index++);
    return detail::member_path(top.path, top.key);
  }

  std::vector<config_problem>& problems_;
  std::vector<frame> frames_;
};

/// Describes why `text` is not well-formed JSON, with the byte offset and
/// line.
config_problem malformed(const std::string& text) {
  auto error = locate_syntax_error(text, true);
  auto offset = std::min<size_t>(error.offset, text.size());
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {"$", "malformed JSON at byte offset " + std::to_string(offset) +
                   " (line " + std::to_string(line) + ", column " +
                   std::to_string(column) + "): " + error.detail};
}

} // namespace

// -- config ------------------------------------------------------------------

const shop_config* config::find_shop(const std::string& id) const {
  auto i = std::find_if(shops.begin(), shops.end(), [&](const shop_config& s) {
    return s.id == id;
  });
  return i == shops.end() ? nullptr : &*i;
}

bool config::has_warehouse(const std::string& id) const {
  return std::any_of(warehouses.begin(), warehouses.end(),
                     [&](const warehouse_config& w) {
                       return w.id == id;
                     });
}

// -- loading -----------------------------------------------------------------

config_result parse_config(const std::string& json_text,
                           const std::string& origin) {
  config_result result;
  json doc;
  try {
    // Comments (// and /* */) are allowed: a config file explains itself.
    doc = json::parse(json_text, duplicate_key_finder{result.problems}, true,
                      true);
  } catch (const json::exception&) {
    // parse_error, or out_of_range for a number too large for a double.
    result.problems = {malformed(json_text)};
    return result;
  }
  auto parsed = std::make_shared<config>();
  parsed->path = origin;
  detail::read_document(doc, *parsed, result.problems);
  if (!result.problems.empty()) return result;
  doc.erase("node");
  parsed->shared_json = doc.dump();
  result.value = std::move(parsed);
  return result;
}

config_result load_config(const std::string& path) {
  auto fail = [&](int error) {
    config_result result;
    result.problems.push_back({"$", "cannot read config file " +
                                        detail::json_string(path) + ": " +
                                        std::strerror(error)});
    return result;
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return fail(errno);
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    text.append(buffer, n);
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) return fail(error);
  return parse_config(text, path);
}

std::string to_string(const config_problem& problem) {
  return problem.path + ": " + problem.message;
}

std::optional<std::string> read_secret(const std::string& env_name) {
  const char* value = std::getenv(env_name.c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string{value};
}

std::string read_secrets(
    std::initializer_list<std::pair<std::string, std::string*>> wanted) {
  std::string missing;
  for (auto& [env, out] : wanted) {
    if (auto value = read_secret(env))
      *out = std::move(*value);
    else
      missing += (missing.empty() ? "" : ", ") + env;
  }
  return missing;
}

std::vector<unset_variable> unset_variables(const config& conf) {
  std::vector<unset_variable> out;
  auto check = [&](const std::string& path, const std::string& name,
                   const std::string& shop) {
    if (read_secret(name)) return;
    out.push_back({path, name, shop,
                   shop.empty()
                       ? "serve would not start (it holds the API "
                         "bearer token)"
                       : "serve could not reach shop \"" + shop + "\""});
  };
  check("$.api.token_env", conf.api.token_env, "");
  if (auto& c = conf.node.cluster;
      c && !c->token_env.empty() && !read_secret(c->token_env))
    out.push_back({"$.node.cluster.token_env", c->token_env, "",
                   "serve could not join the cluster (it holds the NATS "
                   "token)"});
  for (size_t i = 0; i < conf.shops.size(); ++i) {
    auto& shop = conf.shops[i];
    auto at = "$.shops[" + std::to_string(i) + "].";
    if (shop.channel == channel_kind::shopify) {
      check(at + "shopify.access_token_env", shop.shopify.access_token_env,
            shop.id);
    } else {
      check(at + "amazon.client_id_env", shop.amazon.client_id_env, shop.id);
      check(at + "amazon.client_secret_env", shop.amazon.client_secret_env,
            shop.id);
      check(at + "amazon.refresh_token_env", shop.amazon.refresh_token_env,
            shop.id);
    }
  }
  return out;
}

std::string shop_problem(const std::vector<unset_variable>& unset,
                         const std::string& shop_id) {
  std::string names;
  size_t count = 0;
  for (auto& u : unset)
    if (!u.shop.empty() && u.shop == shop_id) {
      names += (count++ == 0 ? "" : ", ") + u.name + " (" + u.path + ")";
    }
  if (count == 0) return {};
  return std::string{count == 1 ? "environment variable "
                                : "environment variables "} +
         names + (count == 1 ? " is" : " are") +
         " not set: nothing is sent to this shop (its changes are kept) until "
         "it is set and shelfsync restarted";
}

} // namespace shelfsync
