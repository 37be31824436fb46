#include "storage/records.hpp"

#include "storage/codec.hpp"

namespace shelfsync {

const char* to_string(delivery_state x) {
  switch (x) {
  case delivery_state::pending:
    return "pending";
  case delivery_state::in_flight:
    return "in_flight";
  case delivery_state::confirmed:
    return "confirmed";
  case delivery_state::failed:
    return "failed";
  }
  return "pending";
}

namespace {

void put_view(codec::writer& w, const shop_view& v) {
  w.u64(v.size());
  for (auto& [location, quantity] : v) {
    w.str(location);
    w.i64(quantity);
  }
}

void get_view(codec::reader& r, shop_view& v) {
  v.clear();
  for (auto n = r.u64(); r.ok() && n > 0; --n) {
    auto location = r.str();
    v[std::move(location)] = r.i64();
  }
}

} // namespace

// Every record starts with a format version byte so that layouts can evolve.
constexpr uint64_t format_v1 = 1;

void encode(const stock_event& x, std::string& out) {
  codec::writer w{out};
  w.u64(format_v1);
  w.u64(x.seq);
  w.str(x.id);
  w.str(x.product);
  w.str(x.warehouse);
  w.u64(x.fields);
  w.i64(x.on_hand);
  w.i64(x.delta);
  w.i64(x.reserved);
  w.i64(x.version);
  w.str(x.at);
  w.i64(x.received_ms);
}

bool decode(std::string_view in, stock_event& x) {
  codec::reader r{in};
  if (r.u64() != format_v1) return false;
  x.seq = r.u64();
  x.id = r.str();
  x.product = r.str();
  x.warehouse = r.str();
  x.fields = static_cast<uint8_t>(r.u64());
  x.on_hand = r.i64();
  x.delta = r.i64();
  x.reserved = r.i64();
  x.version = r.i64();
  x.at = r.str();
  x.received_ms = r.i64();
  return r.ok() && r.done();
}

void encode(const product_record& x, std::string& out) {
  codec::writer w{out};
  w.u64(format_v1);
  w.u64(x.applied_seq);
  w.u64(x.stock.size());
  for (auto& [warehouse, s] : x.stock) {
    w.str(warehouse);
    w.i64(s.on_hand);
    w.i64(s.reserved);
    w.i64(s.version);
    w.u64(s.versioned ? 1 : 0);
    w.u64(s.last_seq);
  }
  w.u64(x.views.size());
  for (auto& [shop, view] : x.views) {
    w.str(shop);
    put_view(w, view);
  }
  w.u64(x.recent.size());
  for (auto seq : x.recent)
    w.u64(seq);
}

bool decode(std::string_view in, product_record& x) {
  codec::reader r{in};
  if (r.u64() != format_v1) return false;
  x = product_record{};
  x.applied_seq = r.u64();
  for (auto n = r.u64(); r.ok() && n > 0; --n) {
    auto warehouse = r.str();
    auto& s = x.stock[std::move(warehouse)];
    s.on_hand = r.i64();
    s.reserved = r.i64();
    s.version = r.i64();
    s.versioned = r.u64() != 0;
    s.last_seq = r.u64();
  }
  for (auto n = r.u64(); r.ok() && n > 0; --n) {
    auto shop = r.str();
    get_view(r, x.views[std::move(shop)]);
  }
  for (auto n = r.u64(); r.ok() && n > 0; --n)
    x.recent.push_back(r.u64());
  return r.ok() && r.done();
}

void segment_builder::add(const view_change& x) {
  codec::writer w{body_};
  w.str(x.product);
  w.u64(x.seq);
  put_view(w, x.desired);
  ++count_;
}

std::string segment_builder::header() const {
  std::string out;
  codec::writer w{out};
  w.u64(format_v1);
  w.u64(count_);
  return out;
}

std::string segment_builder::finish() const { return header() + body_; }

void encode(const std::vector<view_change>& x, std::string& out) {
  segment_builder b;
  for (auto& c : x)
    b.add(c);
  out += b.finish();
}

bool decode(std::string_view in, std::vector<view_change>& x) {
  codec::reader r{in};
  if (r.u64() != format_v1) return false;
  x.clear();
  for (auto n = r.u64(); r.ok() && n > 0; --n) {
    view_change c;
    c.product = r.str();
    c.seq = r.u64();
    get_view(r, c.desired);
    x.push_back(std::move(c));
  }
  return r.ok() && r.done();
}

bool decode_segment_size(std::string_view in, uint64_t& n) {
  codec::reader r{in};
  if (r.u64() != format_v1) return false;
  n = r.u64();
  return r.ok();
}

// Delivery records gained the drift check's note in format 2.
constexpr uint64_t format_v2 = 2;

void encode(const delivery_record& x, std::string& out) {
  codec::writer w{out};
  w.u64(format_v2);
  w.u64(x.size());
  for (auto& [location, d] : x) {
    w.str(location);
    w.u64(static_cast<uint64_t>(d.state));
    w.u64(d.has_confirmed ? 1 : 0);
    w.i64(d.confirmed);
    w.i64(d.sent);
    w.str(d.request);
    w.i64(d.sent_ms);
    w.str(d.error_code);
    w.u64(d.permanent ? 1 : 0);
    w.str(d.error_message);
    w.str(d.error_at);
    w.u64(d.drifts);
    w.i64(d.drift_seen);
    w.str(d.drift_at);
  }
}

bool decode(std::string_view in, delivery_record& x) {
  codec::reader r{in};
  auto format = r.u64();
  if (format != format_v1 && format != format_v2) return false;
  x.clear();
  for (auto n = r.u64(); r.ok() && n > 0; --n) {
    auto location = r.str();
    auto& d = x[std::move(location)];
    auto state = r.u64();
    if (state > static_cast<uint64_t>(delivery_state::failed)) return false;
    d.state = static_cast<delivery_state>(state);
    d.has_confirmed = r.u64() != 0;
    d.confirmed = r.i64();
    d.sent = r.i64();
    d.request = r.str();
    d.sent_ms = r.i64();
    d.error_code = r.str();
    d.permanent = r.u64() != 0;
    d.error_message = r.str();
    d.error_at = r.str();
    if (format == format_v2) {
      d.drifts = r.u64();
      d.drift_seen = r.i64();
      d.drift_at = r.str();
    }
  }
  return r.ok() && r.done();
}

} // namespace shelfsync
