// RouteTable: which handler a request goes to, by method and path pattern.
//
// A pattern is a path of segments; `{name}` matches any one non-empty segment (its value is
// the match's `param`), a last segment `*` matches the rest of the path, one segment or more,
// and a pattern ending in `/*` also matches the bare prefix (`/admin/*` takes `/admin/x/y`).
// Routes are tried in the order they were added; the first whose method and pattern both
// match wins. A path some route matches with another method is reported as kWrongMethod with
// the methods it takes (for a 405 with Allow), so `GET /v1/chat/completions` is told to POST.
//
// Pure: the gateway's table is GatewayRoutes(), tested in tests/gateway/route_table_test.cpp.
#pragma once

#include <ostream>  // Beast's verb header needs it and does not include it

#include <array>
#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cortex::gateway {

enum class Route {
  kHealth,       // GET /health, /v1/health
  kMetrics,      // GET /metrics
  kLanesHealth,  // GET /health/lanes
  kLaneHealth,   // GET /lanes/{lane}/health
  kDashboard,    // GET /ui
  kAdminEvents,  // GET /admin/events
  kAdmin,        // /admin/*: the supervisor's routes
  kIngest,       // /v1/ingest, /v1/ingest/*
  kModels,       // GET /v1/models, /models
  kChat,         // POST /v1/chat/completions, /chat/completions
  kCompletions,  // POST /v1/completions, /completions
  kEmbeddings,   // POST /v1/embeddings, /embeddings
};

// Who may call a route: anyone, holders of the admin key, or clients with an API key (when
// the config sets keys).
enum class Access { kOpen, kAdminKey, kApiKey };

struct RouteMatch {
  enum class Result { kFound, kWrongMethod, kNotFound };
  Result result = Result::kNotFound;
  Route route = Route::kHealth;
  Access access = Access::kOpen;
  std::string_view param;  // the `{name}` segment; a view into the path
  std::string allow;       // kWrongMethod: "GET, POST"
};

class RouteTable {
 public:
  // `method` unset: any method (the handler sorts them out, as the supervisor's admin routes do).
  void Add(std::optional<boost::beast::http::verb> method, std::string pattern, Route route,
           Access access);
  // `path` without its query string.
  RouteMatch Match(boost::beast::http::verb method, std::string_view path) const;

 private:
  struct Entry {
    std::optional<boost::beast::http::verb> method;
    std::vector<std::string> segments;
    Route route;
    Access access;
  };
  struct PathSegments {
    static constexpr size_t kKept = 16;
    std::array<std::string_view, kKept> kept;  // the first kKept segments
    size_t count = 0;                          // all of them
  };
  static PathSegments SplitPath(std::string_view path);
  static bool PathMatches(const Entry& e, const PathSegments& parts, std::string_view* param);
  std::vector<Entry> entries_;
};

// The gateway's routes, in the order they are tried.
const RouteTable& GatewayRoutes();

}  // namespace cortex::gateway
