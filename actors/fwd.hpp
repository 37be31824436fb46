#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "actors/amazon_messages.hpp"
#include "actors/messages.hpp"
#include "actors/shopify_messages.hpp"
#include "core/error.hpp"

// The one type-ID block of shelfsync: every atom and message type. Atom text
// is at most 10 characters (CAF 0.17 checks it). Each timer has its own atom.
CAF_BEGIN_TYPE_ID_BLOCK(shelfsync, caf::first_custom_type_id)

  // -- atoms: requests and notifications --------------------------------------

  CAF_ADD_ATOM(shelfsync, shelfsync::atom, ingest, "ingest")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, apply, "apply")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, replay, "replay")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, applied, "applied")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, refresh, "refresh")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, get, "get")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, idle, "idle")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, stop, "stop")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, sync, "sync")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, reload, "reload")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, pending, "pending")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, status, "status")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, count, "count")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, attach, "attach")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, resync, "resync")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, survey, "survey")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, push, "push")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, submit, "submit")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, poll, "poll")

  // -- atoms: timers (self-sends carrying a generation) -----------------------

  // A product's idle check.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, idle_check, "idle_check")
  // The directory's write-behind commit.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, commit, "commit")
  // A shop's resync tend.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, tend, "tend")
  // A Shopify shop's pacing or backoff wait.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, pace, "pace")
  // A Shopify shop's drift check.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, drift, "drift")
  // An Amazon shop's batch round.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, batch, "batch")
  // The retention actor's next step.
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, retain, "retain")

  // -- message types: the engine core -----------------------------------------

  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::stock_event))
  CAF_ADD_TYPE_ID(shelfsync, (std::vector<shelfsync::stock_event>))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::ingest_result))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::warehouse_stock))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::product_record))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::product_update))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::view_change))
  CAF_ADD_TYPE_ID(shelfsync, (std::vector<shelfsync::view_change>))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shop_status))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::config_ptr))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::batch_results_ptr))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::resync_page))

  // -- message types: Shopify -------------------------------------------------

  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_survey))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_survey_reply))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_push))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_push_reply))

  // -- message types: Amazon --------------------------------------------------

  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_failure))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_submission))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_verdict))
  CAF_ADD_TYPE_ID(shelfsync, (std::vector<shelfsync::amazon_verdict>))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_feed_check))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_feed_ptr))

CAF_END_TYPE_ID_BLOCK(shelfsync)
