#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "tests/api/child_process.hpp"
#include "tests/api/stock_oracle.hpp"
#include "tests/tmpfs_mount.hpp"

namespace shelfsync::tests {

/// A JSON answer; status 0 when none came.
struct json_answer {
  int status = 0;
  nlohmann::json body;
};

/// What the history check found.
struct history_report {
  /// Entries checked (Shopify item × location, Amazon SKU).
  size_t entries = 0;
  /// Values the simulators applied to them, in all.
  size_t values = 0;
  /// One line per entry whose history went backwards; empty when none.
  std::string problems;
};

/// The fault suite's world: `shelfsync sim` and `shelfsync serve` as child
/// processes in a fresh directory, a Shopify store (two mapped locations and
/// one stray, rules buffer and percent) and an Amazon seller (two of three
/// warehouses summed, rule max), the simulators' fault switches, and what
/// the simulators hold and recorded. Assertions are gtest ones: call the
/// void members under ASSERT_NO_FATAL_FAILURE.
class fault_rig {
 public:
  explicit fault_rig(uint64_t seed);
  ~fault_rig();

  fault_rig(const fault_rig&) = delete;
  fault_rig& operator=(const fault_rig&) = delete;

  // -- the catalogue ---------------------------------------------------------

  std::vector<std::string> products() const;
  std::vector<std::string> warehouses() const;
  /// Both shops as the oracle models them.
  std::vector<shop_spec> shops() const;

  // -- processes -------------------------------------------------------------

  /// Starts `shelfsync sim` and seeds the store and the seller.
  void start_simulators();
  /// Starts `shelfsync serve` and waits until it answers.
  void start_engine();
  /// SIGKILLs the engine.
  void kill_engine();
  /// Stops the engine with `sig`; returns its exit code.
  int stop_engine(int sig);
  /// Turns both simulators' random faults on (seeded) or off.
  void set_faults(bool on);

  // -- the data disk ---------------------------------------------------------

  /// Puts the data dir on a tmpfs of `megabytes` (before the engine starts);
  /// "" when done, else why not (not root, no mount): skip then.
  std::string mount_data_disk(size_t megabytes);
  /// Fills the data disk up (a filler file), or frees it again.
  void fill_data_disk();
  void free_data_disk();
  /// GET /readyz: its status (0 when no answer) and body.
  json_answer readyz() const;

  // -- the engine's API ------------------------------------------------------

  http::client api_client() const;
  /// POSTs a batch; status 0 when no answer came.
  json_answer post_events(http::client& c,
                          const std::vector<event_spec>& batch) const;

  // -- what the channels hold ------------------------------------------------

  /// "" when both shops have nothing pending or in flight and the simulated
  /// store and seller hold exactly the oracle's last views; else why not.
  std::string idle_and_holding(const stock_oracle& oracle) const;
  /// "" when the engine holds the oracle's stock (on_hand, reserved) for
  /// every product and warehouse: each accepted event applied exactly once.
  std::string engine_stock_differs(const stock_oracle& oracle) const;
  /// Checks every entry's history at the simulators against the oracle.
  history_report check_histories(const stock_oracle& oracle) const;
  /// The faults both simulators injected, by kind.
  nlohmann::json injected() const;
  /// Requests the "shopify" or "amazon" simulator received.
  size_t requests(const std::string& channel) const;

  // -- the command line ------------------------------------------------------

  /// Runs `shelfsync replay --config FILE`: exit code and its output.
  std::pair<int, std::string> replay() const;

  /// Prints the tails of the engine's and the simulators' logs.
  void print_logs() const;

 private:
  json_answer sim_call(const std::string& method, const std::string& path,
                       const nlohmann::json* body = nullptr) const;
  json_answer api_get(const std::string& path) const;
  void write_config() const;

  uint64_t seed_;
  std::string dir_;
  uint16_t sim_port_;
  uint16_t api_port_;
  child_process sim_;
  child_process engine_;
  std::unique_ptr<tmpfs_mount> disk_;
};

} // namespace shelfsync::tests
