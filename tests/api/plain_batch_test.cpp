// The one-pass reader of plain batches (api/plain_batch.hpp) against the
// full parser: the same events or the same refusal, for plain bodies and
// for every variant of them a client could send.
#include "api/plain_batch.hpp"

#include <random>

#include <gtest/gtest.h>

using namespace shelfsync;

namespace {

bool known(std::string_view wh) { return wh == "WH-A" || wh == "WH-B"; }

using outcome = std::variant<std::vector<stock_event>, batch_error>;

/// Empty when `a` and `b` say the same; else what differs.
std::string difference(const outcome& a, const outcome& b) {
  if (a.index() != b.index()) return "one accepts, the other refuses";
  if (auto* x = std::get_if<batch_error>(&a)) {
    auto& y = std::get<batch_error>(b);
    if (x->status != y.status || x->message != y.message ||
        x->index != y.index || x->field != y.field || x->offset != y.offset)
      return "refused otherwise: \"" + x->message + "\" against \"" +
             y.message + "\"";
    return "";
  }
  auto& x = std::get<std::vector<stock_event>>(a);
  auto& y = std::get<std::vector<stock_event>>(b);
  if (x.size() != y.size()) return "another number of events";
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i].id != y[i].id || x[i].product != y[i].product ||
        x[i].warehouse != y[i].warehouse || x[i].fields != y[i].fields ||
        x[i].on_hand != y[i].on_hand || x[i].delta != y[i].delta ||
        x[i].reserved != y[i].reserved || x[i].version != y[i].version ||
        x[i].at != y[i].at)
      return "event " + std::to_string(i) + " read otherwise";
  return "";
}

void expect_same(const std::string& body) {
  auto fast = parse_events(body, batch_format::json_array, known);
  auto full = parse_events_in_full(body, batch_format::json_array, known);
  auto diff = difference(fast, full);
  EXPECT_TRUE(diff.empty()) << diff << "\nbody: " << body;
}

const char* plain_body =
    R"([{"id":"wms-1","product":"SKU-1","warehouse":"WH-A","on_hand":12},)"
    "\n"
    R"( {"warehouse": "WH-B", "delta": -3, "product": "SKU-2", "id": "wms-2"},)"
    R"({"id":"wms-3","product":"SKU-1","warehouse":"WH-A","reserved":2,)"
    R"("version":17,"at":"2026-11-27T10:00:00.5+01:00"}] )";

} // namespace

TEST(plain_batch, reads_plain_batches_as_the_full_parser_does) {
  auto plain = read_plain_batch(plain_body, known);
  ASSERT_TRUE(plain) << "a plain body takes the fast path";
  ASSERT_EQ(plain->size(), 3u);
  EXPECT_EQ((*plain)[1].delta, -3);
  EXPECT_EQ((*plain)[1].warehouse, "WH-B");
  EXPECT_EQ((*plain)[2].version, 17);
  EXPECT_EQ((*plain)[2].at, "2026-11-27T10:00:00.5+01:00");
  expect_same(plain_body);
  EXPECT_TRUE(read_plain_batch(" [ ] ", known));
  expect_same(" [ ] ");
  // The largest integers it reads.
  expect_same(R"([{"id":"a","product":"p","warehouse":"WH-A",)"
              R"("on_hand":9007199254740992,"version":-9007199254740992}])");
}

TEST(plain_batch, leaves_everything_else_to_the_full_parser) {
  // Each is either not plain (escapes, non-ASCII, numbers with fraction or
  // exponent, out of range) or breaks a rule: the fast path gives up and the
  // full parser answers (same events, or its precise refusal).
  const std::string e = R"("product":"p","warehouse":"WH-A")";
  for (const std::string& body : std::vector<std::string>{
           R"([{"id":"a\"b",)" + e + R"(,"delta":1}])",
           R"([{"id":"caf\u00e9",)" + e + R"(,"delta":1}])",
           "[{\"id\":\"caf\xc3\xa9\"," + e + ",\"delta\":1}]",
           "[{\"id\":\"a\x7f\"," + e + ",\"delta\":1}]",
           "[{\"id\":\"a\tb\"," + e + ",\"delta\":1}]",
           R"([{"id":"a",)" + e + R"(,"delta":1.0}])",
           R"([{"id":"a",)" + e + R"(,"delta":1e3}])",
           R"([{"id":"a",)" + e + R"(,"delta":1.5}])",
           R"([{"id":"a",)" + e + R"(,"delta":-0}])",
           R"([{"id":"a",)" + e + R"(,"delta":01}])",
           R"([{"id":"a",)" + e + R"(,"delta":9007199254740993}])",
           R"([{"id":"a",)" + e + R"(,"delta":-99999999999999999999}])",
           R"([{"id":"a",)" + e + R"(,"delta":"1"}])",
           R"([{"id":"a",)" + e + R"(,"delta":null}])",
           R"([{"id":"a",)" + e + R"(,"delta":1,"delta":2}])",
           R"([{"id":"a",)" + e + R"(,"delta":1,"colour":"red"}])",
           R"([{"id":"a",)" + e + R"(,"on_hand":1,"delta":2}])",
           R"([{"id":"a",)" + e + R"(,"reserved":-1}])",
           R"([{"id":"a",)" + e + R"(}])",
           R"([{"id":"a",)" + e + R"(,"delta":1,"at":"yesterday"}])",
           R"([{"id":"",)" + e + R"(,"delta":1}])",
           R"([{"id":"a","product":"p","warehouse":"WH-Z","delta":1}])",
           R"([{"id":"a","product":"p","delta":1}])",
           R"([{"id":"a",)" + e + R"(,"delta":1},])",
           R"([{"id":"a",)" + e + R"(,"delta":1}] x)",
           R"([{"id":"a",)" + e + R"(,"delta":1})",
           R"([{}])",
           R"([1])",
           R"({"id":"a"})",
           "\xef\xbb\xbf[]",
           "",
       }) {
    SCOPED_TRACE(body);
    expect_same(body);
  }
}

TEST(plain_batch, every_cut_and_change_of_a_plain_body_is_answered_alike) {
  // Deleting, doubling or replacing any one byte of a plain body gives a
  // body the fast path reads identically or leaves to the full parser.
  std::string body = plain_body;
  std::mt19937 rng{7};
  const std::string swaps = "\"\\{}[],:0-9e.x \n\xc3";
  for (size_t i = 0; i < body.size(); ++i) {
    expect_same(body.substr(0, i) + body.substr(i + 1));
    expect_same(body.substr(0, i) + body[i] + body.substr(i));
    for (int k = 0; k < 3; ++k) {
      auto changed = body;
      changed[i] = swaps[rng() % swaps.size()];
      expect_same(changed);
    }
  }
}
