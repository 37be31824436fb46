// The simulated Login with Amazon token endpoint and the access-token check
// every SP-API request goes through.
#include "simulators/amazon/state.hpp"

namespace shelfsync::amazon {

namespace {

/// LWA's error shape: {"error": "...", "error_description": "..."}.
http::response lwa_error(http::status status, std::string_view code,
                         std::string_view description) {
  nlohmann::json body = {{"error", code}, {"error_description", description}};
  return http::make_json_response(status, body.dump());
}

} // namespace

http::response simulator::state::lwa_token(const http::request& req) {
  if (req.method() != http::verb::post)
    return lwa_error(http::status::method_not_allowed, "invalid_request",
                     "The token endpoint accepts POST only.");
  // LWA takes the fields form-encoded, and also as JSON (Amazon's SDKs do).
  std::map<std::string, std::string> fields;
  auto body = nlohmann::json::parse(req.body(), nullptr, false);
  if (body.is_object()) {
    for (auto& [key, value] : body.items())
      if (value.is_string()) fields[key] = value.get<std::string>();
  } else {
    fields = sim::parse_form(req.body());
  }
  for (const char* required :
       {"grant_type", "refresh_token", "client_id", "client_secret"}) {
    if (std::string{required} == "refresh_token" &&
        fields["grant_type"] != "refresh_token")
      continue;
    if (fields[required].empty())
      return lwa_error(http::status::bad_request, "invalid_request",
                       std::string{"The request is missing a required "
                                   "parameter : "} +
                           required);
  }
  if (fields["grant_type"] != "refresh_token")
    return lwa_error(http::status::bad_request, "unsupported_grant_type",
                     "The simulator supports grant_type=refresh_token only.");
  sim::seller_state* match = nullptr;
  for (auto& [id, s] : sellers)
    if (s.account.client_id == fields["client_id"]) match = &s;
  if (!match || match->account.client_secret != fields["client_secret"])
    return lwa_error(http::status::unauthorized, "invalid_client",
                     "Client authentication failed");
  // A client id may serve several sellers; the refresh token picks one.
  match = nullptr;
  for (auto& [id, s] : sellers)
    if (s.account.client_id == fields["client_id"] &&
        s.account.refresh_token == fields["refresh_token"])
      match = &s;
  if (!match)
    return lwa_error(http::status::bad_request, "invalid_grant",
                     "The request has an invalid grant parameter : "
                     "refresh_token");
  // Real access tokens start with "Atza|" and are at least 350 characters.
  auto token = "Atza|" + random_text(380);
  tokens[token] = {match->account.seller_id, now() + cfg.access_token_ttl};
  ++tokens_issued;
  nlohmann::json answer = {{"access_token", token},
                           {"refresh_token", match->account.refresh_token},
                           {"token_type", "bearer"},
                           {"expires_in", cfg.access_token_ttl.count()}};
  return http::make_json_response(http::status::ok, answer.dump());
}

sim::seller_state* simulator::state::authenticate(const http::request& req) {
  auto it = req.find("x-amz-access-token");
  if (it == req.end()) return nullptr;
  auto token = tokens.find(std::string{it->value()});
  if (token == tokens.end()) return nullptr;
  if (now() >= token->second.expires) {
    tokens.erase(token);
    return nullptr;
  }
  auto seller = sellers.find(token->second.seller);
  return seller == sellers.end() ? nullptr : &seller->second;
}

} // namespace shelfsync::amazon
