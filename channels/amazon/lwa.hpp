#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "channels/amazon/call_result.hpp"
#include "net/client.hpp"
#include "net/url.hpp"

namespace shelfsync::amazon {

/// The seller's Login-with-Amazon credentials. Read from the environment by
/// the caller; this code never logs them or puts them in an error.
struct lwa_credentials {
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
};

/// How the LWA client behaves.
struct lwa_options {
  /// A cached token is renewed once it expires within this margin.
  std::chrono::seconds renew_before{60};
  /// Timeouts of the token request.
  http::client_options http;
  /// Returns the current time; replaceable for tests.
  std::function<std::chrono::steady_clock::time_point()> now;
};

/// Obtains SP-API access tokens with the refresh-token grant and caches them
/// until a minute before they expire. Not thread-safe: one per seller, used
/// from the thread that makes that seller's calls.
class lwa_client {
 public:
  /// `token_url` is the full LWA endpoint, e.g.
  /// https://api.amazon.com/auth/o2/token.
  lwa_client(http::url token_url, lwa_credentials credentials,
             lwa_options opts = {});

  /// A valid access token: the cached one while it is not about to expire,
  /// else a fresh one. LWA's refusal (invalid_grant, invalid_client, ...)
  /// comes back as permanent with LWA's code and description.
  call_result<std::string> access_token();

  /// Forgets the cached token, e.g. after SP-API answered 403 Unauthorized.
  void invalidate();

  /// When the cached token expires, if one is cached.
  std::optional<std::chrono::steady_clock::time_point> expires_at() const;

  /// Number of tokens obtained from LWA so far.
  uint64_t tokens_obtained() const { return obtained_; }

 private:
  std::chrono::steady_clock::time_point now() const;

  std::string target_;
  http::client http_;
  lwa_credentials credentials_;
  lwa_options opts_;
  std::string token_;
  std::chrono::steady_clock::time_point expires_{};
  uint64_t obtained_ = 0;
};

/// Percent-encodes `text` for an application/x-www-form-urlencoded body.
std::string form_encode(std::string_view text);

} // namespace shelfsync::amazon
