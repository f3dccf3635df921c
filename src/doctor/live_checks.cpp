#include "doctor/live_checks.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>

#include "net/http_client.h"

namespace cortex::doctor {
namespace {

namespace json = boost::json;

std::string ErrorMessage(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* e = v.as_object().if_contains("error"); e && e->is_object()) {
      if (const json::value* m = e->as_object().if_contains("message"); m && m->is_string())
        return std::string(m->as_string());
    }
  }
  return body.substr(0, 200);
}

}  // namespace

std::vector<CheckResult> CheckRunningCortex(const GatewayAddress& gw, RunningCortex& running) {
  std::vector<CheckResult> out;
  net::BlockingHttpRequest status_request;
  status_request.target = "/admin/status";
  status_request.timeout = std::chrono::milliseconds(3000);
  if (!gw.admin_key.empty()) status_request.headers["authorization"] = "Bearer " + gw.admin_key;
  auto status = net::BlockingHttp(gw.host, gw.port, status_request);
  const std::string where = fmt::format("{}:{}", gw.host, gw.port);
  if (!status.ok()) {
    out.push_back(Skip("lanes", "Lanes of the running cortex up",
                       fmt::format("cortex up is not running at {} ({}); start it and run the "
                                   "doctor again to check every lane with a request",
                                   where, status.status().message())));
    return out;
  }
  if (status->status != 200) {
    out.push_back(Fail("lanes", "Lanes of the running cortex up",
                       fmt::format("GET /admin/status at {} answered {}: {}", where, status->status,
                                   ErrorMessage(status->body)),
                       "200",
                       "give the admin key: `admin_key:` in the config or $CORTEX_ADMIN_KEY"));
    return out;
  }
  boost::system::error_code ec;
  json::value root = json::parse(status->body, ec);
  if (ec || !root.is_object()) {
    out.push_back(Fail("lanes", "Lanes of the running cortex up",
                       "/admin/status is not JSON: is this cortex?", "cortex's admin status",
                       "check what listens at " + where));
    return out;
  }
  running.running = true;
  if (const json::value* engines = root.as_object().if_contains("engines");
      engines && engines->is_array()) {
    for (const json::value& e : engines->as_array()) {
      if (!e.is_object()) continue;
      const json::value* name = e.as_object().if_contains("name");
      const json::value* pid = e.as_object().if_contains("pid");
      if (name && name->is_string() && pid && pid->is_int64())
        running.engine_pids[std::string(name->as_string())] = static_cast<int>(pid->as_int64());
    }
  }
  const json::value* lanes = root.as_object().if_contains("lanes");
  if (lanes == nullptr || !lanes->is_array()) return out;
  for (const json::value& l : lanes->as_array()) {
    if (!l.is_object()) continue;
    const std::string name(l.as_object().at("name").as_string());
    const std::string engine(l.as_object().at("engine").as_string());
    const std::string state(l.as_object().at("state").as_string());
    const std::string id = "lane." + name;
    const std::string title = "Lane " + name + " answers a request";
    if (state == "down") {
      out.push_back(Fail(id, title, "engine " + engine + " is down (failed)", "up",
                         "`cortex logs " + engine + "` says why; `cortex status` shows restarts"));
      continue;
    }
    if (state != "up" && state != "external") {
      out.push_back(Skip(id, title,
                         fmt::format("engine {} is {} (loaded on demand); no request sent so the "
                                     "doctor does not swap engines",
                                     engine, state)));
      continue;
    }
    net::BlockingHttpRequest chat;
    chat.method = "POST";
    chat.target = "/v1/chat/completions";
    chat.headers["content-type"] = "application/json";
    if (!gw.api_key.empty()) chat.headers["authorization"] = "Bearer " + gw.api_key;
    chat.body = json::serialize(json::object{
        {"model", name},
        {"max_tokens", 4},
        {"messages", json::array{json::object{{"role", "user"}, {"content", "Reply with: ok"}}}}});
    chat.timeout = std::chrono::milliseconds(60'000);
    const auto start = std::chrono::steady_clock::now();
    auto reply = net::BlockingHttp(gw.host, gw.port, chat);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!reply.ok()) {
      out.push_back(Fail(id, title, reply.status().message(), "200 with a completion",
                         "`cortex logs " + engine + "`"));
      continue;
    }
    if (reply->status != 200) {
      out.push_back(Fail(
          id, title,
          fmt::format("HTTP {} after {:.0f} ms: {}", reply->status, ms, ErrorMessage(reply->body)),
          "200 with a completion", "`cortex logs " + engine + "`"));
      continue;
    }
    std::string usage;
    json::value v = json::parse(reply->body, ec);
    if (!ec && v.is_object()) {
      if (const json::value* u = v.as_object().if_contains("usage"); u && u->is_object()) {
        const json::object& uo = u->as_object();
        if (uo.contains("prompt_tokens") && uo.contains("completion_tokens"))
          usage = fmt::format(", {} prompt + {} completion tokens",
                              json::serialize(uo.at("prompt_tokens")),
                              json::serialize(uo.at("completion_tokens")));
      }
    }
    out.push_back(Ok(id, title, fmt::format("200 in {:.0f} ms{} (engine {})", ms, usage, engine)));
  }
  return out;
}

}  // namespace cortex::doctor
