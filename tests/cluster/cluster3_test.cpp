// A 3-server JetStream cluster on loopback: an R3 stream stays writable when
// one server (the stream's leader, the worst case) is killed.
#include <thread>

#include <gtest/gtest.h>

#include "cluster/jetstream.hpp"
#include "tests/cluster/nats_test_support.hpp"

using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;

namespace {

/// The name of the server leading `stream`, or "".
std::string leader_of(jetstream& js, const std::string& stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr{};
  std::string leader;
  if (js_GetStreamInfo(&info, js.context(), stream.c_str(), nullptr, &jerr) ==
          NATS_OK &&
      info->Cluster != nullptr && info->Cluster->Leader != nullptr)
    leader = info->Cluster->Leader;
  jsStreamInfo_Destroy(info);
  return leader;
}

} // namespace

TEST(cluster3, an_r3_stream_stays_writable_when_its_leader_is_killed) {
  START_NATS(nats, 3);
  auto js = connect_to(nats.urls(), 2000ms);
  ASSERT_TRUE(js);
  stream_spec spec;
  spec.name = "EVENTS";
  spec.subjects = {"events.>"};
  spec.replicas = 3;
  auto created = ensure_stream_when_ready(*js, spec);
  ASSERT_TRUE(created) << created.err().message;

  std::vector<outgoing_message> before{{"events.slot.1", "a", "id-a"}};
  auto stored = js->publish_batch(before, 5s);
  ASSERT_TRUE(stored) << stored.err().message;

  auto leader = nats.index_of(leader_of(*js, "EVENTS"));
  ASSERT_GE(leader, 0);
  nats.kill(leader);

  // The batch is resent with the same msg-id until it is acknowledged, as a
  // client answered 503 would: a new leader is elected in 4-9 s.
  std::vector<outgoing_message> after{{"events.slot.1", "b", "id-b"}};
  auto killed_at = std::chrono::steady_clock::now();
  outcome<std::vector<publish_ack>> acked = error{};
  while (std::chrono::steady_clock::now() < killed_at + 20s) {
    acked = js->publish_batch(after, 2s);
    if (acked) break;
  }
  ASSERT_TRUE(acked) << "no write within 20 s of the kill: "
                     << acked.err().message;
  // Exactly one copy of each, whatever the retries did.
  auto last = js->last_msg("EVENTS", "events.slot.1");
  ASSERT_TRUE(last) << last.err().message;
  EXPECT_EQ(last->data, "b");
  EXPECT_EQ(last->sequence, 2u);
  EXPECT_NE(leader_of(*js, "EVENTS"), nats.name(leader));
}
