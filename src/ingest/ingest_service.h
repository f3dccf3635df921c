// IngestService: the /v1/ingest HTTP routes (gateway::IngestPort) over the JobStore, with the
// JobRunner that carries the jobs out.
//
//   POST   /v1/ingest                 the archive as the body (or multipart/form-data with a
//                                     `file` part): streamed to <dir>/jobs/<id>/upload, 202 + job
//   GET    /v1/ingest?limit=&after=   jobs, newest first (OpenAI's list shape)
//   GET    /v1/ingest/{id}            the job object (job_view.h)
//   POST   /v1/ingest/{id}/cancel     asks the job to stop
//   GET    /v1/ingest/{id}/result     the analysis and its usage, once completed
//   GET    /v1/ingest/{id}/events     SSE: every state change and progress tick; resumable
//                                     with Last-Event-ID
//   DELETE /v1/ingest/{id}            a finished job and its files
//
// The HTTP side runs on the gateway's io thread and only reads and appends to the store; the
// runner's thread owns every state change after submission.
#pragma once

#include <memory>
#include <string>

#include "gateway/ingest_port.h"
#include "ingest/job_runner.h"
#include "ingest/job_store.h"
#include "util/status.h"

namespace cortex::ingest {

class IngestService : public gateway::IngestPort {
 public:
  // Opens (creating) env.dir and its jobs.db. The runner starts with StartRunner, once the
  // gateway's port is known.
  static StatusOr<std::unique_ptr<IngestService>> Open(RunnerEnv env);
  ~IngestService() override;

  void StartRunner(uint16_t gateway_port);
  // Tells the runner to stop without waiting (safe on the gateway's io thread, which the
  // runner's own calls to the gateway need); StopRunner waits for it.
  void RequestStopRunner();
  void StopRunner();

  boost::asio::awaitable<void> HandleIngest(net::HttpRequest& req, net::Responder& res) override;
  int BurstRetryAfterSeconds() const override;
  boost::json::array RecentJobs(size_t limit) const override;

  JobStore& store() { return *store_; }

 private:
  IngestService(RunnerEnv env, std::unique_ptr<JobStore> store);
  boost::asio::awaitable<void> Upload(net::HttpRequest& req, net::Responder& res);
  boost::asio::awaitable<void> Events(net::HttpRequest& req, net::Responder& res,
                                      const std::string& id);

  RunnerEnv env_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<JobRunner> runner_;
};

}  // namespace cortex::ingest
