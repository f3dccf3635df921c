// The job object clients see (GET /v1/ingest/{id}), shaped like OpenAI's Batch object:
//
//   {"id":"ingest_...","object":"ingest.job","status":"prefilling",
//    "created_at":..,"started_at":..,"completed_at":null,"lane":"super-reader",
//    "progress":{"stage":"prefilling","done":120000,"total":480000,"unit":"tokens",
//                "rate":812.5,"eta_s":443},
//    "input":{"bytes":..,"entries":..,"files_packed":..,"files_skipped":{"ignored":12,...},
//             "tokens":..,"tokens_exact":true},
//    "plan":{"strategy":"whole","parts":1,"context":..,"estimate_s":..},
//    "burst":true,"error":null,"metadata":{...}}
//
// The record keeps the runner's working state as JSON (state_json); this is its public view.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "ingest/job_store.h"

namespace cortex::ingest {

boost::json::object JobObject(const JobRecord& job);
// The record's state_json / request_json parsed (an empty object when absent or broken).
boost::json::object ParseObject(const std::string& text);

}  // namespace cortex::ingest
