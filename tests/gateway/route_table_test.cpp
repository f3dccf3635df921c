#include "gateway/route_table.h"

#include <gtest/gtest.h>

namespace cortex::gateway {
namespace {

using boost::beast::http::verb;
using Result = RouteMatch::Result;

TEST(RouteTableTest, MatchesFixedPathsParamsAndPrefixesInOrder) {
  RouteTable t;
  t.Add(verb::get, "/admin/events", Route::kAdminEvents, Access::kAdminKey);
  t.Add(std::nullopt, "/admin/*", Route::kAdmin, Access::kAdminKey);
  t.Add(verb::get, "/lanes/{lane}/health", Route::kLaneHealth, Access::kOpen);
  EXPECT_EQ(t.Match(verb::get, "/admin/events").route, Route::kAdminEvents);
  EXPECT_EQ(t.Match(verb::post, "/admin/events").route, Route::kAdmin);  // any method
  EXPECT_EQ(t.Match(verb::post, "/admin/engines/x/restart").route, Route::kAdmin);
  EXPECT_EQ(t.Match(verb::get, "/admin").route, Route::kAdmin);
  const RouteMatch lane = t.Match(verb::get, "/lanes/coder/health");
  EXPECT_EQ(lane.result, Result::kFound);
  EXPECT_EQ(lane.param, "coder");
  EXPECT_EQ(t.Match(verb::get, "/lanes//health").result, Result::kNotFound);
  EXPECT_EQ(t.Match(verb::get, "/lanes/a/b/health").result, Result::kNotFound);
  EXPECT_EQ(t.Match(verb::get, "/adminx").result, Result::kNotFound);
}

TEST(RouteTableTest, MatchesPathsLongerThanTheSegmentsItKeeps) {
  RouteTable t;
  t.Add(std::nullopt, "/admin/*", Route::kAdmin, Access::kAdminKey);
  t.Add(verb::get, "/lanes/{lane}/health", Route::kLaneHealth, Access::kOpen);
  std::string deep = "/admin";
  std::string other = "/lanes/x/health";
  for (int i = 0; i < 40; ++i) {
    deep += "/s";
    other += "/s";
  }
  EXPECT_EQ(t.Match(verb::get, deep).route, Route::kAdmin);
  EXPECT_EQ(t.Match(verb::get, other).result, Result::kNotFound);
  std::string too_long;
  for (int i = 0; i < 20; ++i)
    too_long += "/p";
  EXPECT_THROW(t.Add(verb::get, too_long, Route::kHealth, Access::kOpen), std::invalid_argument);
}

TEST(RouteTableTest, GatewayRoutesSendEachPathToItsHandlerWithItsKey) {
  const RouteTable& t = GatewayRoutes();
  struct Case {
    verb method;
    const char* path;
    Route route;
    Access access;
  };
  for (const Case& c : std::initializer_list<Case>{
           {verb::get, "/health", Route::kHealth, Access::kOpen},
           {verb::get, "/v1/health", Route::kHealth, Access::kOpen},
           {verb::get, "/metrics", Route::kMetrics, Access::kOpen},
           {verb::get, "/health/lanes", Route::kLanesHealth, Access::kOpen},
           {verb::get, "/lanes/coder/health", Route::kLaneHealth, Access::kOpen},
           {verb::get, "/ui", Route::kDashboard, Access::kOpen},
           {verb::get, "/ui/", Route::kDashboard, Access::kOpen},
           {verb::get, "/admin/events", Route::kAdminEvents, Access::kAdminKey},
           {verb::post, "/admin/burst", Route::kAdmin, Access::kAdminKey},
           {verb::post, "/v1/ingest", Route::kIngest, Access::kApiKey},
           {verb::get, "/v1/ingest/jobs/7/events", Route::kIngest, Access::kApiKey},
           {verb::get, "/v1/models", Route::kModels, Access::kApiKey},
           {verb::get, "/models", Route::kModels, Access::kApiKey},
           {verb::post, "/v1/chat/completions", Route::kChat, Access::kApiKey},
           {verb::post, "/chat/completions", Route::kChat, Access::kApiKey},
           {verb::post, "/v1/completions", Route::kCompletions, Access::kApiKey},
           {verb::post, "/embeddings", Route::kEmbeddings, Access::kApiKey},
       }) {
    const RouteMatch m = t.Match(c.method, c.path);
    EXPECT_EQ(m.result, Result::kFound) << c.path;
    EXPECT_EQ(m.route, c.route) << c.path;
    EXPECT_EQ(m.access, c.access) << c.path;
  }
}

TEST(RouteTableTest, AKnownPathWithTheWrongMethodSaysWhichMethodsItTakes) {
  const RouteMatch m = GatewayRoutes().Match(verb::get, "/v1/chat/completions");
  EXPECT_EQ(m.result, Result::kWrongMethod);
  EXPECT_EQ(m.allow, "POST");
  EXPECT_EQ(GatewayRoutes().Match(verb::delete_, "/health").allow, "GET");
  EXPECT_EQ(GatewayRoutes().Match(verb::get, "/v2/nothing").result, Result::kNotFound);
}

}  // namespace
}  // namespace cortex::gateway
