#include "cli/status_table.h"

#include <gtest/gtest.h>

namespace cortex::cli {
namespace {

namespace json = boost::json;

json::object Snapshot() {
  return json::parse(R"({
    "engines": [
      {"name": "alpha", "state": "ready", "paused": false, "profile": "normal", "pid": 7,
       "port": 5800, "port_assigned": true,
       "ledger_bytes": 4294967296, "actual_bytes": 1073741824, "restarts": 0,
       "memory_warning": null, "failure": null},
      {"name": "beta", "state": "stopped", "paused": true, "profile": "normal", "pid": null,
       "port": 8081, "port_assigned": false,
       "ledger_bytes": 0, "actual_bytes": null, "restarts": 1, "memory_warning": null,
       "failure": null},
      {"name": "gamma", "state": "ready", "paused": false, "profile": "burst", "pid": 9,
       "ledger_bytes": 2147483648, "actual_bytes": null, "restarts": 0,
       "memory_warning": null, "failure": null}],
    "lanes": [{"name": "a", "engine": "alpha", "state": "up", "queue_depth": 2, "in_flight": 1}],
    "ledger": {"pool_bytes": 8589934592, "committed_bytes": 6442450944},
    "burst": {"active": false, "engine": null},
    "swaps": 3,
    "machine": {"meminfo": {"present": false}, "amdgpu": {"present": false},
                "planned": {"memory_bytes": 12884901888, "gpu_pool_bytes": 8589934592,
                            "reserve_os_bytes": 2147483648, "reserve_backend_bytes": 2147483648}},
    "ingest": {"enabled": true, "jobs": [
      {"id": "ingest_1", "status": "prefilling", "lane": "a",
       "progress": {"stage": "prefilling", "done": 250, "total": 1000, "unit": "tokens",
                    "rate": 50.0, "eta_s": 15}}]}
  })")
      .as_object();
}

TEST(StatusTableTest, MemoryBarStacksReservesThenEachEngineThenFreeInProportion) {
  // 4 GiB reserves + 8 GiB pool = 12 GiB over 60 cells: 5 cells a GiB.
  const std::string bar = MemoryBar(Snapshot(), 60);
  const std::string expected = "memory [" + std::string(20, '#') + std::string(20, 'a') +
                               std::string(10, 'b') + std::string(10, '.') + "]\n";
  EXPECT_EQ(bar.substr(0, expected.size()), expected) << bar;
  EXPECT_NE(bar.find("a alpha 4.00 GiB"), std::string::npos) << bar;
  EXPECT_NE(bar.find("b gamma 2.00 GiB"), std::string::npos) << bar;
  EXPECT_EQ(bar.find("beta"), std::string::npos) << "an engine holding nothing has no letter";
  EXPECT_NE(bar.find(". free 2.00 of 8.00 GiB"), std::string::npos) << bar;
}

TEST(StatusTableTest, EngineRowsShowThePortAndWhetherCortexChoseIt) {
  const std::string t = StatusTable(Snapshot());
  EXPECT_NE(t.find("alpha                  ready     5800 auto normal"), std::string::npos) << t;
  EXPECT_NE(t.find("beta                   stopped   8081      normal"), std::string::npos) << t;
  EXPECT_NE(t.find("gamma                  ready     -         burst"), std::string::npos) << t;
}

TEST(StatusTableTest, MemoryBarIsEmptyWithoutALedger) {
  json::object s = Snapshot();
  s.erase("ledger");
  EXPECT_EQ(MemoryBar(s, 60), "");
}

TEST(StatusTableTest, JobsTableShowsStageProgressAndTimeLeft) {
  const std::string t = JobsTable(Snapshot());
  EXPECT_NE(t.find("ingest_1"), std::string::npos) << t;
  EXPECT_NE(t.find("prefilling 250/1000 tokens (25%), ~15 s left"), std::string::npos) << t;
  json::object none = Snapshot();
  none["ingest"].as_object()["jobs"] = json::array{};
  EXPECT_EQ(JobsTable(none), "");
}

TEST(StatusTableTest, LanesShowTheGatewaysCountsWhenTheSnapshotHasThem) {
  json::object s = Snapshot();
  EXPECT_EQ(StatusTable(s).find("TTFT ms"), std::string::npos) << "/admin/status has no counts";
  json::object& lane = s["lanes"].as_array()[0].as_object();
  lane["requests"] = 12;
  lane["errors"] = 1;
  lane["ttft_count"] = 4;
  lane["ttft_sum_s"] = 1.0;
  lane["tokens_per_second"] = 31.25;
  const std::string t = StatusTable(s);
  EXPECT_NE(t.find("TTFT ms"), std::string::npos) << t;
  EXPECT_NE(t.find("       12      1      250     31.2"), std::string::npos) << t;
}

TEST(StatusTableTest, StatusTableNamesPausedEnginesAndTheLedger) {
  const std::string t = StatusTable(Snapshot());
  EXPECT_NE(t.find("paused for the burst"), std::string::npos) << t;
  EXPECT_NE(t.find("ledger: 6.00 of 8.00 GiB committed; burst: off; swaps: 3"), std::string::npos)
      << t;
}

}  // namespace
}  // namespace cortex::cli
