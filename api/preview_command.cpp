// `shelfsync preview`: what a new config would change, on a stopped store.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "api/commands.hpp"
#include "api/error_text.hpp"
#include "api/config_preview.hpp"
#include "core/error.hpp"

namespace shelfsync::commands {

namespace {

} // namespace

int preview(const std::string& config_path, size_t top, bool as_json) {
  // The same problems, in the same words, as check-config.
  auto loaded = load_config(config_path);
  if (!loaded) {
    for (auto& p : loaded.problems)
      std::cerr << config_path << ": " << to_string(p) << '\n';
    return 1;
  }
  auto& next = *loaded.value;
  // Credentials do not change the numbers: the variables this shell lacks
  // (serve's environment may well have them) are one line, not an error.
  if (auto unset = unset_variables(next); !unset.empty()) {
    std::string names;
    for (auto& u : unset)
      names += (names.empty() ? "" : ", ") + u.name;
    std::cerr << config_path << ": warning: not set here: " << names
              << " (the preview does not need them; check-config says what "
                 "serve would do without them)\n";
  }
  // The store of the new config's data dir holds, in each product record,
  // what every shop is told under the config it last ran with: no need for
  // the old config file.
  auto db = store::open_read_only(next.node.data_dir);
  if (!db) {
    std::cerr << "shelfsync: " << error_text(db.error()) << '\n';
    if (db.error() != ec::not_found)
      std::cerr << "shelfsync: to preview against a running server, POST "
                   "the new config to /v1/config/preview\n";
    return 1;
  }
  bool tty = isatty(STDERR_FILENO) != 0;
  preview_options opts;
  opts.top = top;
  if (tty)
    opts.progress = [](uint64_t n) {
      std::fprintf(stderr, "\rpreview: %llu products read   ",
                   static_cast<unsigned long long>(n));
    };
  auto report = preview_config(**db, next, opts);
  if (tty) std::fputc('\n', stderr);
  if (!report) {
    std::cerr << "shelfsync: preview failed: " << error_text(report.error())
              << '\n';
    return 1;
  }
  if (as_json)
    std::cout << preview_json(*report).dump(2) << '\n';
  else
    std::cout << "preview of " << config_path << " on the store in "
              << next.node.data_dir << '\n'
              << preview_text(*report);
  return 0;
}

} // namespace shelfsync::commands
