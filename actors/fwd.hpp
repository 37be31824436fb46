#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "actors/amazon_messages.hpp"
#include "actors/messages.hpp"
#include "actors/shopify_messages.hpp"
#include "core/error.hpp"

// The one type-ID block of shelfsync: every atom and message type.
CAF_BEGIN_TYPE_ID_BLOCK(shelfsync, caf::first_custom_type_id)

  CAF_ADD_ATOM(shelfsync, shelfsync::atom, ingest, "ingest")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, apply, "apply")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, replay, "replay")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, applied, "applied")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, refresh, "refresh")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, get, "get")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, tick, "tick")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, idle, "idle")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, stop, "stop")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, sync, "sync")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, reload, "reload")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, pending, "pending")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, status, "status")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, count, "count")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, attach, "attach")

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
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, survey, "survey")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, push, "push")
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_survey))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_survey_reply))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_push))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::shopify_push_reply))
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, batch, "batch")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, submit, "submit")
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, poll, "poll")
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_failure))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_submission))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_verdict))
  CAF_ADD_TYPE_ID(shelfsync, (std::vector<shelfsync::amazon_verdict>))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_feed_check))
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::amazon_feed_ptr))
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, resync, "resync")
  CAF_ADD_TYPE_ID(shelfsync, (shelfsync::resync_page))
  CAF_ADD_ATOM(shelfsync, shelfsync::atom, drift, "drift")

CAF_END_TYPE_ID_BLOCK(shelfsync)
