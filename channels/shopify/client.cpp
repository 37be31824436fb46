#include "channels/shopify/client.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "channels/shopify/backoff.hpp"

namespace shelfsync::shopify {

namespace {

http::url parse_or_throw(const client_config& cfg) {
  auto err = client::check(cfg);
  if (!err.empty()) throw std::invalid_argument(err);
  return *http::parse_url(cfg.shop_url);
}

/// Top-level GraphQL error codes that a retry may cure.
bool transient_code(const std::string& code) {
  return code == "INTERNAL_SERVER_ERROR" || code == "SERVICE_UNAVAILABLE" ||
         code == "TIMEOUT";
}

void fail(call_status& s, outcome kind, std::string code, std::string msg) {
  s.kind = kind;
  s.code = std::move(code);
  s.message = std::move(msg);
}

} // namespace

const char* to_string(outcome o) {
  switch (o) {
  case outcome::ok:
    return "ok";
  case outcome::throttled:
    return "throttled";
  case outcome::retryable:
    return "retryable";
  case outcome::permanent:
    return "permanent";
  }
  return "ok";
}

// -- construction ------------------------------------------------------------

client::client(client_config cfg)
    : cfg_(std::move(cfg)), http_(parse_or_throw(cfg_), cfg_.http) {}

std::string client::check(const client_config& cfg) {
  std::string err;
  if (!http::parse_url(cfg.shop_url, &err))
    return "shop_url \"" + cfg.shop_url + "\" is not usable: " + err;
  if (cfg.access_token.empty())
    return "the access token for " + cfg.shop_url + " is empty";
  if (cfg.reads.levels_first < 1 || cfg.reads.levels_first > 250)
    return "levels_first must be between 1 and 250";
  if (cfg.reads.matches_first < 2 || cfg.reads.matches_first > 250)
    return "matches_first must be between 2 and 250 (2 detects duplicates)";
  return {};
}

std::string client::endpoint() const {
  return http_.base().to_string() + "/admin/api/" + cfg_.version.to_string() +
         "/graphql.json";
}

// -- pacing ------------------------------------------------------------------

double client::lookup_cost_estimate(size_t skus) const {
  return costs_.estimate(request_kind::lookup, lookup_cost(skus, cfg_.reads));
}

double client::read_cost_estimate(size_t items) const {
  return costs_.estimate(request_kind::read_levels,
                         read_levels_cost(items, cfg_.reads));
}

double client::push_cost_estimate(const push_request& p) const {
  return costs_.estimate(request_kind::push, push_cost(p));
}

size_t client::max_lookup_batch() const {
  size_t n = 1;
  while (n < 250 && lookup_cost_estimate(n + 1) <= bucket_.max_request_cost())
    ++n;
  return n;
}

size_t client::max_read_batch() const {
  size_t n = 1;
  while (n < 250 && read_cost_estimate(n + 1) <= bucket_.max_request_cost())
    ++n;
  return n;
}

// -- one request -------------------------------------------------------------

std::optional<graphql_answer> client::call(const graphql_request& req,
                                           request_kind kind, double formula,
                                           bool mutation, call_status& s) {
  using clock = bucket_model::clock;
  auto estimate = costs_.estimate(kind, formula);
  auto wait = bucket_.wait_for(estimate, clock::now());
  if (wait > clock::duration::zero()) {
    if (wait > cfg_.max_pacing_wait) {
      fail(s, outcome::throttled, "THROTTLED",
           "waiting for " + std::to_string(static_cast<int64_t>(estimate)) +
               " query cost points at " + endpoint());
      s.retry_after =
          std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
          std::chrono::milliseconds{1};
      return std::nullopt;
    }
    std::this_thread::sleep_for(wait);
  }
  bucket_.spend(estimate, clock::now());

  auto http_req = http::make_json_request(
      http::verb::post,
      "/admin/api/" + cfg_.version.to_string() + "/graphql.json", req.body());
  http_req.set("X-Shopify-Access-Token", cfg_.access_token);
  if (!cfg_.user_agent.empty())
    http_req.set(boost::beast::http::field::user_agent, cfg_.user_agent);
  http_req.set(boost::beast::http::field::accept, "application/json");
  ++s.requests;
  auto res = http_.send(std::move(http_req));
  s.errors.clear();
  s.cost.reset();
  s.http_status = 0;
  s.retry_after.reset();
  if (!res.ok()) {
    auto& e = res.error();
    s.may_have_applied = mutation && e.sent;
    auto kind_name = std::string{http::to_string(e.kind)};
    bool permanent = e.kind == http::error_kind::tls_error;
    fail(s, permanent ? outcome::permanent : outcome::retryable, kind_name,
         std::string{e.message} + (s.may_have_applied
                                       ? " (the request may have been applied)"
                                       : ""));
    return std::nullopt;
  }
  auto& r = res.value();
  s.http_status = static_cast<int>(r.result_int());
  std::string why;
  auto answer = parse_answer(r.body(), &why);
  if (answer) {
    s.errors = answer->errors;
    s.cost = answer->cost;
    if (answer->cost) {
      bucket_.observe(answer->cost->throttle, clock::now());
      costs_.learn(kind, formula, answer->cost->requested);
    }
  }
  auto retry_after_header = [&]() -> std::optional<std::chrono::milliseconds> {
    auto h = r.find(boost::beast::http::field::retry_after);
    if (h == r.end()) return std::nullopt;
    return parse_retry_after(
        std::string_view{h->value().data(), h->value().size()});
  };
  auto status_text =
      "HTTP " + std::to_string(s.http_status) + " from " + endpoint();
  switch (s.http_status) {
  case 200:
    break;
  case 429:
    fail(s, outcome::throttled, "THROTTLED", status_text);
    s.retry_after = retry_after_header().value_or(std::chrono::seconds{1});
    return std::nullopt;
  case 401:
    fail(s, outcome::permanent, "HTTP_401",
         status_text + ": the access token was refused");
    return std::nullopt;
  case 403:
    fail(s, outcome::permanent, "HTTP_403",
         status_text + ": the token lacks a scope (read_inventory, "
                       "write_inventory)");
    return std::nullopt;
  case 404:
    fail(s, outcome::permanent, "HTTP_404",
         status_text + ": no such shop or API version");
    return std::nullopt;
  default:
    if (s.http_status >= 500) {
      s.may_have_applied = mutation;
      s.retry_after = retry_after_header();
      fail(s, outcome::retryable, "HTTP_" + std::to_string(s.http_status),
           status_text +
               (mutation ? " (the request may have been applied)" : ""));
    } else {
      fail(s, outcome::permanent, "HTTP_" + std::to_string(s.http_status),
           status_text + (answer && !answer->errors.empty()
                              ? ": " + answer->errors.front().message
                              : std::string{}));
    }
    return std::nullopt;
  }
  if (!answer) {
    s.may_have_applied = mutation;
    fail(s, outcome::retryable, "BAD_ANSWER", status_text + ": " + why);
    return std::nullopt;
  }
  if (answer->throttled()) {
    auto need = answer->cost ? answer->cost->requested : estimate;
    fail(s, outcome::throttled, "THROTTLED",
         "Shopify throttled a request of " +
             std::to_string(static_cast<int64_t>(need)) + " points");
    s.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(
        bucket_.wait_for(need, clock::now()));
    if (*s.retry_after < std::chrono::milliseconds{100})
      s.retry_after = std::chrono::milliseconds{100};
    return std::nullopt;
  }
  if (!answer->errors.empty()) {
    auto& first = answer->errors.front();
    bool transient = transient_code(first.code);
    s.may_have_applied = transient && mutation;
    fail(s, transient ? outcome::retryable : outcome::permanent,
         first.code.empty() ? "GRAPHQL_ERROR" : first.code,
         "Shopify refused the " + req.operation_name +
             " request: " + first.message);
    return std::nullopt;
  }
  s.kind = outcome::ok;
  s.code.clear();
  s.message.clear();
  s.may_have_applied = false;
  return answer;
}

// -- operations --------------------------------------------------------------

read_result client::read_levels(const std::vector<std::string>& item_ids) {
  read_result out;
  auto batch = max_read_batch();
  for (size_t from = 0; from < item_ids.size(); from += batch) {
    std::vector<std::string> ids(
        item_ids.begin() + static_cast<std::ptrdiff_t>(from),
        item_ids.begin() + static_cast<std::ptrdiff_t>(
                               std::min(item_ids.size(), from + batch)));
    auto answer =
        call(read_levels_request(ids, cfg_.reads), request_kind::read_levels,
             read_levels_cost(ids.size(), cfg_.reads), false, out.status);
    if (!answer) {
      out.items.clear();
      return out;
    }
    for (auto& r : parse_read_levels(*answer, ids))
      out.items.push_back(std::move(r));
  }
  // Items stocked at more locations than one page holds: read the rest.
  for (auto& r : out.items) {
    while (r.item && !r.item->levels_complete) {
      auto answer =
          call(levels_page_request(r.id, r.item->levels_cursor),
               request_kind::levels_page, 2 + 2.0 * 250 + 1, false, out.status);
      if (!answer) {
        out.items.clear();
        return out;
      }
      if (!parse_levels_page(*answer, *r.item)) r.item.reset();
    }
  }
  return out;
}

lookup_result client::lookup_skus(const std::vector<std::string>& skus) {
  lookup_result out;
  auto batch = max_lookup_batch();
  for (size_t from = 0; from < skus.size(); from += batch) {
    std::vector<std::string> part(
        skus.begin() + static_cast<std::ptrdiff_t>(from),
        skus.begin() +
            static_cast<std::ptrdiff_t>(std::min(skus.size(), from + batch)));
    auto answer = call(lookup_request(part, cfg_.reads), request_kind::lookup,
                       lookup_cost(part.size(), cfg_.reads), false, out.status);
    if (!answer) {
      out.matches.clear();
      return out;
    }
    for (auto& m : parse_lookup(*answer, part))
      out.matches.push_back(std::move(m));
  }
  // Shopify's search is loose: when more candidates exist than were read,
  // page through them (ids and SKUs only) to count the exact matches.
  std::vector<std::string> to_read;
  for (auto& m : out.matches) {
    if (m.status != sku_status::incomplete) continue;
    auto exact = m.exact_ids;
    std::string cursor = m.cursor;
    do {
      auto answer = call(sku_candidates_request(m.sku, cursor),
                         request_kind::sku_candidates, 52, false, out.status);
      if (!answer) {
        out.matches.clear();
        return out;
      }
      for (auto& id : parse_sku_candidates(*answer, m.sku, cursor))
        if (std::find(exact.begin(), exact.end(), id) == exact.end())
          exact.push_back(id);
    } while (!cursor.empty() && exact.size() < 2);
    m.exact_ids = exact;
    if (exact.size() >= 2) {
      m.status = sku_status::ambiguous;
      m.error = "several inventory items have SKU " + m.sku;
    } else if (exact.empty()) {
      m.status = sku_status::not_found;
    } else {
      m.status = sku_status::found;
      m.item.id = exact.front();
      to_read.push_back(exact.front());
    }
  }
  for (auto& m : out.matches)
    if (m.status == sku_status::found && !m.item.levels_complete)
      to_read.push_back(m.item.id);
  if (to_read.empty()) return out;
  auto reads = read_levels(to_read);
  out.status.requests += reads.status.requests;
  if (!reads.status.ok()) {
    auto requests = out.status.requests;
    out.status = reads.status;
    out.status.requests = requests;
    out.matches.clear();
    return out;
  }
  for (auto& m : out.matches) {
    if (m.status != sku_status::found) continue;
    for (auto& r : reads.items)
      if (r.id == m.item.id) {
        if (r.item)
          m.item = *r.item;
        else
          m.status = sku_status::not_found;
      }
  }
  return out;
}

push_result client::push(const push_request& p) {
  push_result out;
  auto invalid = check_push(p, cfg_.version);
  if (!invalid.empty()) {
    fail(out.status, outcome::permanent, "INVALID_PUSH", invalid);
    return out;
  }
  auto answer = call(push_request_document(p, cfg_.version), request_kind::push,
                     push_cost(p), true, out.status);
  if (!answer) return out;
  out.outcome = parse_push(*answer, p);
  for (auto& e : out.outcome.errors) {
    if (e.code == "IDEMPOTENCY_CONCURRENT_REQUEST") {
      fail(out.status, outcome::retryable, e.code,
           "Shopify is still applying an earlier attempt of this push; "
           "retry it unchanged");
      out.status.may_have_applied = true;
    } else if (e.code == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED") {
      fail(out.status, outcome::retryable, e.code,
           "Shopify says the earlier attempt under this key failed; retry "
           "with a new idempotency key");
      out.status.needs_new_key = true;
    } else if (e.code == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH") {
      fail(out.status, outcome::permanent, e.code,
           "the idempotency key " + p.idempotency_key +
               " was used before for other quantities; a changed push needs "
               "a new key");
    }
  }
  return out;
}

} // namespace shelfsync::shopify
