#include "gateway/route_table.h"

namespace cortex::gateway {
namespace {

using boost::beast::http::verb;

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t at = 0;
  if (!path.empty() && path.front() == '/') at = 1;
  while (at <= path.size()) {
    const size_t slash = path.find('/', at);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(at, end - at));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return out;
}

}  // namespace

void RouteTable::Add(std::optional<verb> method, std::string pattern, Route route, Access access) {
  Entry e{method, {}, route, access};
  for (std::string_view s : Split(pattern))
    e.segments.emplace_back(s);
  entries_.push_back(std::move(e));
}

bool RouteTable::PathMatches(const Entry& e, std::string_view path, std::string_view* param) {
  const std::vector<std::string_view> parts = Split(path);
  const bool rest = !e.segments.empty() && e.segments.back() == "*";
  const size_t fixed = rest ? e.segments.size() - 1 : e.segments.size();
  if (rest) {
    // `/admin/*` takes `/admin` and `/admin/` too.
    if (parts.size() < fixed) return false;
  } else if (parts.size() != fixed) {
    return false;
  }
  for (size_t i = 0; i < fixed; ++i) {
    const std::string& want = e.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (parts[i].empty()) return false;
      *param = parts[i];
    } else if (want != parts[i]) {
      return false;
    }
  }
  return true;
}

RouteMatch RouteTable::Match(verb method, std::string_view path) const {
  RouteMatch m;
  for (const Entry& e : entries_) {
    std::string_view param;
    if (!PathMatches(e, path, &param)) continue;
    if (!e.method || *e.method == method) {
      m.result = RouteMatch::Result::kFound;
      m.route = e.route;
      m.access = e.access;
      m.param = param;
      m.allow.clear();
      return m;
    }
    m.result = RouteMatch::Result::kWrongMethod;
    const std::string name(boost::beast::http::to_string(*e.method));
    if (m.allow.find(name) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += name;
    }
  }
  return m;
}

const RouteTable& GatewayRoutes() {
  static const RouteTable table = [] {
    RouteTable t;
    t.Add(verb::get, "/health", Route::kHealth, Access::kOpen);
    t.Add(verb::get, "/v1/health", Route::kHealth, Access::kOpen);
    t.Add(verb::get, "/metrics", Route::kMetrics, Access::kOpen);
    t.Add(verb::get, "/health/lanes", Route::kLanesHealth, Access::kOpen);
    t.Add(verb::get, "/lanes/{lane}/health", Route::kLaneHealth, Access::kOpen);
    // The dashboard's page holds no data, so it needs no key; what it reads does.
    t.Add(verb::get, "/ui", Route::kDashboard, Access::kOpen);
    t.Add(verb::get, "/ui/", Route::kDashboard, Access::kOpen);
    t.Add(verb::get, "/admin/events", Route::kAdminEvents, Access::kAdminKey);
    t.Add(std::nullopt, "/admin/*", Route::kAdmin, Access::kAdminKey);
    t.Add(std::nullopt, "/v1/ingest/*", Route::kIngest, Access::kApiKey);
    t.Add(verb::get, "/v1/models", Route::kModels, Access::kApiKey);
    t.Add(verb::get, "/models", Route::kModels, Access::kApiKey);
    for (const char* prefix : {"/v1", ""}) {
      const std::string p(prefix);
      t.Add(verb::post, p + "/chat/completions", Route::kChat, Access::kApiKey);
      t.Add(verb::post, p + "/completions", Route::kCompletions, Access::kApiKey);
      t.Add(verb::post, p + "/embeddings", Route::kEmbeddings, Access::kApiKey);
    }
    return t;
  }();
  return table;
}

}  // namespace cortex::gateway
