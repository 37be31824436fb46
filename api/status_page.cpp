#include "api/status_page.hpp"

#include <string>

#include "api/ui_files.hpp"

namespace shelfsync {

std::optional<http::response> status_page_file(std::string_view path,
                                               bool keep_alive) {
  std::string_view body;
  std::string_view type;
  if (path == "/" || path == "/index.html") {
    body = embedded::index_html;
    type = "text/html; charset=utf-8";
  } else if (path == "/app.js") {
    body = embedded::app_js;
    type = "text/javascript; charset=utf-8";
  } else if (path == "/style.css") {
    body = embedded::style_css;
    type = "text/css; charset=utf-8";
  } else {
    return std::nullopt;
  }
  auto res = http::make_response(http::status::ok, std::string{body}, type,
                                 keep_alive);
  // Beast has no enumerators for these three: set by name.
  res.set("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
          "base-uri 'none'; form-action 'none'");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Content-Type-Options", "nosniff");
  res.set(boost::beast::http::field::cache_control, "no-cache");
  return res;
}

} // namespace shelfsync
