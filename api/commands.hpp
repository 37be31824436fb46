#pragma once

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

/// Runs the local Shopify and Amazon simulators on one port until SIGTERM.
int sim(const std::string& host, uint16_t port);

} // namespace shelfsync::commands
