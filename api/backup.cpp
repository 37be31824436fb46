// shelfsync backup: a consistent copy of the store, while serving or not.
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/commands.hpp"
#include "api/error_text.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "net/client.hpp"
#include "net/url.hpp"
#include "storage/store.hpp"

namespace shelfsync::commands {

namespace {

/// Where to reach the server that listens on `host`: a wildcard address
/// is reached on loopback.
std::string api_base(const node_config& node) {
  auto host = node.listen_host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  return "http://" + host + ":" + std::to_string(node.listen_port);
}

/// Asks the server running on the store for the copy; prints the outcome.
int backup_by_server(const config& conf, const std::string& target,
                     const std::string& why_not_here) {
  auto fail = [&](const std::string& message) {
    std::cerr << "shelfsync: " << why_not_here
              << ", and the server that should hold it " << message << '\n';
    return 1;
  };
  auto base = api_base(conf.node);
  std::string url_error;
  auto url = http::parse_url(base, &url_error);
  if (!url) return fail("cannot be reached at " + base + ": " + url_error);
  auto token = read_secret(conf.api.token_env);
  if (!token)
    return fail("cannot be asked: the environment variable " +
                conf.api.token_env +
                " (named by api.token_env) holding its API token is not set");
  http::client_options opts;
  // A copy across file systems writes every table file.
  opts.request_timeout = std::chrono::hours{2};
  http::client client{*url, opts};
  auto req = http::make_request(http::verb::post, "/v1/backup",
                                nlohmann::json{{"dir", target}}.dump(),
                                "application/json");
  req.set(boost::beast::http::field::authorization, "Bearer " + *token);
  auto answer = client.send(std::move(req));
  if (!answer)
    return fail("did not answer at " + base + ": " + answer.error().message);
  auto body = nlohmann::json::parse(answer.value().body(), nullptr, false);
  if (answer.value().result_int() != 200) {
    auto said =
        body.is_object() && body.contains("error") && body["error"].is_string()
            ? body["error"].get<std::string>()
            : answer.value().body();
    return fail("at " + base + " refused it (" +
                std::to_string(answer.value().result_int()) + "): " + said);
  }
  std::cout << "backed up " << conf.node.data_dir << " into " << target
            << " through the running server at " << base << " (log up to seq "
            << body.value("last_seq", uint64_t{0}) << ")\n";
  return 0;
}

} // namespace

int backup(const std::string& config_path, const std::string& dir) {
  auto loaded = load_config(config_path);
  if (!loaded) {
    for (auto& p : loaded.problems)
      std::cerr << config_path << ": " << to_string(p) << '\n';
    return 1;
  }
  auto& conf = *loaded.value;
  std::error_code fs_error;
  // The server may run in another directory: it gets an absolute path.
  auto target = std::filesystem::absolute(dir, fs_error).lexically_normal();
  if (fs_error) {
    std::cerr << "shelfsync: cannot resolve " << dir << ": "
              << fs_error.message() << '\n';
    return 1;
  }
  if (std::filesystem::exists(target, fs_error)) {
    std::cerr << "shelfsync: " << target.string()
              << " exists already; a backup goes into a new directory\n";
    return 1;
  }
  auto seq = store::backup(conf.node.data_dir, target.string());
  if (!seq && seq.error() == ec::conflict)
    return backup_by_server(conf, target.string(), error_text(seq.error()));
  if (!seq) {
    std::cerr << "shelfsync: " << error_text(seq.error()) << '\n';
    return 1;
  }
  std::cout << "backed up " << conf.node.data_dir << " into " << target.string()
            << " (log up to seq " << *seq << ")\n";
  return 0;
}

} // namespace shelfsync::commands
