// Steps shared by the resync tests of both channels.
#pragma once

#include <chrono>
#include <future>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/engine.hpp"

namespace resync_steps {

/// Starts a resync of `shop` through the engine; returns its answer.
inline caf::expected<std::string> request(shelfsync::engine& eng,
                                          const std::string& shop) {
  std::promise<caf::expected<std::string>> done;
  eng.resync(shop, [&](caf::expected<std::string> r) {
    done.set_value(std::move(r));
  });
  auto answer = done.get_future();
  if (answer.wait_for(std::chrono::seconds{10}) != std::future_status::ready)
    return caf::make_error(shelfsync::ec::shutting_down, "no answer");
  return answer.get();
}

/// The resync progress in a shop's status (null when none ever ran).
inline nlohmann::json progress(const shelfsync::shop_status& s) {
  auto details = nlohmann::json::parse(s.details, nullptr, false);
  return details.is_object() && details.contains("resync") ? details["resync"]
                                                           : nlohmann::json();
}

/// Whether the progress says done.
inline bool done(const nlohmann::json& progress) {
  return progress.is_object() && progress["state"] == "done";
}

} // namespace resync_steps
