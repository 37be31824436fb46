#include "cluster/shop_state.hpp"

#include <memory>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cluster/nats_status.hpp"

namespace shelfsync::cluster {

namespace {

using json = nlohmann::json;

std::string shop_prefix(const std::string& shop) {
  return "shelfsync.state.shop." + hex_text(shop);
}

/// The text whose lower-case hex is `hex`; nothing when it is not hex.
std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]);
    int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

} // namespace

std::string shop_checkpoint_subject(const std::string& shop) {
  return shop_prefix(shop) + ".checkpoint";
}

std::string shop_sent_subject(const std::string& shop,
                              const std::string& code) {
  return shop_prefix(shop) + ".sent." + hex_text(code);
}

std::string shop_feeds_subject(const std::string& shop) {
  return shop_prefix(shop) + ".feeds";
}

std::string shop_resync_subject(const std::string& shop) {
  return shop_prefix(shop) + ".resync";
}

std::string encode(const shop_resync& r) {
  return json{{"requested", r.requested},
              {"requested_ms", r.requested_ms},
              {"running", r.running},
              {"node", r.node},
              {"started_ms", r.started_ms},
              {"done", r.done},
              {"finished_ms", r.finished_ms},
              {"scanned", r.scanned},
              {"pushed", r.pushed}}
      .dump();
}

outcome<shop_resync> decode_resync(const std::string& data) {
  auto body = json::parse(data, nullptr, false);
  shop_resync r;
  try {
    r.requested = body.at("requested").get<uint64_t>();
    r.requested_ms = body.at("requested_ms").get<int64_t>();
    r.running = body.at("running").get<uint64_t>();
    r.node = body.at("node").get<std::string>();
    r.started_ms = body.at("started_ms").get<int64_t>();
    r.done = body.at("done").get<uint64_t>();
    r.finished_ms = body.at("finished_ms").get<int64_t>();
    r.scanned = body.at("scanned").get<uint64_t>();
    r.pushed = body.at("pushed").get<uint64_t>();
  } catch (const json::exception& e) {
    return error{errc::invalid,
                 std::string{"a resync record is malformed: "} + e.what()};
  }
  return r;
}

outcome<versioned<shop_resync>> load_resync(jetstream& js,
                                            const std::string& shop) {
  auto subject = shop_resync_subject(shop);
  auto last = last_state(js, subject);
  if (!last) return last.err();
  if (!*last) return versioned<shop_resync>{};
  auto r = decode_resync((*last)->data);
  if (!r) return error{r.err().code, subject + ": " + r.err().message};
  return versioned<shop_resync>{std::move(*r), (*last)->sequence};
}

outcome<uint64_t> store_resync(jetstream& js, const std::string& shop,
                               const shop_resync& r, uint64_t expected_seq) {
  return cas_write(js, shop_resync_subject(shop), encode(r), expected_seq);
}

outcome<std::map<std::string, delivery_record>>
scan_deliveries(jetstream& js, const std::string& shop) {
  auto prefix = shop_prefix(shop) + ".sent.";
  auto filter = prefix + ">";
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = state_stream.c_str();
  so.Config.DeliverPolicy = js_DeliverLastPerSubject;
  natsSubscription* raw_sub = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_SubscribeSync(&raw_sub, js.context(), filter.c_str(),
                                  nullptr, &so, &jerr);
  if (s != NATS_OK)
    return detail::from_nats("cannot read the delivery records", s, jerr);
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> sub{
      raw_sub, [](natsSubscription* x) {
        natsSubscription_Unsubscribe(x);
        natsSubscription_Destroy(x);
      }};
  // How many there are: delivered so far plus pending (none: no wait).
  jsConsumerInfo* ci = nullptr;
  s = natsSubscription_GetConsumerInfo(&ci, sub.get(), nullptr, &jerr);
  if (s != NATS_OK)
    return detail::from_nats("cannot read the delivery records", s, jerr);
  uint64_t total = ci->Delivered.Consumer + ci->NumPending;
  jsConsumerInfo_Destroy(ci);
  std::map<std::string, delivery_record> out;
  for (uint64_t n = 0; n < total; ++n) {
    natsMsg* raw = nullptr;
    s = natsSubscription_NextMsg(&raw, sub.get(), 5000);
    if (s != NATS_OK)
      return detail::from_nats("reading the delivery records", s);
    std::unique_ptr<natsMsg, void (*)(natsMsg*)> msg{raw, natsMsg_Destroy};
    std::string_view subject = natsMsg_GetSubject(msg.get());
    auto code = subject.size() > prefix.size()
                    ? from_hex(subject.substr(prefix.size()))
                    : std::nullopt;
    auto rec = decode_delivery(
        std::string(natsMsg_GetData(msg.get()),
                    static_cast<size_t>(natsMsg_GetDataLength(msg.get()))));
    if (!code || !rec)
      return error{errc::invalid, std::string{subject} + " is malformed"};
    out[*code] = std::move(*rec);
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg.get()) == NATS_OK) {
      bool last = meta->NumPending == 0;
      jsMsgMetaData_Destroy(meta);
      if (last) break;
    }
  }
  return out;
}

std::string encode(const delivery_record& r) {
  json locations = json::object();
  for (auto& [where, d] : r.locations) {
    json x = json::object();
    if (d.confirmed) {
      x["confirmed"] = *d.confirmed;
      x["confirmed_seq"] = d.confirmed_seq;
    }
    if (d.pending) {
      x["pending"] = *d.pending;
      x["pending_seq"] = d.pending_seq;
      x["key"] = d.key;
    }
    if (!d.failed.empty()) {
      x["failed"] = d.failed;
      x["failed_seq"] = d.failed_seq;
    }
    locations[where] = std::move(x);
  }
  return json{{"locations", std::move(locations)}}.dump();
}

outcome<delivery_record> decode_delivery(const std::string& data) {
  auto body = json::parse(data, nullptr, false);
  delivery_record out;
  try {
    for (auto& [where, x] : body.at("locations").items()) {
      auto& d = out.locations[where];
      if (x.contains("confirmed")) {
        d.confirmed = x["confirmed"].get<int64_t>();
        d.confirmed_seq = x.at("confirmed_seq").get<uint64_t>();
      }
      if (x.contains("pending")) {
        d.pending = x["pending"].get<int64_t>();
        d.pending_seq = x.at("pending_seq").get<uint64_t>();
        d.key = x.at("key").get<std::string>();
      }
      if (x.contains("failed")) {
        d.failed = x["failed"].get<std::string>();
        d.failed_seq = x.at("failed_seq").get<uint64_t>();
      }
    }
  } catch (const json::exception& e) {
    return error{errc::invalid,
                 std::string{"a delivery record is malformed: "} + e.what()};
  }
  return out;
}

outcome<versioned<delivery_record>>
load_delivery(jetstream& js, const std::string& shop, const std::string& code) {
  auto subject = shop_sent_subject(shop, code);
  auto last = last_state(js, subject);
  if (!last) return last.err();
  if (!*last) return versioned<delivery_record>{};
  auto r = decode_delivery((*last)->data);
  if (!r) return error{r.err().code, subject + ": " + r.err().message};
  return versioned<delivery_record>{std::move(*r), (*last)->sequence};
}

outcome<uint64_t> store_delivery(jetstream& js, const std::string& shop,
                                 const std::string& code,
                                 const delivery_record& r,
                                 uint64_t expected_seq) {
  return cas_write(js, shop_sent_subject(shop, code), encode(r), expected_seq);
}

std::string encode(const feed_memo& m) {
  json feeds = json::array();
  for (auto& f : m.feeds) {
    json skus = json::array();
    for (auto& s : f.skus)
      skus.push_back(json::array({s.sku, s.quantity, s.seq}));
    feeds.push_back(json{{"feed_id", f.feed_id},
                         {"creating", f.creating},
                         {"created_ms", f.created_ms},
                         {"skus", std::move(skus)}});
  }
  return json{{"feeds", std::move(feeds)},
              {"create_times_ms", m.create_times_ms}}
      .dump();
}

outcome<feed_memo> decode_feed_memo(const std::string& data) {
  auto body = json::parse(data, nullptr, false);
  feed_memo out;
  try {
    for (auto& f : body.at("feeds")) {
      feed_memo_entry e;
      e.feed_id = f.at("feed_id").get<std::string>();
      e.creating = f.at("creating").get<bool>();
      e.created_ms = f.at("created_ms").get<int64_t>();
      for (auto& s : f.at("skus"))
        e.skus.push_back(feed_memo_sku{s.at(0).get<std::string>(),
                                       s.at(1).get<int64_t>(),
                                       s.at(2).get<uint64_t>()});
      out.feeds.push_back(std::move(e));
    }
    out.create_times_ms =
        body.at("create_times_ms").get<std::vector<int64_t>>();
  } catch (const json::exception& e) {
    return error{errc::invalid,
                 std::string{"a feed memo is malformed: "} + e.what()};
  }
  return out;
}

outcome<versioned<feed_memo>> load_feed_memo(jetstream& js,
                                             const std::string& shop) {
  auto subject = shop_feeds_subject(shop);
  auto last = last_state(js, subject);
  if (!last) return last.err();
  if (!*last) return versioned<feed_memo>{};
  auto m = decode_feed_memo((*last)->data);
  if (!m) return error{m.err().code, subject + ": " + m.err().message};
  return versioned<feed_memo>{std::move(*m), (*last)->sequence};
}

outcome<uint64_t> store_feed_memo(jetstream& js, const std::string& shop,
                                  const feed_memo& m, uint64_t expected_seq) {
  return cas_write(js, shop_feeds_subject(shop), encode(m), expected_seq);
}

outcome<versioned<shop_checkpoint>>
load_shop_checkpoint(jetstream& js, const std::string& shop) {
  auto subject = shop_checkpoint_subject(shop);
  auto last = last_state(js, subject);
  if (!last) return last.err();
  if (!*last) return versioned<shop_checkpoint>{};
  auto body = json::parse((*last)->data, nullptr, false);
  shop_checkpoint cp;
  try {
    cp.state_seq = body.at("state_seq").get<uint64_t>();
    cp.settings = body.at("settings").get<std::string>();
  } catch (const json::exception& e) {
    return error{errc::invalid, subject + " is malformed: " + e.what()};
  }
  return versioned<shop_checkpoint>{std::move(cp), (*last)->sequence};
}

outcome<uint64_t> store_shop_checkpoint(jetstream& js, const std::string& shop,
                                        const shop_checkpoint& cp,
                                        uint64_t expected_seq) {
  return cas_write(
      js, shop_checkpoint_subject(shop),
      json{{"state_seq", cp.state_seq}, {"settings", cp.settings}}.dump(),
      expected_seq);
}

} // namespace shelfsync::cluster
