#include "actors/event_log.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "core/clock.hpp"

namespace shelfsync {

event_log_actor::behavior_type
event_log(event_log_actor::stateful_pointer<event_log_state> self,
          std::shared_ptr<store> db, directory_actor directory) {
  self->state.db = std::move(db);
  self->state.directory = std::move(directory);
  return {
      [=](atom::ingest,
          std::vector<stock_event>& batch) -> caf::result<ingest_result> {
        auto& st = self->state;
        auto now = wall_ms();
        for (auto& e : batch)
          e.received_ms = now;
        auto appended = st.db->append(std::move(batch));
        if (!appended) {
          // Once per outage: every batch meanwhile is answered 503 with it.
          if (!st.failing)
            log_line(log_level::error, "event_log",
                     "batches are refused until the store takes writes "
                     "again: " +
                         to_string(appended.error()));
          st.failing = true;
          return appended.error();
        }
        if (st.failing)
          log_line(log_level::info, "event_log",
                   "the store takes writes again; batches are accepted");
        st.failing = false;
        ingest_result result{appended->accepted.size(), appended->duplicates,
                             appended->last_seq};
        // Dispatch before answering, so that a read after the answer sees the
        // events applied (the directory and products keep mailbox order).
        if (!appended->accepted.empty())
          self->send(st.directory, atom::apply_v,
                     std::move(appended->accepted));
        return result;
      },
  };
}

} // namespace shelfsync
