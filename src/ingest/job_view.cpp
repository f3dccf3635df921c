#include "ingest/job_view.h"

namespace cortex::ingest {
namespace {
namespace json = boost::json;

json::value Time(int64_t t) {
  return t == 0 ? json::value(nullptr) : json::value(t);
}

json::value Field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? *v : json::value(nullptr);
}

}  // namespace

json::object ParseObject(const std::string& text) {
  if (text.empty()) return {};
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

json::object JobObject(const JobRecord& job) {
  const json::object state = ParseObject(job.state_json);
  const json::object request = ParseObject(job.request_json);
  json::object o;
  o["id"] = job.id;
  o["object"] = "ingest.job";
  o["status"] = job.status;
  o["created_at"] = job.created_at;
  o["started_at"] = Time(job.started_at);
  o["completed_at"] = Time(job.completed_at);
  o["lane"] = job.lane.empty() ? json::value(nullptr) : json::value(job.lane);
  o["progress"] = Field(state, "progress");
  o["input"] = Field(state, "input");
  o["plan"] = Field(state, "plan");
  const json::value* burst = state.if_contains("burst");
  o["burst"] = burst && burst->is_bool() ? burst->as_bool() : false;
  o["attempts"] = job.attempts;
  o["restarts"] = state.contains("restarts") ? state.at("restarts") : json::value(0);
  if (job.error_code.empty()) {
    o["error"] = nullptr;
  } else {
    o["error"] = json::object{{"code", job.error_code}, {"message", job.error_message}};
  }
  o["cancel_requested"] = job.cancel_requested;
  o["metadata"] = Field(request, "metadata");
  o["request"] = json::object{{"prompt", Field(request, "prompt")},
                              {"max_tokens", Field(request, "max_tokens")},
                              {"strategy", Field(request, "strategy")},
                              {"lane", Field(request, "lane")},
                              {"upload_name", Field(request, "upload_name")}};
  return o;
}

}  // namespace cortex::ingest
