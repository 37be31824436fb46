#include "net/url.hpp"

#include <algorithm>
#include <cctype>

namespace shelfsync::http {

namespace {

std::optional<url> fail(std::string* error, std::string_view text,
                        const std::string& why) {
  if (error != nullptr)
    *error = "invalid URL \"" + std::string{text} + "\": " + why;
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return std::tolower(c);
  });
  return out;
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

bool is_path_char(char c) {
  // Unreserved and sub-delimiter characters, '/', ':', '@' and
  // percent-escapes, as RFC 3986 allows in a path.
  static constexpr std::string_view extra = "-._~!$&'()*+,;=:@/%";
  return std::isalnum(static_cast<unsigned char>(c)) ||
         extra.find(c) != std::string_view::npos;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t value = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

} // namespace

std::string url::host_header() const {
  uint16_t default_port = tls() ? 443 : 80;
  if (port == default_port) return host;
  return host + ":" + std::to_string(port);
}

std::string url::to_string() const {
  return scheme + "://" + host_header() + path;
}

std::optional<url> parse_url(std::string_view text, std::string* error) {
  url result;
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return fail(error, text, "expected http:// or https:// at the start");
  result.scheme = lower(text.substr(0, sep));
  if (result.scheme != "http" && result.scheme != "https")
    return fail(error, text,
                "scheme \"" + result.scheme +
                    "\" is not supported; use http or https");
  auto rest = text.substr(sep + 3);
  auto path_start = rest.find('/');
  auto authority = rest.substr(0, path_start);
  auto path = path_start == std::string_view::npos ? std::string_view{}
                                                   : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos)
    return fail(error, text, "user info (user@host) is not supported");
  if (!authority.empty() && authority.front() == '[')
    return fail(error, text, "IPv6 addresses are not supported");
  auto colon = authority.find(':');
  auto host = authority.substr(0, colon);
  if (host.empty()) return fail(error, text, "the host is missing");
  if (!std::all_of(host.begin(), host.end(), is_host_char))
    return fail(error, text,
                "the host \"" + std::string{host} +
                    "\" may contain only letters, digits, '-' and '.'");
  result.host = lower(host);
  if (colon == std::string_view::npos) {
    result.port = result.tls() ? 443 : 80;
  } else {
    auto port = parse_port(authority.substr(colon + 1));
    if (!port)
      return fail(error, text,
                  "the port \"" + std::string{authority.substr(colon + 1)} +
                      "\" is not a number between 1 and 65535");
    result.port = *port;
  }
  if (path.find_first_of("?#") != std::string_view::npos)
    return fail(error, text,
                "a base URL may not contain a query (?) or fragment (#)");
  if (!std::all_of(path.begin(), path.end(), is_path_char))
    return fail(error, text,
                "the path contains a character that must be "
                "percent-encoded");
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  result.path = std::string{path};
  return result;
}

} // namespace shelfsync::http
