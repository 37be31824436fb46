#pragma once

#include <optional>
#include <string_view>

#include "net/message.hpp"

namespace shelfsync {

/// The status page's file at `path` ("/", "/app.js", "/style.css"), built
/// into the binary, or nothing for any other path. The files hold no data
/// and need no token: the page asks for it and sends it with each API call.
/// A Content-Security-Policy allows this origin only (no CDN, no inline
/// script), and no referrer ever leaves the page.
std::optional<http::response> status_page_file(std::string_view path,
                                               bool keep_alive);

} // namespace shelfsync
