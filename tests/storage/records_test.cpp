#include "storage/records.hpp"

#include <gtest/gtest.h>

#include "storage/codec.hpp"

using namespace shelfsync;

TEST(codec, round_trips_extreme_integers) {
  std::string buf;
  codec::writer w{buf};
  for (int64_t x : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX,
                    int64_t{1} << 53, -(int64_t{1} << 53)})
    w.i64(x);
  codec::reader r{buf};
  for (int64_t x : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX,
                    int64_t{1} << 53, -(int64_t{1} << 53)})
    EXPECT_EQ(r.i64(), x);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.done());
}

TEST(codec, truncated_input_fails_soft) {
  std::string buf;
  codec::writer{buf}.str("hello");
  codec::reader r{std::string_view{buf}.substr(0, 3)};
  EXPECT_EQ(r.str(), "");
  EXPECT_FALSE(r.ok());
}

TEST(records, stock_event_round_trip) {
  stock_event e;
  e.seq = 42;
  e.id = "wms-1";
  e.product = "003";
  e.warehouse = "WH-A";
  e.fields = stock_event::has_delta | stock_event::has_version;
  e.delta = -3;
  e.version = 17;
  e.at = "2026-11-27T10:00:00Z";
  e.received_ms = 1234;
  std::string buf;
  encode(e, buf);
  stock_event d;
  ASSERT_TRUE(decode(buf, d));
  EXPECT_EQ(d.seq, 42u);
  EXPECT_EQ(d.id, "wms-1");
  EXPECT_TRUE(d.has(stock_event::has_delta));
  EXPECT_FALSE(d.has(stock_event::has_on_hand));
  EXPECT_EQ(d.delta, -3);
  EXPECT_EQ(d.version, 17);
  EXPECT_EQ(d.at, "2026-11-27T10:00:00Z");
  EXPECT_FALSE(decode(std::string_view{buf}.substr(0, buf.size() - 1), d));
}

TEST(records, product_record_round_trip) {
  product_record p;
  p.applied_seq = 9;
  p.stock["WH-A"] = {12, 2, 17, true, 9};
  p.views["eu"] = {{"gid://shopify/Location/1", 10}};
  p.views["amz"] = {{"", 10}};
  std::string buf;
  encode(p, buf);
  product_record d;
  ASSERT_TRUE(decode(buf, d));
  EXPECT_EQ(d.applied_seq, 9u);
  EXPECT_EQ(d.stock["WH-A"].available(), 10);
  EXPECT_TRUE(d.stock["WH-A"].versioned);
  EXPECT_EQ(d.views["eu"]["gid://shopify/Location/1"], 10);
  EXPECT_EQ(d.views["amz"][""], 10);
}

TEST(records, delivery_record_rejects_unknown_state) {
  delivery_record r;
  r["loc"].state = delivery_state::failed;
  r["loc"].error_code = "INVALID";
  std::string buf;
  encode(r, buf);
  delivery_record d;
  ASSERT_TRUE(decode(buf, d));
  EXPECT_EQ(d["loc"].state, delivery_state::failed);
  EXPECT_EQ(d["loc"].error_code, "INVALID");
  buf[6] = 9; // version, count, "loc" (1 + 3 bytes), then the state
  EXPECT_FALSE(decode(buf, d));
}

TEST(records, delivery_record_keeps_the_drift_note_and_reads_format_1) {
  delivery_record r;
  r["loc"].state = delivery_state::confirmed;
  r["loc"].has_confirmed = true;
  r["loc"].confirmed = 5;
  r["loc"].drifts = 2;
  r["loc"].drift_seen = -3;
  r["loc"].drift_at = "2026-11-27T10:00:00.000Z";
  std::string buf;
  encode(r, buf);
  delivery_record d;
  ASSERT_TRUE(decode(buf, d));
  EXPECT_EQ(d["loc"].drifts, 2u);
  EXPECT_EQ(d["loc"].drift_seen, -3);
  EXPECT_EQ(d["loc"].drift_at, "2026-11-27T10:00:00.000Z");
  // A record written before the note existed (format 1: no drift fields).
  r["loc"].drifts = 0;
  r["loc"].drift_seen = 0;
  r["loc"].drift_at.clear();
  buf.clear();
  encode(r, buf);
  buf[0] = 1;
  buf.resize(buf.size() - 3); // three empty fields, one byte each
  ASSERT_TRUE(decode(buf, d));
  EXPECT_EQ(d["loc"].confirmed, 5);
  EXPECT_EQ(d["loc"].drifts, 0u);
}

TEST(records, available_never_negative) {
  warehouse_stock s{3, 5};
  EXPECT_EQ(s.available(), 0);
}
