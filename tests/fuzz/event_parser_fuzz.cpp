// libFuzzer target for the event parser (api/event_parser.*). Built twice:
// as fuzz_events_json (a JSON array body) and fuzz_events_ndjson (NDJSON).
//
// Beyond "does not crash", every outcome is checked against the contract:
// an accepted batch holds exactly the events of the body, each valid per the
// spec; a refused one says why and where (400: a byte offset inside the body;
// 422: the index of the event and the field, when the event is an object);
// and every message can be sent as JSON.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/event_parser.hpp"

using json = nlohmann::json;
using namespace shelfsync;

namespace {

#ifdef SHELFSYNC_FUZZ_NDJSON
constexpr auto format = batch_format::ndjson;
#else
constexpr auto format = batch_format::json_array;
#endif

constexpr int64_t max_magnitude = int64_t{1} << 53;

[[noreturn]] void broken(std::string_view body, const std::string& what) {
  std::cerr << "invariant broken: " << what << "\nbody: "
            << json(std::string{body})
                   .dump(-1, ' ', true, json::error_handler_t::replace)
            << '\n';
  std::abort();
}

void check(bool ok, std::string_view body, const std::string& what) {
  if (!ok) broken(body, what);
}

bool known(std::string_view wh) { return wh == "WH-A" || wh == "WH-B"; }

/// The body, parsed independently of the code under test: `docs` holds the
/// events (for NDJSON, those before the first malformed line), `ok` is false
/// when the body (or a line of it) is not well-formed.
struct reference {
  bool ok = true;
  std::vector<json> docs;
  bool array = true;
};

reference parse_reference(std::string_view body) {
  reference ref;
  if (format == batch_format::json_array) {
    auto doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded()) {
      ref.ok = false;
      return ref;
    }
    ref.array = doc.is_array();
    if (ref.array)
      for (auto& e : doc)
        ref.docs.push_back(e);
    return ref;
  }
  size_t pos = 0;
  while (pos <= body.size()) {
    auto end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    auto line = body.substr(pos, end - pos);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      auto doc = json::parse(line.begin(), line.end(), nullptr, false);
      if (doc.is_discarded()) {
        ref.ok = false;
        return ref;
      }
      ref.docs.push_back(std::move(doc));
    }
    pos = end + 1;
  }
  return ref;
}

bool sendable(const std::string& text) {
  try {
    (void)json(text).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

void check_event(std::string_view body, const stock_event& e, const json& doc,
                 size_t i) {
  auto where = "event " + std::to_string(i) + ": ";
  check(doc.is_object(), body, where + "accepted but not an object");
  // Lengths are in characters (code points), not bytes.
  auto characters = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s)
      n += (c & 0xC0) != 0x80 ? 1 : 0;
    return n;
  };
  check(!e.id.empty() && characters(e.id) <= 256, body,
        where + "bad id length");
  check(!e.product.empty() && characters(e.product) <= 128, body,
        where + "bad product length");
  for (auto* text : {&e.id, &e.product, &e.warehouse})
    for (size_t k = 0; k < text->size(); ++k) {
      auto c = static_cast<unsigned char>((*text)[k]);
      auto next =
          k + 1 < text->size() ? static_cast<unsigned char>((*text)[k + 1]) : 0;
      check(c >= 0x20 && c != 0x7f && !(c == 0xC2 && next <= 0x9F), body,
            where + "control character accepted");
    }
  check(known(e.warehouse), body, where + "unknown warehouse accepted");
  check(e.has(stock_event::has_on_hand) || e.has(stock_event::has_delta) ||
            e.has(stock_event::has_reserved),
        body, where + "no quantity");
  check(!(e.has(stock_event::has_on_hand) && e.has(stock_event::has_delta)),
        body, where + "both on_hand and delta");
  // What was accepted is what was sent, field by field.
  check(doc.at("id") == e.id && doc.at("product") == e.product &&
            doc.at("warehouse") == e.warehouse,
        body, where + "strings differ from the body");
  auto number = [&](const char* key, stock_event::field f, int64_t value) {
    auto it = doc.find(key);
    check((it != doc.end()) == e.has(f), body,
          where + key + " presence differs");
    if (it == doc.end()) return;
    // A whole number may be written as 1e3 or 1000.0 (it is then a double
    // in the reference document).
    check(it->is_number() && *it == value, body,
          where + key + " value differs");
    check(value >= -max_magnitude && value <= max_magnitude, body,
          where + key + " out of range");
  };
  number("on_hand", stock_event::has_on_hand, e.on_hand);
  number("delta", stock_event::has_delta, e.delta);
  number("reserved", stock_event::has_reserved, e.reserved);
  number("version", stock_event::has_version, e.version);
  static const char* fields[] = {"id",    "product",  "warehouse", "on_hand",
                                 "delta", "reserved", "version",   "at"};
  for (auto& [key, value] : doc.items()) {
    bool listed = false;
    for (auto* f : fields)
      listed = listed || key == f;
    check(listed, body, where + "unknown field accepted: " + key);
  }
  if (doc.contains("at")) {
    auto& at = e.at;
    check(doc["at"] == at && at.size() >= 20 && at[4] == '-' && at[7] == '-' &&
              (at[10] == 'T' || at[10] == 't') && at[13] == ':' &&
              at[16] == ':',
          body, where + "\"at\" accepted but not RFC 3339: " + at);
  }
}

void check_refusal(std::string_view body, const batch_error& err,
                   const reference& ref) {
  check(!err.message.empty(), body, "refusal without a message");
  check(sendable(err.message), body,
        "refusal message is not valid UTF-8, so no JSON answer can carry it");
  check(err.status == 400 || err.status == 422, body,
        "status " + std::to_string(err.status));
  if (err.status == 400) {
    check(!ref.ok, body, "400 for a well-formed body");
    check(err.offset.has_value() && *err.offset <= body.size(), body,
          "400 without a byte offset inside the body");
    if (format == batch_format::ndjson)
      check(err.index == ref.docs.size(), body,
            "400 in NDJSON not blamed on the first malformed line");
    return;
  }
  // NDJSON stops at the first problem: an invalid event before a malformed
  // line is what is reported.
  if (format == batch_format::json_array)
    check(ref.ok, body, "422 for a malformed body");
  if (!ref.array) {
    check(!err.index, body, "a non-array body blamed on one event");
    return;
  }
  check(err.index.has_value() && *err.index < ref.docs.size(), body,
        "422 without the index of an event of the batch");
  if (ref.docs[*err.index].is_object())
    check(err.field.has_value(), body, "422 on an object without a field");
}

/// The fast path for plain batches (api/plain_batch.hpp) must answer as
/// the full parser does: the same events or the same refusal.
void check_same_as_in_full(
    std::string_view body,
    const std::variant<std::vector<stock_event>, batch_error>& result) {
  auto full = parse_events_in_full(body, format, known);
  check(result.index() == full.index(), body,
        "the fast path and the full parser disagree on accepting");
  if (auto* a = std::get_if<batch_error>(&result)) {
    auto& b = std::get<batch_error>(full);
    check(a->status == b.status && a->message == b.message &&
              a->index == b.index && a->field == b.field &&
              a->offset == b.offset,
          body, "the fast path and the full parser refuse differently");
    return;
  }
  auto& x = std::get<std::vector<stock_event>>(result);
  auto& y = std::get<std::vector<stock_event>>(full);
  check(x.size() == y.size(), body, "the fast path read another count");
  for (size_t i = 0; i < x.size(); ++i)
    check(x[i].id == y[i].id && x[i].product == y[i].product &&
              x[i].warehouse == y[i].warehouse && x[i].fields == y[i].fields &&
              x[i].on_hand == y[i].on_hand && x[i].delta == y[i].delta &&
              x[i].reserved == y[i].reserved && x[i].version == y[i].version &&
              x[i].at == y[i].at,
          body, "the fast path read event " + std::to_string(i) + " otherwise");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  auto result = parse_events(body, format, known);
  check_same_as_in_full(body, result);
  auto ref = parse_reference(body);
  if (auto* err = std::get_if<batch_error>(&result)) {
    check_refusal(body, *err, ref);
    return 0;
  }
  auto& events = std::get<std::vector<stock_event>>(result);
  check(ref.ok && ref.array, body, "accepted a body that is not well-formed");
  check(events.size() == ref.docs.size(), body,
        "accepted " + std::to_string(events.size()) + " events of " +
            std::to_string(ref.docs.size()));
  for (size_t i = 0; i < events.size(); ++i)
    check_event(body, events[i], ref.docs[i], i);
  return 0;
}
