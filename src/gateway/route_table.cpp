#include "gateway/route_table.h"

#include <stdexcept>

namespace cortex::gateway {
using boost::beast::http::verb;

void RouteTable::Add(std::optional<verb> method, std::string pattern, Route route, Access access) {
  // One segment short of what a path keeps, so every segment a pattern compares was kept.
  const PathSegments parts = SplitPath(pattern);
  if (parts.count >= PathSegments::kKept)
    throw std::invalid_argument("route pattern has too many segments: " + pattern);
  Entry e{method, {}, route, access};
  e.segments.assign(parts.kept.begin(),
                    parts.kept.begin() + static_cast<std::ptrdiff_t>(parts.count));
  entries_.push_back(std::move(e));
}

bool RouteTable::PathMatches(const Entry& e, const PathSegments& parts, std::string_view* param) {
  const bool rest = !e.segments.empty() && e.segments.back() == "*";
  const size_t fixed = rest ? e.segments.size() - 1 : e.segments.size();
  if (rest) {
    // `/admin/*` takes `/admin` and `/admin/` too.
    if (parts.count < fixed) return false;
  } else if (parts.count != fixed) {
    return false;
  }
  // Patterns are shorter than PathSegments::kKept, so every segment compared here was kept.
  for (size_t i = 0; i < fixed; ++i) {
    const std::string& want = e.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (parts.kept[i].empty()) return false;
      *param = parts.kept[i];
    } else if (want != parts.kept[i]) {
      return false;
    }
  }
  return true;
}

RouteTable::PathSegments RouteTable::SplitPath(std::string_view path) {
  // Every request is matched, so the path is split once, onto the stack.
  PathSegments out;
  size_t at = 0;
  if (!path.empty() && path.front() == '/') at = 1;
  while (at <= path.size()) {
    const size_t slash = path.find('/', at);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (out.count < PathSegments::kKept) out.kept[out.count] = path.substr(at, end - at);
    ++out.count;
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return out;
}

RouteMatch RouteTable::Match(verb method, std::string_view path) const {
  RouteMatch m;
  const PathSegments parts = SplitPath(path);
  for (const Entry& e : entries_) {
    std::string_view param;
    if (!PathMatches(e, parts, &param)) continue;
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
