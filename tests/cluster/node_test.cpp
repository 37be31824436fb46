// Engine nodes of a cluster (cluster::node, in process) on 3 real
// nats-server processes: ingest on any node, slot ownership by leases,
// apply from checkpoints, reads with read-your-writes, take-over and
// fencing.
#include "cluster/node.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/product_ids.hpp"
#include "cluster/slots.hpp"
#include "tests/cluster/node_test_support.hpp"

using namespace shelfsync;
using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t slot_count = 8;

node_options options_for(const nats_servers& nats, const std::string& id,
                         std::chrono::milliseconds duplicate_window = 0ms) {
  auto o = short_lease_options(nats, id, slot_count, 3);
  o.duplicate_window = duplicate_window;
  return o;
}

std::unique_ptr<node> start_node(const nats_servers& nats,
                                 const std::string& id,
                                 std::chrono::milliseconds window = 0ms) {
  auto n = node::start(options_for(nats, id, window));
  EXPECT_TRUE(n) << (n ? "" : n.err().message);
  return n ? std::move(*n) : nullptr;
}

template<class F>
bool wait_until(F f, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

/// Whether the nodes own every slot between them, each at most once.
bool all_slots_owned(const std::vector<node*>& nodes) {
  for (uint32_t s = 0; s < slot_count; ++s) {
    int owners = 0;
    for (auto* n : nodes)
      owners += n->slots()[s].owned ? 1 : 0;
    if (owners != 1) return false;
  }
  return true;
}

stock_event delta(const std::string& id, const std::string& product, int64_t d,
                  const std::string& wh = "WH-A") {
  stock_event e;
  e.id = id;
  e.product = product;
  e.warehouse = wh;
  e.delta = d;
  e.fields = stock_event::has_delta;
  return e;
}

stock_event on_hand(const std::string& id, const std::string& product,
                    int64_t n, int64_t version) {
  stock_event e;
  e.id = id;
  e.product = product;
  e.warehouse = "WH-A";
  e.on_hand = n;
  e.version = version;
  e.fields = stock_event::has_on_hand | stock_event::has_version;
  return e;
}

/// The on_hand of `product` in WH-A read through `n`; -1 when absent,
/// -2 when the read failed.
int64_t read_on_hand(node& n, const std::string& product) {
  auto p = n.product(product);
  EXPECT_TRUE(p) << (p ? "" : p.err().message);
  if (!p) return -2;
  if (!*p) return -1;
  auto i = (*p)->record.stock.find("WH-A");
  return i == (*p)->record.stock.end() ? -1 : i->second.on_hand;
}

/// The index of the node that owns `product`'s slot, or -1.
int owner_of(const std::vector<node*>& nodes, const std::string& product) {
  auto slot = slot_of(product, slot_count);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i]->slots()[slot].owned) return static_cast<int>(i);
  return -1;
}

} // namespace

TEST(cluster_node, a_batch_posted_to_one_node_is_read_on_another) {
  START_NATS(nats, 3);
  auto a = start_node(nats, "n1");
  auto b = start_node(nats, "n2");
  ASSERT_TRUE(a && b);
  // The node that started first takes every slot, then hands half of them
  // to the one that joined: both share the slots fairly.
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned({a.get(), b.get()}) &&
               a->owned_slots() == slot_count / 2 &&
               b->owned_slots() == slot_count / 2;
      },
      20s))
      << "n1 owns " << a->owned_slots() << ", n2 " << b->owned_slots();

  std::vector<stock_event> batch;
  for (int p = 0; p < 20; ++p)
    batch.push_back(
        on_hand("e" + std::to_string(p), "P" + std::to_string(p), 100 + p, 1));
  batch.push_back(delta("d1", "P3", -5));
  // An id repeated within the batch counts once, as on one node.
  batch.push_back(delta("d1", "P3", -5));
  auto stored = a->ingest(batch);
  ASSERT_TRUE(stored) << stored.err().message;
  EXPECT_EQ(stored->accepted, 21u);
  EXPECT_EQ(stored->duplicates, 1u);
  EXPECT_GT(stored->last_seq, 0u);

  // Read on the other node, right away: read-your-writes.
  for (int p = 0; p < 20; ++p)
    EXPECT_EQ(read_on_hand(*b, "P" + std::to_string(p)), p == 3 ? 98 : 100 + p)
        << "product P" << p;
  auto absent = b->product("never-seen");
  ASSERT_TRUE(absent) << absent.err().message;
  EXPECT_FALSE(*absent);

  // Versions hold across nodes: an older version changes nothing.
  auto stale = b->ingest({on_hand("v0", "P5", 1, 1)});
  ASSERT_TRUE(stale) << stale.err().message;
  EXPECT_EQ(read_on_hand(*a, "P5"), 105);
}

TEST(cluster_node,
     ingests_in_flight_together_on_one_node_get_their_own_answers) {
  START_NATS(nats, 3);
  auto o = options_for(nats, "n1");
  o.request_threads = 4;
  auto started = node::start(o);
  ASSERT_TRUE(started) << started.err().message;
  auto& n = **started;
  // Batch k: 40 events, +1 each on products K<k>-0 to K<k>-9, the first k
  // of them repeated at its end; the last batch resends batch 0 whole.
  constexpr int batches = 7;
  std::vector<std::vector<stock_event>> sent;
  for (int k = 0; k < batches; ++k) {
    std::vector<stock_event> b;
    for (int j = 0; j < 40; ++j)
      b.push_back(delta("k" + std::to_string(k) + "-" + std::to_string(j),
                        "K" + std::to_string(k) + "-" + std::to_string(j % 10),
                        1));
    for (int j = 0; j < k; ++j)
      b.push_back(b[static_cast<size_t>(j)]);
    sent.push_back(std::move(b));
  }
  sent.push_back(sent[0]);
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::optional<outcome<ingest_answer>>> answers(sent.size());
  for (size_t k = 0; k < sent.size(); ++k)
    n.ingest_async(sent[k], [&, k](outcome<ingest_answer> a) {
      std::lock_guard<std::mutex> guard{m};
      answers[k].emplace(std::move(a));
      cv.notify_all();
    });
  {
    std::unique_lock<std::mutex> lock{m};
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] {
      return std::all_of(answers.begin(), answers.end(), [](auto& a) {
        return a.has_value();
      });
    }));
  }
  std::set<uint64_t> last_seqs;
  for (int k = 1; k < batches; ++k) {
    auto& a = *answers[static_cast<size_t>(k)];
    ASSERT_TRUE(a) << "batch " << k << ": " << a.err().message;
    EXPECT_EQ(a->accepted, 40u) << "batch " << k;
    EXPECT_EQ(a->duplicates, static_cast<size_t>(k)) << "batch " << k;
    EXPECT_TRUE(last_seqs.insert(a->last_seq).second) << "batch " << k;
  }
  // Batch 0 and its resend, in flight together: one stored it, the other
  // met its msg-ids.
  auto& first = *answers[0];
  auto& resent = *answers[batches];
  ASSERT_TRUE(first && resent);
  EXPECT_EQ(first->accepted + resent->accepted, 40u);
  EXPECT_EQ(first->duplicates + resent->duplicates, 40u);
  EXPECT_EQ(first->last_seq, resent->last_seq);
  // Every product got its 4 events once.
  for (int k = 0; k < batches; ++k)
    for (int p = 0; p < 10; ++p)
      EXPECT_EQ(
          read_on_hand(n, "K" + std::to_string(k) + "-" + std::to_string(p)), 4)
          << "K" << k << "-" << p;
}

TEST(cluster_node, a_resent_batch_applies_once_within_and_beyond_the_window) {
  START_NATS(nats, 3);
  // A 1 s deduplication window stands for JetStream's 2 minutes.
  auto a = start_node(nats, "n1", 1000ms);
  auto b = start_node(nats, "n2", 1000ms);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned({a.get(), b.get()});
      },
      20s));
  std::vector<stock_event> batch;
  for (int i = 0; i < 10; ++i)
    batch.push_back(
        delta("r" + std::to_string(i), "Q" + std::to_string(i % 4), 1));
  auto first = a->ingest(batch);
  ASSERT_TRUE(first) << first.err().message;
  EXPECT_EQ(first->accepted, 10u);

  // Resent to the other node within the window: JetStream dedupes it.
  auto again = b->ingest(batch);
  ASSERT_TRUE(again) << again.err().message;
  EXPECT_EQ(again->accepted, 0u);
  EXPECT_EQ(again->duplicates, 10u);
  EXPECT_EQ(again->last_seq, first->last_seq);

  // Resent after the window: stored again, but its ids were applied.
  std::this_thread::sleep_for(1500ms);
  auto late = a->ingest(batch);
  ASSERT_TRUE(late) << late.err().message;
  EXPECT_GT(late->last_seq, first->last_seq) << "stored again";
  // Q0 and Q1 got 3 events each, Q2 and Q3 got 2, once.
  EXPECT_EQ(read_on_hand(*b, "Q0"), 3);
  EXPECT_EQ(read_on_hand(*b, "Q1"), 3);
  EXPECT_EQ(read_on_hand(*a, "Q2"), 2);
  EXPECT_EQ(read_on_hand(*a, "Q3"), 2);
  auto p = a->product("Q0");
  ASSERT_TRUE(p && *p);
  EXPECT_GT((*p)->applied_seq, first->last_seq) << "the resend was read";
  EXPECT_EQ((*p)->id_count, 3u);
}

TEST(cluster_node, a_killed_owner_s_slots_are_taken_over_and_nothing_is_lost) {
  START_NATS(nats, 3);
  std::vector<std::unique_ptr<node>> owned;
  for (auto id : {"n1", "n2", "n3"})
    owned.push_back(start_node(nats, id));
  std::vector<node*> nodes;
  for (auto& n : owned) {
    ASSERT_TRUE(n);
    nodes.push_back(n.get());
  }
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned(nodes);
      },
      20s));

  const std::string product = "K1";
  auto victim = owner_of(nodes, product);
  ASSERT_GE(victim, 0);
  auto entry = nodes[(victim + 1) % 3];
  // Batches of +1 to K1 and to products of other slots, some before the
  // kill and some after; every one answered 200 must be there once.
  int64_t expected = 0;
  int sent = 0;
  auto send = [&](int count) {
    for (int i = 0; i < count; ++i, ++sent) {
      std::vector<stock_event> batch{
          delta("k" + std::to_string(sent), product, 1),
          delta("o" + std::to_string(sent), "other-" + std::to_string(sent % 5),
                1)};
      auto stored = entry->ingest(batch);
      ASSERT_TRUE(stored) << stored.err().message;
      ++expected;
    }
  };
  send(30);
  nodes[victim]->halt();
  auto killed_at = std::chrono::steady_clock::now();
  send(30);

  std::vector<node*> survivors;
  for (int i = 0; i < 3; ++i)
    if (i != victim) survivors.push_back(nodes[i]);
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned(survivors);
      },
      20s))
      << "the survivors did not take every slot";
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed_at);
  std::cout << "take-over after the kill: " << took.count() << " ms\n";
  EXPECT_GE(owner_of(survivors, product), 0);
  for (auto* n : survivors)
    EXPECT_EQ(read_on_hand(*n, product), expected);
  auto p = survivors[0]->product(product);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->id_count, static_cast<uint64_t>(expected));
  // Every other product got its events once as well.
  int64_t others = 0;
  for (int k = 0; k < 5; ++k)
    others += read_on_hand(*survivors[1], "other-" + std::to_string(k));
  EXPECT_EQ(others, expected);
}

TEST(cluster_node,
     a_fenced_owner_stops_applying_and_its_late_write_is_refused) {
  START_NATS(nats, 3);
  auto a = start_node(nats, "n1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned({a.get()});
      },
      20s));
  const std::string product = "F1";
  auto slot = slot_of(product, slot_count);
  ASSERT_TRUE(a->ingest({delta("f0", product, 5)}));
  ASSERT_EQ(read_on_hand(*a, product), 5);

  // What the owner holds in hand: the product as it wrote it last.
  auto raw = connect_to(nats.urls());
  ASSERT_TRUE(raw);
  auto held = load_product(*raw, slot, product);
  ASSERT_TRUE(held && *held);

  // The owner pauses: no renewals. It stops applying before its lease can
  // run out, so that the next owner is alone.
  a->suspend_renewals(true);
  ASSERT_TRUE(wait_until(
      [&] {
        return a->owned_slots() == 0;
      },
      3000ms))
      << "the owner kept writing past its fencing deadline";
  ASSERT_TRUE(a->ingest({delta("f1", product, 1)}));
  std::this_thread::sleep_for(500ms);
  EXPECT_LT(a->slots()[slot].applied_seq, 2u) << "a fenced owner applied";

  auto b = start_node(nats, "n2");
  ASSERT_TRUE(b);
  EXPECT_EQ(read_on_hand(*b, product), 6);
  EXPECT_TRUE(b->slots()[slot].owned);

  // The paused owner's late write, over the version it held, is refused.
  auto late = (*held)->value;
  late.record.stock["WH-A"].on_hand = 999;
  late.applied_seq += 1;
  auto refused = store_product(*raw, slot, late, (*held)->subject_seq);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().code, errc::conflict) << refused.err().message;
  EXPECT_EQ(read_on_hand(*b, product), 6);
  a->halt();
}

TEST(cluster_event_messages, one_message_per_slot_part_with_ids_from_content) {
  std::vector<stock_event> batch;
  for (int i = 0; i < 200; ++i)
    batch.push_back(delta("m" + std::to_string(i), "P" + std::to_string(i), 1));
  batch.push_back(delta("m7", "P7", 1)); // a repeat within the batch
  size_t repeated = 0;
  auto messages = event_messages(batch, 4, &repeated, 1000);
  EXPECT_EQ(repeated, 1u);
  size_t events = 0;
  std::set<std::string> ids;
  for (auto& m : messages) {
    EXPECT_LE(m.data.size(), 1000u);
    auto decoded = decode_events(m.data);
    ASSERT_TRUE(decoded) << decoded.err().message;
    for (auto& e : *decoded)
      EXPECT_EQ(events_subject(slot_of(e.product, 4)), m.subject);
    events += decoded->size();
    EXPECT_TRUE(ids.insert(m.msg_id).second) << "msg-ids are unique";
  }
  EXPECT_EQ(events, 200u);
  EXPECT_GT(messages.size(), 4u) << "slots cut into parts by size";
  // The same batch gives the same messages: a resend dedupes.
  auto again = event_messages(batch, 4, nullptr, 1000);
  ASSERT_EQ(again.size(), messages.size());
  for (size_t i = 0; i < again.size(); ++i)
    EXPECT_EQ(again[i].msg_id, messages[i].msg_id);
  // Another batch does not.
  batch[0].delta = 2;
  std::set<std::string> changed;
  for (auto& m : event_messages(batch, 4, nullptr, 1000))
    changed.insert(m.msg_id);
  EXPECT_NE(changed, ids);
  EXPECT_EQ(changed.size(), ids.size());
}

TEST(cluster_node, a_caught_up_applier_waits_while_its_node_ingests) {
  START_NATS(nats, 3);
  auto o = options_for(nats, "n1");
  o.apply_yield = 4000ms;
  auto started = node::start(o);
  ASSERT_TRUE(started) << started.err().message;
  auto& n = **started;
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned({&n});
      },
      10s));
  // Another client keeps this node ingesting (two senders, so that no gap
  // of 20 ms ends it).
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; !stop; ++i)
        if (n.ingest({delta("bg-" + std::to_string(t) + "-" + std::to_string(i),
                            "BG-" + std::to_string(i % 50), 1)}))
          ++sent;
    });
  ASSERT_TRUE(wait_until(
      [&] {
        return sent > 20;
      },
      5s));
  auto answer = n.ingest({delta("held-1", "HELD", 7)});
  ASSERT_TRUE(answer) << answer.err().message;
  auto slot = slot_of("HELD", slot_count);
  std::this_thread::sleep_for(1500ms);
  EXPECT_LT(n.slots()[slot].applied_seq, answer->last_seq)
      << "the slot was applied while its node ingested";
  stop = true;
  for (auto& t : senders)
    t.join();
  // The ingests ended: the unit goes at once, not after the 4 s.
  EXPECT_TRUE(wait_until(
      [&] {
        return n.slots()[slot].applied_seq >= answer->last_seq;
      },
      2000ms))
      << "not applied after the ingests ended";
  EXPECT_EQ(read_on_hand(n, "HELD"), 7);
}

TEST(cluster_node, a_product_written_past_the_checkpoint_is_not_applied_again) {
  START_NATS(nats, 3);
  // A former owner applied a message to the product, then died before it
  // wrote the slot's checkpoint.
  auto raw = connect_to(nats.urls());
  ASSERT_TRUE(raw);
  ASSERT_TRUE(ensure_stream_when_ready(*raw, events_stream_spec(3, 0ms)));
  ASSERT_TRUE(ensure_stream_when_ready(*raw, state_stream_spec(3)));
  const std::string product = "W1";
  auto slot = slot_of(product, slot_count);
  auto messages =
      event_messages({delta("w0", product, 7)}, slot_count, nullptr);
  auto acks = raw->publish_batch(messages, 5s);
  ASSERT_TRUE(acks) << acks.err().message;
  product_state applied;
  applied.product = product;
  applied.applied_seq = (*acks)[0].sequence;
  applied.record.stock["WH-A"].on_hand = 7;
  product_ids ids;
  ids.add("w0", applied.applied_seq);
  ASSERT_TRUE(ids.store(*raw, slot, product));
  applied.id_segments = ids.segments();
  applied.id_count = ids.size();
  ASSERT_TRUE(store_product(*raw, slot, applied, 0));
  auto cp = load_checkpoint(*raw, slot);
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->value, 0u);

  // The next owner replays from the checkpoint and skips what the product
  // already holds.
  auto a = start_node(nats, "n1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->ingest({delta("w1", product, 1)}));
  EXPECT_EQ(read_on_hand(*a, product), 8);
  cp = load_checkpoint(*raw, slot);
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->value, 2u);
}

TEST(cluster_node, ids_over_several_segments_still_dedupe_after_a_take_over) {
  START_NATS(nats, 3);
  auto a = start_node(nats, "n1", 1000ms);
  ASSERT_TRUE(a);
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned({a.get()});
      },
      20s));
  auto b = start_node(nats, "n2", 1000ms);
  ASSERT_TRUE(b);
  ASSERT_TRUE(wait_until(
      [&] {
        return all_slots_owned({a.get(), b.get()}) && b->owned_slots() > 0;
      },
      20s));
  // More ids than one segment holds, to one product, in batches.
  const std::string product = "BIG";
  const size_t count = product_ids::max_segment_ids + 500;
  std::vector<std::vector<stock_event>> batches(5);
  for (size_t i = 0; i < count; ++i)
    batches[i % batches.size()].push_back(
        delta("big-" + std::to_string(i), product, 1));
  std::vector<node*> nodes{a.get(), b.get()};
  auto owner = owner_of(nodes, product);
  ASSERT_GE(owner, 0);
  auto* entry = nodes[1 - owner];
  for (auto& batch : batches)
    ASSERT_TRUE(entry->ingest(batch));
  ASSERT_EQ(read_on_hand(*entry, product), static_cast<int64_t>(count));
  auto p = entry->product(product);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->id_count, count);
  EXPECT_EQ((*p)->id_segments, 2u);
  // The product state stays small: the ids are in their own subjects.
  auto raw = connect_to(nats.urls());
  ASSERT_TRUE(raw);
  auto slot = slot_of(product, slot_count);
  auto state = last_state(*raw, product_subject(slot, product));
  ASSERT_TRUE(state && *state);
  EXPECT_LT((*state)->data.size(), 1000u);
  auto second = last_state(*raw, ids_subject(slot, product, 1));
  ASSERT_TRUE(second && *second);

  // The owner dies; the other node takes the slot over, and every batch is
  // resent after the deduplication window: nothing applies twice.
  nodes[owner]->halt();
  ASSERT_TRUE(wait_until(
      [&] {
        return entry->slots()[slot].owned;
      },
      20s));
  std::this_thread::sleep_for(1100ms);
  for (auto& batch : batches) {
    auto again = entry->ingest(batch);
    ASSERT_TRUE(again) << again.err().message;
    EXPECT_EQ(again->accepted, batch.size()) << "stored again, past the window";
  }
  ASSERT_TRUE(entry->ingest({delta("big-last", product, 1)}));
  EXPECT_EQ(read_on_hand(*entry, product), static_cast<int64_t>(count) + 1);
  p = entry->product(product);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->id_count, count + 1);
}

TEST(cluster_node, ids_written_without_their_product_write_do_not_count) {
  START_NATS(nats, 3);
  // A former owner wrote the ids of a message, then died before it wrote
  // the product state: the message is not applied, its ids must not count.
  auto raw = connect_to(nats.urls());
  ASSERT_TRUE(raw);
  ASSERT_TRUE(ensure_stream_when_ready(*raw, events_stream_spec(3, 0ms)));
  ASSERT_TRUE(ensure_stream_when_ready(*raw, state_stream_spec(3)));
  const std::string product = "O1";
  auto slot = slot_of(product, slot_count);
  auto acks = raw->publish_batch(
      event_messages({delta("o0", product, 7)}, slot_count, nullptr), 5s);
  ASSERT_TRUE(acks) << acks.err().message;
  product_ids orphan;
  orphan.add("o0", (*acks)[0].sequence);
  ASSERT_TRUE(orphan.store(*raw, slot, product));
  auto loaded = product_ids::load(*raw, slot, product, 0, 0);
  ASSERT_TRUE(loaded) << loaded.err().message;
  EXPECT_FALSE(loaded->contains("o0"));

  // The next owner applies the message (once) and rewrites the segment.
  auto a = start_node(nats, "n1");
  ASSERT_TRUE(a);
  EXPECT_EQ(read_on_hand(*a, product), 7);
  auto p = a->product(product);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->id_count, 1u);
  loaded = product_ids::load(*raw, slot, product, (*p)->id_segments,
                             (*p)->applied_seq);
  ASSERT_TRUE(loaded) << loaded.err().message;
  EXPECT_TRUE(loaded->contains("o0"));
  EXPECT_EQ(loaded->segments(), 1u);
}
