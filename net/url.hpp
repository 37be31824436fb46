#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shelfsync::http {

/// A parsed base URL of a channel endpoint: where to connect and which path
/// prefix every request target is placed under.
struct url {
  /// Either "http" or "https", lower case.
  std::string scheme;
  /// Host name or IPv4 address, lower case, without brackets or port.
  std::string host;
  /// TCP port; 80 or 443 when the URL names none.
  uint16_t port = 0;
  /// Path prefix without a trailing slash; empty for the root.
  std::string path;

  /// True when the scheme is https.
  bool tls() const { return scheme == "https"; }

  /// The value of a Host header for this URL: the host, plus ":port" when the
  /// port is not the scheme's default.
  std::string host_header() const;

  /// The URL in canonical form, e.g. "http://127.0.0.1:9100/eu-store".
  std::string to_string() const;
};

/// Parses an absolute http:// or https:// URL. Accepts a host name or IPv4
/// address, an optional port and an optional path prefix; rejects user info,
/// queries, fragments and IPv6 literals. On failure returns nullopt and, when
/// `error` is given, stores a sentence saying what is wrong.
std::optional<url> parse_url(std::string_view text,
                             std::string* error = nullptr);

} // namespace shelfsync::http
