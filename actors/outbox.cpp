#include "actors/outbox.hpp"

#include <algorithm>

namespace shelfsync {

outbox::outbox(std::string shop, std::shared_ptr<store> db, size_t capacity)
    : shop_(std::move(shop)), db_(std::move(db)), capacity_(capacity) {}

caf::error outbox::load() {
  // Segments are read until memory is full; of the rest only their counts
  // are read, so that a start costs the window, not the backlog.
  auto err = db_->for_each_outbox(shop_, 0, [&](view_change&& c, size_t index) {
    offer(std::move(c), index);
    return !spilling_;
  });
  if (err || !spilling_) return err;
  // offer() counted the change at spill_index_ already.
  return db_->for_each_segment_count(
      shop_, spill_segment_, [&](uint64_t id, uint64_t n) {
        arrived(id);
        if (id == spill_segment_)
          spilled_ += n > spill_index_ + 1 ? n - spill_index_ - 1 : 0;
        else
          spilled_ += n;
        return true;
      });
}

bool outbox::full(const std::string& product) const {
  return entries_.size() >= capacity_ && entries_.count(product) == 0;
}

outbox::entry& outbox::get(const std::string& product) {
  auto& e = entries_[product];
  if (!e.record) {
    e.record.emplace();
    auto found = db_->load_delivery(shop_, product, *e.record);
    if (!found)
      e.record->clear(); // unreadable: treat as never delivered, resend
  }
  return e;
}

void outbox::release(uint64_t segment) {
  if (segment == 0) return; // a resync's view, held in no segment
  auto i = segments_.find(segment);
  if (i == segments_.end() || --i->second > 0) return;
  segments_.erase(i);
  // Changes of it still on disk only are owed: it stays.
  if (spilling_ && segment >= spill_segment_) return;
  if (segment >= newest_segment_) {
    deferred_.push_back(segment);
    return;
  }
  dead_.insert(segment);
  erase_dead();
}

void outbox::erase_dead() {
  // In id order, stopping at the first failure (a full disk): a segment
  // that stays holds older views than the later ones, and were a later one
  // erased, a restart would reload an older view of a product whose newer
  // one was delivered, and send it again over the newer value.
  while (!dead_.empty()) {
    if (db_->erase_outbox_segment(shop_, *dead_.begin())) return;
    dead_.erase(dead_.begin());
  }
}

void outbox::arrived(uint64_t id) {
  if (id <= newest_segment_) return;
  newest_segment_ = id;
  for (auto old : deferred_)
    if (segments_.count(old) == 0) dead_.insert(old);
  deferred_.clear();
  erase_dead();
}

void outbox::add(view_change&& c) {
  ++segments_[c.segment];
  auto& e = entries_[c.product];
  if (!e.queued && !e.flying && e.latest.product.empty()) {
    e.latest = std::move(c);
  } else if (e.latest.seq <= c.seq) {
    release(e.latest.segment);
    e.latest = std::move(c);
  } else {
    release(c.segment);
    return;
  }
  if (!e.queued && !e.flying) {
    e.queued = true;
    queue_.push_back(e.latest.product);
  }
}

void outbox::offer(view_change&& c, size_t index) {
  arrived(c.segment);
  if (!spilling_ && full(c.product)) {
    spilling_ = true;
    spill_segment_ = c.segment;
    spill_index_ = index;
  }
  if (spilling_)
    ++spilled_;
  else
    add(std::move(c));
}

void outbox::enqueue(std::vector<view_change>&& changes) {
  for (auto& c : changes) {
    if (c.segment != arrival_segment_) {
      arrival_segment_ = c.segment;
      arrival_index_ = 0;
    }
    offer(std::move(c), arrival_index_++);
  }
  refill();
  // The directory hands changes on after each commit: the store may take
  // writes again.
  static_cast<void>(save_unsaved());
}

void outbox::refill() {
  // Read back in bulk, once half the room is free.
  if (!spilling_ || entries_.size() * 2 > capacity_) return;
  auto err = db_->for_each_outbox(
      shop_, spill_segment_, [&](view_change&& c, size_t index) {
        if (c.segment == spill_segment_ && index < spill_index_) return true;
        if (full(c.product)) return false;
        spill_segment_ = c.segment;
        spill_index_ = index + 1;
        --spilled_;
        add(std::move(c));
        return spilled_ > 0;
      });
  // A failed read is retried at the next refill; nothing was skipped.
  static_cast<void>(err);
  if (spilled_ == 0) spilling_ = false;
}

void outbox::enqueue_forced(std::vector<view_change>&& views) {
  for (auto& v : views) {
    auto& e = entries_[v.product];
    e.forced = true;
    if (e.queued || e.flying) continue;
    v.segment = 0;
    e.latest = std::move(v);
    e.queued = true;
    queue_.push_back(e.latest.product);
  }
}

bool outbox::owes_forced(const std::string& product) const {
  auto i = entries_.find(product);
  return i != entries_.end() && i->second.forced;
}

std::vector<outbox::item> outbox::take(size_t max) {
  refill();
  // A failure stays: the unsaved records decide from memory meanwhile.
  static_cast<void>(save_unsaved());
  std::vector<item> result;
  while (!queue_.empty() && result.size() < max) {
    auto product = std::move(queue_.front());
    queue_.pop_front();
    auto& e = get(product);
    e.queued = false;
    item it{product, e.latest.seq, {}, e.latest.desired};
    for (auto& [location, value] : e.latest.desired) {
      // A request still in flight here was never answered (the process
      // stopped): it may have set its value, so the channel holds neither
      // for sure, and the value goes out again.
      auto d = e.record->find(location);
      auto done = d != e.record->end() &&
                  ((d->second.state == delivery_state::confirmed &&
                    d->second.confirmed == value) ||
                   (d->second.state == delivery_state::failed &&
                    d->second.permanent && d->second.sent == value));
      if (!done || e.forced) it.send.emplace(location, value);
    }
    if (it.send.empty()) {
      delivered(product, e);
      continue;
    }
    e.flying = true;
    flights_[product] = e.latest.seq;
    result.push_back(std::move(it));
  }
  return result;
}

caf::error outbox::save(const std::string& product, entry& e) {
  if (auto err = db_->put_delivery(shop_, product, *e.record)) {
    // Not stored is not done: the record in memory stays the truth about
    // the channel, and is stored again later.
    if (!e.unsaved) {
      e.unsaved = true;
      unsaved_.insert(product);
    }
    return err;
  }
  if (e.unsaved) {
    e.unsaved = false;
    unsaved_.erase(product);
  }
  forget_if_idle(product, e);
  return caf::none;
}

void outbox::forget_if_idle(const std::string& product, entry& e) {
  // Owes nothing: only loaded for the record.
  if (!e.queued && !e.flying && e.latest.product.empty() && !e.unsaved)
    entries_.erase(product);
}

void outbox::delivered(const std::string& product, entry& e) {
  release(e.latest.segment);
  if (!e.unsaved) {
    entries_.erase(product);
    return;
  }
  e.latest = view_change{};
  e.forced = false;
}

caf::error outbox::save_unsaved() {
  erase_dead();
  while (!unsaved_.empty()) {
    auto product = *unsaved_.begin();
    auto i = entries_.find(product);
    if (i == entries_.end() || !i->second.unsaved) {
      unsaved_.erase(unsaved_.begin()); // cannot happen
      continue;
    }
    if (auto err = db_->put_delivery(shop_, product, *i->second.record))
      return err;
    unsaved_.erase(unsaved_.begin());
    i->second.unsaved = false;
    forget_if_idle(product, i->second);
  }
  return caf::none;
}

caf::error outbox::sent(const std::string& product, const std::string& location,
                        int64_t value, const std::string& request,
                        int64_t now_ms) {
  auto& e = get(product);
  auto& record = *e.record;
  auto old = record.find(location);
  std::optional<delivery> before;
  if (old != record.end()) before = old->second;
  auto& d = record[location];
  d.state = delivery_state::in_flight;
  d.sent = value;
  d.request = request;
  d.sent_ms = now_ms;
  if (auto err = db_->put_delivery(shop_, product, record)) {
    // The request does not leave: nothing changed.
    if (before)
      record[location] = *before;
    else
      record.erase(location);
    return err;
  }
  // The write carried whatever was unsaved in the record before.
  if (e.unsaved) {
    e.unsaved = false;
    unsaved_.erase(product);
  }
  forget_if_idle(product, e);
  return caf::none;
}

caf::error outbox::confirmed(const std::string& product,
                             const std::string& location, int64_t value) {
  auto& e = get(product);
  auto& d = (*e.record)[location];
  d.state = delivery_state::confirmed;
  d.has_confirmed = true;
  d.confirmed = value;
  d.error_code.clear();
  d.error_message.clear();
  d.error_at.clear();
  d.permanent = false;
  return save(product, e);
}

caf::error outbox::failed(const std::string& product,
                          const std::string& location, int64_t value,
                          const std::string& code, const std::string& message,
                          const std::string& at, bool permanent) {
  auto& e = get(product);
  auto& d = (*e.record)[location];
  d.state = delivery_state::failed;
  d.sent = value;
  d.error_code = code;
  d.error_message = message;
  d.error_at = at;
  d.permanent = permanent;
  return save(product, e);
}

caf::error outbox::drifted(const std::string& product,
                           const std::string& location, int64_t seen,
                           const std::string& at) {
  auto& e = get(product);
  auto& d = (*e.record)[location];
  ++d.drifts;
  d.drift_seen = seen;
  d.drift_at = at;
  return save(product, e);
}

bool outbox::pending(const std::string& product) const {
  auto i = entries_.find(product);
  return i != entries_.end() && (i->second.queued || i->second.flying);
}

bool outbox::finish(const std::string& product, bool retry) {
  auto flight = flights_.find(product);
  if (flight == flights_.end()) return false;
  auto flown_seq = flight->second;
  flights_.erase(flight);
  auto& e = get(product);
  e.flying = false;
  if (!retry) e.forced = false; // the resync's push is done
  if (!retry && e.latest.seq == flown_seq) {
    // Delivered (or refused for good) and nothing newer arrived meanwhile.
    delivered(product, e);
    refill();
    return true;
  }
  e.queued = true;
  if (retry)
    queue_.push_front(product);
  else
    queue_.push_back(product);
  return false;
}

void outbox::resume(view_change flown) {
  auto& e = get(flown.product);
  if (e.flying) return;
  flights_[flown.product] = flown.seq;
  e.flying = true;
  if (e.queued) {
    // Only before load() is this free; later it costs a scan of the queue.
    e.queued = false;
    queue_.erase(std::find(queue_.begin(), queue_.end(), flown.product));
  }
  if (e.latest.product.empty() || e.latest.seq < flown.seq)
    e.latest = std::move(flown);
}

const delivery_record& outbox::deliveries(const std::string& product) {
  return *get(product).record;
}

} // namespace shelfsync
