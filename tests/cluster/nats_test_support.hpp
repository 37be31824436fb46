#pragma once

#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/jetstream.hpp"
#include "tests/cluster/nats_servers.hpp"

namespace shelfsync::test {

/// Connects to `urls`; fails the test when it cannot.
inline std::unique_ptr<cluster::jetstream> connect_to(
    const std::vector<std::string>& urls,
    std::chrono::milliseconds timeout = std::chrono::milliseconds{2000}) {
  cluster::connect_options options;
  options.urls = urls;
  options.name = "shelfsync-test";
  options.timeout = timeout;
  auto js = cluster::jetstream::connect(options);
  EXPECT_TRUE(js) << (js ? "" : js.err().message);
  return js ? std::move(*js) : nullptr;
}

/// Creates `spec`, retrying while JetStream is not ready yet (a cluster
/// elects its meta leader after it starts), for at most `limit`.
inline cluster::status ensure_stream_when_ready(
    cluster::jetstream& js, const cluster::stream_spec& spec,
    std::chrono::seconds limit = std::chrono::seconds{15}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto done = js.ensure_stream(spec);
    if (done || std::chrono::steady_clock::now() > deadline) return done;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

} // namespace shelfsync::test

/// Starts `count` servers into `var`, or skips the test when nats-server is
/// not installed.
#define START_NATS(var, count)                                                 \
  if (shelfsync::test::nats_servers::binary().empty())                         \
    GTEST_SKIP() << "nats-server is not installed (scripts/setup installs "    \
                    "it)";                                                     \
  shelfsync::test::nats_servers var{count};                                    \
  ASSERT_EQ(var.error(), "")
