// GET /admin/events: what the /ui dashboard and `cortex top` show, as server-sent events.
//
// Whole snapshots rather than diffs, so a client that reconnects or misses one is never out of
// step: `event: snapshot` at once, `event: change` within kChangeSettle of anything the
// supervisor reports (an engine's state, the ledger, the burst), `event: tick` every kTick
// otherwise, so measured memory and the lanes' counts stay fresh. Every stream shares one
// serialized snapshot per kSnapshotReuse, so a hundred open dashboards cost one snapshot a tick,
// not a hundred.
#include <fmt/format.h>

#include <chrono>

#include "gateway/gateway_impl.h"
#include "gateway/ingest_port.h"
#include "gateway/residency_port.h"

namespace cortex::gateway {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr auto kTick = 1s;
constexpr auto kChangeSettle = 50ms;  // a swap is several changes: one snapshot for them all
constexpr auto kSnapshotReuse = 200ms;
constexpr size_t kJobsShown = 10;

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

json::object Gateway::Impl::LaneStats(size_t i) const {
  const LaneEntry& l = table.lanes()[i];
  const int lane = static_cast<int>(i);
  json::object o;
  o["gateway_state"] = LaneState(lane);
  o["in_flight"] = admission.in_flight(lane);
  o["queue_depth"] = admission.queued(lane);
  o["requests"] = metrics.TotalsWhere("cortex_requests_total", "lane", l.name).value;
  o["errors"] = metrics.TotalsWhere("cortex_request_errors_total", "lane", l.name).value;
  const MetricsRegistry::Totals ttft =
      metrics.TotalsWhere("cortex_time_to_first_token_seconds", "lane", l.name);
  o["ttft_count"] = ttft.count;
  o["ttft_sum_s"] = ttft.sum;
  o["completion_tokens"] =
      metrics.Value("cortex_tokens_total", {{"lane", l.name}, {"direction", "completion"}});
  const double tps = metrics.Value("cortex_lane_tokens_per_second", {{"lane", l.name}});
  o["tokens_per_second"] = tps > 0 ? json::value(tps) : json::value(nullptr);
  o["tokens_per_second_target"] =
      l.tokens_per_s_target ? json::value(l.tokens_per_s_target->min) : json::value(nullptr);
  return o;
}

const std::string& Gateway::Impl::SnapshotText() {
  const auto now = std::chrono::steady_clock::now();
  if (snapshot.seq == change_seq && now - snapshot.built < kSnapshotReuse) return snapshot.text;
  json::object s = residency != nullptr ? residency->Snapshot() : json::object{};
  if (!s.contains("engines")) s["engines"] = json::array{};
  // The lanes as the gateway sees them (its own admission counts, requests, errors, TTFT,
  // tokens/s), with the supervisor's state where it owns the engine: it knows "paused" and
  // "stopped" where the gateway sees only "down".
  std::map<std::string, json::object> supervised;
  if (const json::value* lanes = s.if_contains("lanes"); lanes != nullptr && lanes->is_array()) {
    for (const json::value& v : lanes->as_array()) {
      if (v.is_object() && v.as_object().contains("name") && v.at("name").is_string()) {
        supervised[std::string(v.at("name").as_string())] = v.as_object();
      }
    }
  }
  json::array lanes;
  for (size_t i = 0; i < table.lanes().size(); ++i) {
    const LaneEntry& l = table.lanes()[i];
    json::object o;
    if (auto it = supervised.find(l.name); it != supervised.end()) {
      o = std::move(it->second);
      if (const json::value* q = o.if_contains("queue_depth")) o["waiting_for_engine"] = *q;
    } else {
      o["name"] = l.name;
      o["engine"] = table.engines()[static_cast<size_t>(l.engine)].name;
      o["state"] = LaneState(static_cast<int>(i));
    }
    for (auto& [k, v] : LaneStats(i))
      o[k] = v;
    lanes.push_back(std::move(o));
  }
  s["lanes"] = std::move(lanes);
  s["ingest"] =
      json::object{{"enabled", ingest != nullptr},
                   {"jobs", ingest != nullptr ? ingest->RecentJobs(kJobsShown) : json::array{}}};
  s["seq"] = change_seq;
  s["time_ms"] = UnixMillis();
  snapshot.seq = change_seq;
  snapshot.built = now;
  snapshot.text = json::serialize(s);
  return snapshot.text;
}

void Gateway::Impl::SnapshotChanged() {
  ++change_seq;
  for (asio::steady_timer* t : event_waiters)
    t->cancel();
}

asio::awaitable<void> Gateway::Impl::StreamEvents(net::Responder& res) {
  auto self = shared_from_this();
  http::response_header<> header;
  header.set(http::field::content_type, "text/event-stream");
  header.set(http::field::cache_control, "no-store");
  header.set("X-Accel-Buffering", "no");  // a proxy in front must not hold the stream back
  if (!co_await res.StartChunked(std::move(header), http::status::ok)) co_return;
  asio::steady_timer timer(io);
  uint64_t sent_seq = change_seq;
  std::string_view kind = "snapshot";
  std::string chunk;
  for (;;) {
    chunk = kind == "snapshot" ? "retry: 2000\n" : "";
    chunk += fmt::format("event: {}\ndata: ", kind);
    chunk += SnapshotText();
    chunk += "\n\n";
    if (!co_await res.WriteChunk(chunk)) co_return;
    if (stopped) break;
    timer.expires_after(kTick);
    event_waiters.insert(&timer);
    const bool stays = co_await res.Wait(timer);
    event_waiters.erase(&timer);
    if (!stays) co_return;
    if (stopped) break;
    if (change_seq != sent_seq) {
      if (!co_await res.Sleep(kChangeSettle)) co_return;
      sent_seq = change_seq;
      kind = "change";
    } else {
      kind = "tick";
    }
  }
  co_await res.FinishChunked();
}

}  // namespace cortex::gateway
