#include "channels/amazon/lwa.hpp"

#include <nlohmann/json.hpp>

namespace shelfsync::amazon {

namespace {

http::url origin_of(http::url u) {
  u.path.clear();
  return u;
}

} // namespace

std::string form_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

lwa_client::lwa_client(http::url token_url, lwa_credentials credentials,
                       lwa_options opts)
    : target_(token_url.path.empty() ? "/" : token_url.path),
      http_(origin_of(std::move(token_url)), opts.http),
      credentials_(std::move(credentials)), opts_(std::move(opts)) {}

std::chrono::steady_clock::time_point lwa_client::now() const {
  return opts_.now ? opts_.now() : std::chrono::steady_clock::now();
}

void lwa_client::invalidate() { token_.clear(); }

std::optional<std::chrono::steady_clock::time_point>
lwa_client::expires_at() const {
  if (token_.empty()) return std::nullopt;
  return expires_;
}

call_result<std::string> lwa_client::access_token() {
  auto t = now();
  if (!token_.empty() && t + opts_.renew_before < expires_) return token_;
  token_.clear();
  std::string body =
      "grant_type=refresh_token&refresh_token=" +
      form_encode(credentials_.refresh_token) +
      "&client_id=" + form_encode(credentials_.client_id) +
      "&client_secret=" + form_encode(credentials_.client_secret);
  auto req =
      http::make_request(http::verb::post, target_, std::move(body),
                         "application/x-www-form-urlencoded;charset=UTF-8");
  req.set(boost::beast::http::field::accept, "application/json");
  auto result = http_.send(std::move(req));
  if (!result) {
    auto err = classify_transport_error(result.error());
    err.message = "LWA token request: " + err.message;
    return err;
  }
  auto& res = result.value();
  auto doc = nlohmann::json::parse(res.body(), nullptr, false);
  auto status = res.result_int();
  if (status != 200) {
    // LWA's own error shape: {"error": "...", "error_description": "..."}.
    call_error err;
    err.http_status = static_cast<int>(status);
    if (status == 429)
      err.status = call_status::throttled;
    else if (status >= 500)
      err.status = call_status::retryable;
    else
      err.status = call_status::permanent;
    if (doc.is_object()) {
      err.code = doc.value("error", "");
      err.message = doc.value("error_description", "");
    }
    if (err.code == "server_error" || err.code == "temporarily_unavailable")
      err.status = call_status::retryable;
    if (err.code.empty()) err.code = "HTTP" + std::to_string(status);
    err.message = "LWA refused the token request" +
                  (err.message.empty() ? "" : ": " + err.message);
    return err;
  }
  if (!doc.is_object() || !doc.contains("access_token") ||
      !doc["access_token"].is_string() ||
      !doc.value("expires_in", nlohmann::json{}).is_number_integer()) {
    call_error err;
    err.status = call_status::retryable;
    err.http_status = 200;
    err.code = "MalformedTokenResponse";
    err.message = "LWA answered 200 without access_token and expires_in";
    return err;
  }
  token_ = doc["access_token"].get<std::string>();
  expires_ = t + std::chrono::seconds{doc["expires_in"].get<int64_t>()};
  ++obtained_;
  return token_;
}

} // namespace shelfsync::amazon
