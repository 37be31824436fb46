#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

/// The subcommands of the `shelfsync` program (spec §4.1). Each returns the
/// process exit code: 0 ok, 1 invalid input or config.
namespace shelfsync::commands {

/// Runs the engine and its HTTP API until SIGTERM or SIGINT; SIGHUP reloads.
int serve(const std::string& config_path);

/// Validates a config file and prints every problem with its JSON path.
int check_config(const std::string& config_path);

/// Bulk-loads an NDJSON file of events, all or nothing.
int import_events(const std::string& config_path,
                  const std::string& events_path);

/// Rebuilds stock and views from the event log into a fresh in-memory state
/// and reports every difference from the live state: 0 equal, 3 different,
/// 1 config or storage error, 2 usage (see `shelfsync replay --help`).
int replay(const std::string& config_path, uint64_t from, uint64_t to);

/// Prints every event of a product with the stock after it, and what each
/// shop last sent and heard for it.
int product_log(const std::string& config_path, const std::string& code);

/// Prints how each number a shop holds for a product was derived.
int explain(const std::string& config_path, const std::string& code,
            const std::string& shop_id);

/// Prints what every shop would be told differently under the config at
/// `config_path`, read from the stopped store of its data dir: nothing is
/// sent, nothing stored. `top` largest changes per shop; JSON when `as_json`.
int preview(const std::string& config_path, size_t top, bool as_json);

/// Runs the local Shopify and Amazon simulators on one port until SIGTERM.
int sim(const std::string& host, uint16_t port);

/// Copies the store into `dir` as a RocksDB checkpoint: directly when no
/// server runs on it, else by asking the running server (POST /v1/backup).
int backup(const std::string& config_path, const std::string& dir);

} // namespace shelfsync::commands
