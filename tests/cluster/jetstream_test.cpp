// jetstream: per-subject compare-and-set, authoritative reads, batches with
// msg-ids, against a real single nats-server.
#include "cluster/jetstream.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/cluster/nats_test_support.hpp"

using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;

namespace {

stream_spec state_stream() {
  stream_spec spec;
  spec.name = "STATE";
  spec.subjects = {"state.>"};
  spec.max_msgs_per_subject = 1;
  return spec;
}

stream_spec event_stream() {
  stream_spec spec;
  spec.name = "EVENTS";
  spec.subjects = {"events.>"};
  return spec;
}

std::vector<outgoing_message> batch(int n, const std::string& id_prefix) {
  std::vector<outgoing_message> messages;
  for (int i = 0; i < n; ++i)
    messages.push_back({"events.slot." + std::to_string(i % 16),
                        "event " + std::to_string(i) + std::string(100, 'x'),
                        id_prefix + "-" + std::to_string(i)});
  return messages;
}

} // namespace

TEST(jetstream, connecting_to_no_server_is_a_clear_unavailable_error) {
  connect_options options;
  options.urls = {"nats://127.0.0.1:1"};
  options.timeout = 500ms;
  auto js = jetstream::connect(options);
  ASSERT_FALSE(js);
  EXPECT_EQ(js.err().code, errc::unavailable) << js.err().message;
  EXPECT_NE(js.err().message.find("nats://127.0.0.1:1"), std::string::npos)
      << js.err().message;
}

TEST(jetstream, a_stale_expected_subject_sequence_is_refused) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  ASSERT_TRUE(js->ensure_stream(state_stream()));
  // 0: the subject must have no message yet.
  auto first = js->publish_cas("state.product.SKU-1", "v1", 0);
  ASSERT_TRUE(first) << first.err().message;
  EXPECT_EQ(first->stream, "STATE");
  auto again = js->publish_cas("state.product.SKU-1", "v1 again", 0);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.err().code, errc::conflict) << again.err().message;

  auto second = js->publish_cas("state.product.SKU-1", "v2", first->sequence);
  ASSERT_TRUE(second) << second.err().message;
  // A writer that read v1 (a stale owner) is fenced off.
  auto stale = js->publish_cas("state.product.SKU-1", "old", first->sequence);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.err().code, errc::conflict);
  EXPECT_NE(stale.err().message.find("wrong last sequence"), std::string::npos)
      << stale.err().message;
  // Another subject has its own sequence.
  EXPECT_TRUE(js->publish_cas("state.product.SKU-2", "w1", 0));

  auto last = js->last_msg("STATE", "state.product.SKU-1");
  ASSERT_TRUE(last) << last.err().message;
  EXPECT_EQ(last->data, "v2");
  EXPECT_EQ(last->sequence, second->sequence);
  EXPECT_EQ(last->subject, "state.product.SKU-1");
  auto none = js->last_msg("STATE", "state.product.nothing");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.err().code, errc::not_found) << none.err().message;
}

TEST(jetstream, a_cas_batch_answers_each_write_and_refuses_only_the_stale) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  ASSERT_TRUE(js->ensure_stream(state_stream()));
  auto held = js->publish_cas("state.id.b", "first", 0);
  ASSERT_TRUE(held) << held.err().message;
  std::vector<cas_message> writes;
  for (auto name : {"a", "b", "c"})
    writes.push_back({std::string{"state.id."} + name, "claim", 0});
  for (int i = 0; i < 200; ++i)
    writes.push_back({"state.many." + std::to_string(i), "x", 0});
  auto answers = js->publish_cas_batch(writes, 5s);
  ASSERT_EQ(answers.size(), writes.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    if (i == 1) continue;
    ASSERT_TRUE(answers[i])
        << writes[i].subject << ": " << answers[i].err().message;
    EXPECT_GT(answers[i]->sequence, held->sequence);
  }
  // Only the write whose subject held a message is refused, as a conflict
  // (JetStream error 10071), and what it held stays.
  ASSERT_FALSE(answers[1]);
  EXPECT_EQ(answers[1].err().code, errc::conflict) << answers[1].err().message;
  auto last = js->last_msg("STATE", "state.id.b");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->data, "first");
  // Written over the sequences it answered: a second batch chains on.
  std::vector<cas_message> next{{"state.id.a", "again", answers[0]->sequence},
                                {"state.id.c", "stale", held->sequence}};
  auto chained = js->publish_cas_batch(next, 5s);
  ASSERT_EQ(chained.size(), 2u);
  EXPECT_TRUE(chained[0]) << chained[0].err().message;
  ASSERT_FALSE(chained[1]);
  EXPECT_EQ(chained[1].err().code, errc::conflict);
  // Two writes of one subject in a batch are refused before sending.
  auto twice = js->publish_cas_batch(
      {{"state.id.d", "1", 0}, {"state.id.d", "2", 0}}, 5s);
  ASSERT_EQ(twice.size(), 2u);
  ASSERT_FALSE(twice[0]);
  EXPECT_EQ(twice[0].err().code, errc::invalid);
  auto none = js->last_msg("STATE", "state.id.d");
  ASSERT_FALSE(none) << "stored: " << none->data;
  EXPECT_EQ(none.err().code, errc::not_found);
}

TEST(jetstream, ensure_stream_accepts_the_same_config_and_refuses_another) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  ASSERT_TRUE(js->ensure_stream(event_stream()));
  EXPECT_TRUE(js->ensure_stream(event_stream()));
  auto other = event_stream();
  other.subjects = {"other.>"};
  auto refused = js->ensure_stream(other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().code, errc::invalid) << refused.err().message;
}

TEST(jetstream, direct_gets_read_a_subject_forward_and_are_turned_on_in_place) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  // A stream made without direct gets, as an older node made it.
  ASSERT_TRUE(js->ensure_stream(event_stream()));
  ASSERT_TRUE(js->publish_batch(batch(40, "d"), 5s));
  auto direct = event_stream();
  direct.allow_direct = true;
  ASSERT_TRUE(js->ensure_stream(direct)) << "turned on in place";
  // Slot 3's messages are 4, 20 and 36 (batch() puts message i in slot
  // i % 16, sequences from 1).
  std::vector<uint64_t> seen;
  for (uint64_t from = 1;;) {
    auto next = js->next_msg("EVENTS", "events.slot.3", from);
    ASSERT_TRUE(next) << next.err().message;
    if (!*next) break;
    EXPECT_EQ((*next)->subject, "events.slot.3");
    seen.push_back((*next)->sequence);
    from = (*next)->sequence + 1;
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{4, 20, 36}));
  // Anything else about the stream is still never changed.
  auto other = direct;
  other.subjects = {"other.>"};
  auto refused = js->ensure_stream(other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().code, errc::invalid) << refused.err().message;
}

TEST(jetstream, a_resent_batch_is_stored_once) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  ASSERT_TRUE(js->ensure_stream(event_stream()));
  auto messages = batch(200, "batch-7");
  auto first = js->publish_batch(messages, 5s);
  ASSERT_TRUE(first) << first.err().message;
  ASSERT_EQ(first->size(), 200u);
  auto again = js->publish_batch(messages, 5s);
  ASSERT_TRUE(again) << again.err().message;
  for (size_t i = 0; i < 200; ++i) {
    EXPECT_FALSE((*first)[i].duplicate);
    EXPECT_TRUE((*again)[i].duplicate) << i;
    EXPECT_EQ((*again)[i].sequence, (*first)[i].sequence) << i;
  }
  // 200 messages in the stream, not 400: the last one (i = 199, slot 7)
  // has sequence 200; the last of slot 0 is i = 192.
  auto last = js->last_msg("EVENTS", "events.slot.7");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->sequence, 200u);
  EXPECT_TRUE(js->publish_cas("events.slot.0", "next", 193u));
}

TEST(jetstream, a_batch_with_a_repeated_msg_id_is_refused_before_sending) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  auto messages = batch(3, "b");
  messages[2].msg_id = messages[0].msg_id;
  auto refused = js->publish_batch(messages, 1s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().code, errc::invalid);
  EXPECT_NE(refused.err().message.find("message 2 repeats the msg-id b-0"),
            std::string::npos)
      << refused.err().message;
}

TEST(jetstream, a_batch_cut_by_a_server_kill_fails_and_its_resend_lands_once) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  ASSERT_TRUE(js->ensure_stream(event_stream()));
  auto messages = batch(20000, "big");
  // Another client kills the server once it has stored 1000 messages.
  auto watcher = connect_to(nats.urls());
  ASSERT_TRUE(watcher);
  std::atomic<uint64_t> stored_at_kill{0};
  std::thread killer{[&] {
    auto give_up = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < give_up) {
      jsStreamInfo* info = nullptr;
      uint64_t stored = 0;
      if (js_GetStreamInfo(&info, watcher->context(), "EVENTS", nullptr,
                           nullptr) == NATS_OK)
        stored = info->State.Msgs;
      jsStreamInfo_Destroy(info);
      if (stored >= 1000) {
        stored_at_kill = stored;
        break;
      }
    }
    nats.kill(0);
  }};
  auto cut = js->publish_batch(messages, 2s);
  killer.join();
  ASSERT_GE(stored_at_kill, 1000u) << "the kill did not come mid-way";
  ASSERT_FALSE(cut) << "every ack of the batch came back before the kill";
  EXPECT_TRUE(cut.err().code == errc::timeout ||
              cut.err().code == errc::unavailable)
      << cut.err().message;
  EXPECT_NE(cut.err().message.find("of 20000 messages of the batch were not "
                                   "stored"),
            std::string::npos)
      << cut.err().message;

  // The server comes back on its store; the client reconnects; the same
  // batch completes, and the messages stored before the kill are not stored
  // twice.
  ASSERT_TRUE(nats.restart(0)) << nats.error();
  outcome<std::vector<publish_ack>> resent = error{};
  auto deadline = std::chrono::steady_clock::now() + 15s;
  do {
    resent = js->publish_batch(messages, 5s);
  } while (!resent && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(resent) << resent.err().message;
  uint64_t highest = 0;
  for (auto& ack : *resent)
    highest = std::max(highest, ack.sequence);
  EXPECT_EQ(highest, 20000u);
}
