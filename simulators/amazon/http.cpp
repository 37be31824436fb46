// The simulator's wire helpers: targets, forms, SP-API response shapes and
// the delayed sender.
#include <cstdio>
#include <random>

#include "simulators/amazon/state.hpp"

namespace shelfsync::amazon::sim {

namespace beast_http = boost::beast::http;

// -- delayed_sender -----------------------------------------------------------

delayed_sender::~delayed_sender() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void delayed_sender::post(std::chrono::milliseconds delay, http::responder r,
                          std::optional<http::response> res) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.emplace(std::chrono::steady_clock::now() + delay,
                   item{std::move(r), std::move(res)});
    if (!thread_.joinable())
      thread_ = std::thread{[this] {
        run();
      }};
  }
  cv_.notify_all();
}

void delayed_sender::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto due = queue_.begin()->first;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    auto it = queue_.begin();
    auto work = std::move(it->second);
    queue_.erase(it);
    lock.unlock();
    if (work.res)
      work.r.send(std::move(*work.res));
    else
      work.r.drop();
    lock.lock();
  }
}

// -- targets and forms --------------------------------------------------------

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

namespace {

std::map<std::string, std::string> parse_pairs(std::string_view text,
                                               bool plus_is_space) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    auto amp = text.find('&');
    auto pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{}
                                         : text.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key{pair.substr(0, eq)};
    std::string value{eq == std::string_view::npos ? std::string_view{}
                                                   : pair.substr(eq + 1)};
    if (plus_is_space) {
      for (auto& c : key)
        if (c == '+') c = ' ';
      for (auto& c : value)
        if (c == '+') c = ' ';
    }
    out[percent_decode(key)] = percent_decode(value);
  }
  return out;
}

} // namespace

parsed_target parse_target(std::string_view target) {
  parsed_target out;
  auto q = target.find('?');
  out.path = std::string{target.substr(0, q)};
  if (q != std::string_view::npos)
    out.query = parse_pairs(target.substr(q + 1), false);
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  return parse_pairs(body, true);
}

// -- response shapes ----------------------------------------------------------

std::string request_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += hex[rng() % 16];
  }
  return out;
}

http::response sp_json(http::status status, const nlohmann::json& body,
                       double rate) {
  auto res = http::make_json_response(status, body.dump());
  res.set("x-amzn-RequestId", request_id());
  if (rate > 0) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", rate);
    res.set("x-amzn-RateLimit-Limit", text);
  }
  return res;
}

http::response sp_error(http::status status, std::string_view code,
                        std::string_view message, std::string_view details) {
  nlohmann::json body = {
      {"errors",
       nlohmann::json::array(
           {{{"code", code}, {"message", message}, {"details", details}}})}};
  return sp_json(status, body);
}

http::response quota_exceeded() {
  return sp_error(http::status::too_many_requests, "QuotaExceeded",
                  "You exceeded your quota for the requested resource.");
}

http::response unauthorized() {
  return sp_error(http::status::forbidden, "Unauthorized",
                  "Access to requested resource is denied.");
}

} // namespace shelfsync::amazon::sim
