#include "cli/admin_commands.h"
#include "cli/config_path.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/status_table.h"
#include "config/config_loader.h"
#include "net/http_client.h"

namespace cortex::cli {
namespace {

namespace json = boost::json;

using Endpoint = GatewayEndpoint;

StatusOr<Endpoint> SplitHostPort(std::string_view text, std::string_view what) {
  if (text.rfind("http://", 0) == 0) text.remove_prefix(7);
  while (!text.empty() && text.back() == '/')
    text.remove_suffix(1);
  const size_t colon = text.rfind(':');
  unsigned port = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(text.data() + colon + 1, text.data() + text.size(), port).ec != std::errc() ||
      port == 0 || port > 65535) {
    return Status::InvalidArgument(fmt::format("{}: expected HOST:PORT, got \"{}\"", what, text));
  }
  Endpoint e;
  e.host = std::string(text.substr(0, colon));
  if (e.host == "0.0.0.0" || e.host.empty()) e.host = "127.0.0.1";
  e.port = static_cast<uint16_t>(port);
  return e;
}

}  // namespace

StatusOr<GatewayEndpoint> ResolveGateway(const AdminTarget& target) {
  Endpoint e;
  const std::string path = ConfigPathOrDemo(target.config_path);
  if (!path.empty()) {
    auto config = LoadConfig(path);
    if (!config.ok()) return config.status();
    auto hp = SplitHostPort(config->gateway.listen, "gateway.listen");
    if (!hp.ok()) return hp.status();
    e = *hp;
    e.admin_key = config->gateway.admin_key;
    if (!config->gateway.api_keys.empty()) e.api_key = config->gateway.api_keys.front();
  } else if (const char* key = std::getenv("CORTEX_ADMIN_KEY"); key != nullptr) {
    e.admin_key = key;  // the demo's gateway: 127.0.0.1:4000
  }
  if (!target.url.empty()) {
    auto hp = SplitHostPort(target.url, "--url");
    if (!hp.ok()) return hp.status();
    e.host = hp->host;
    e.port = hp->port;
  }
  if (e.api_key.empty()) {
    if (const char* key = std::getenv("CORTEX_API_KEY"); key != nullptr) e.api_key = key;
  }
  return e;
}

void AddTarget(CLI::App& app, AdminTarget& target) {
  app.add_option("-c,--config", target.config_path,
                 "the config `cortex up` runs (for the gateway's address and admin key)");
  app.add_option("--url", target.url, "the gateway, http://HOST:PORT (overrides the config)");
}

namespace {

// One admin request; prints the error and returns nullopt when it fails.
std::optional<net::BlockingHttpResult> Call(const AdminTarget& target, const std::string& method,
                                            const std::string& path, const std::string& body,
                                            std::chrono::milliseconds timeout) {
  auto ep = ResolveGateway(target);
  if (!ep.ok()) {
    std::fprintf(stderr, "%s\n", ep.status().message().c_str());
    return std::nullopt;
  }
  net::BlockingHttpRequest req;
  req.method = method;
  req.target = path;
  req.body = body;
  req.timeout = timeout;
  if (!body.empty()) req.headers["Content-Type"] = "application/json";
  if (!ep->admin_key.empty()) req.headers["Authorization"] = "Bearer " + ep->admin_key;
  auto r = net::BlockingHttp(ep->host, ep->port, req);
  if (!r.ok()) {
    std::fprintf(stderr, "cortex: no gateway at %s:%u (%s); is `cortex up` running?\n",
                 ep->host.c_str(), ep->port, r.status().message().c_str());
    return std::nullopt;
  }
  if (r->status != 200) {
    std::string message = r->body;
    json::error_code ec;
    const json::value v = json::parse(r->body, ec);
    if (!ec && v.is_object() && v.as_object().contains("error") && v.at("error").is_object() &&
        v.at("error").as_object().contains("message") && v.at("error").at("message").is_string()) {
      message = std::string(v.at("error").at("message").as_string());
    }
    std::fprintf(stderr, "cortex: %s %s: %d %s\n", method.c_str(), path.c_str(), r->status,
                 message.c_str());
    return std::nullopt;
  }
  return *r;
}

}  // namespace

void AddStatusOptions(CLI::App& app, StatusOptions& options) {
  AddTarget(app, options.target);
  app.add_flag("--json", options.json, "print GET /admin/status as JSON");
}

int RunStatus(const StatusOptions& options) {
  auto r = Call(options.target, "GET", "/admin/status", "", std::chrono::seconds(10));
  if (!r) return 1;
  if (options.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  json::error_code ec;
  const json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) {
    std::fprintf(stderr, "cortex status: the gateway answered something that is not JSON\n");
    return 1;
  }
  try {
    std::fputs(StatusTable(v.as_object()).c_str(), stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cortex status: unexpected status shape: %s\n", e.what());
    return 1;
  }
  return 0;
}

void AddBurstOptions(CLI::App& app, BurstOptions& options) {
  AddTarget(app, options.target);
  app.add_option("state", options.state, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("engine", options.engine,
                 "the engine whose burst profile to use (default: the one that has one)");
  app.add_flag("--wait", options.wait, "return when the switch is done");
}

int RunBurst(const BurstOptions& options) {
  json::object body{{"on", options.state == "on"}};
  if (!options.engine.empty()) body["engine"] = options.engine;
  auto r = Call(options.target, "POST", options.wait ? "/admin/burst?wait=1" : "/admin/burst",
                json::serialize(body), std::chrono::minutes(30));
  if (!r) return 1;
  json::error_code ec;
  const json::value v = json::parse(r->body, ec);
  if (!ec && v.is_object()) {
    std::fputs(StatusTable(v.as_object()).c_str(), stdout);
  } else {
    std::printf("%s\n", r->body.c_str());
  }
  return 0;
}

void AddLogsOptions(CLI::App& app, LogsOptions& options) {
  AddTarget(app, options.target);
  app.add_option("engine", options.engine, "engine name")->required();
  app.add_option("-n,--lines", options.lines, "how many of the last lines (at most 200)");
}

int RunLogs(const LogsOptions& options) {
  auto r = Call(options.target, "GET",
                fmt::format("/admin/engines/{}/logs?lines={}", options.engine, options.lines), "",
                std::chrono::seconds(10));
  if (!r) return 1;
  std::fputs(r->body.c_str(), stdout);
  return 0;
}

}  // namespace cortex::cli
