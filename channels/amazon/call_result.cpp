#include "channels/amazon/call_result.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

namespace shelfsync::amazon {

std::string_view to_string(call_status status) {
  switch (status) {
  case call_status::ok:
    return "ok";
  case call_status::throttled:
    return "throttled";
  case call_status::retryable:
    return "retryable";
  case call_status::permanent:
    return "permanent";
  }
  return "retryable";
}

std::string to_string(const call_error& error) {
  std::string out{to_string(error.status)};
  out += " (";
  if (error.http_status != 0) out += std::to_string(error.http_status) + " ";
  out += error.code;
  if (!error.message.empty()) out += ": " + error.message;
  if (!error.request_id.empty()) out += "; request id " + error.request_id;
  out += ")";
  return out;
}

namespace {

std::string header(const http::response& res, std::string_view name) {
  auto it = res.find(boost::beast::string_view{name.data(), name.size()});
  if (it == res.end()) return {};
  return std::string{it->value()};
}

} // namespace

std::optional<double> rate_limit_header(const http::response& res) {
  auto text = header(res, "x-amzn-RateLimit-Limit");
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double rate = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || rate <= 0) return std::nullopt;
  return rate;
}

call_error classify_sp_api_error(const http::response& res) {
  call_error out;
  out.http_status = static_cast<int>(res.result_int());
  out.request_id = header(res, "x-amzn-RequestId");
  out.rate_limit = rate_limit_header(res);
  if (auto ra = header(res, "Retry-After"); !ra.empty()) {
    char* end = nullptr;
    double secs = std::strtod(ra.c_str(), &end);
    if (end != ra.c_str() && secs >= 0)
      out.retry_after =
          std::chrono::milliseconds{static_cast<int64_t>(secs * 1000)};
  }
  auto code = out.http_status;
  if (code == 429)
    out.status = call_status::throttled;
  else if (code >= 500 || code == 408)
    out.status = call_status::retryable;
  else
    out.status = call_status::permanent;
  auto doc = nlohmann::json::parse(res.body(), nullptr, false);
  if (doc.is_object()) {
    auto errors = doc.find("errors");
    if (errors != doc.end() && errors->is_array() && !errors->empty() &&
        (*errors)[0].is_object()) {
      auto& first = (*errors)[0];
      out.code = first.value("code", "");
      out.message = first.value("message", "");
      out.details = first.value("details", "");
    }
  }
  if (out.code.empty()) out.code = "HTTP" + std::to_string(code);
  if (out.message.empty()) out.message = std::string{res.reason()};
  return out;
}

call_error classify_transport_error(const http::client_error& err) {
  call_error out;
  out.status = call_status::retryable;
  out.code = std::string{http::to_string(err.kind)};
  out.message = err.message;
  out.sent = err.sent;
  return out;
}

} // namespace shelfsync::amazon
