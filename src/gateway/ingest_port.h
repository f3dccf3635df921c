// IngestPort: what the gateway hands the Seismic ingest service (src/ingest): the /v1/ingest
// routes, after the client's API key has been checked as on every /v1 route.
//
// Uploads (POST /v1/ingest) reach the port with their body unread: it streams the body to disk
// with Responder::ReadBody, so a 2 GB upload never sits in the gateway's memory.
//
// All calls happen on the gateway's io_context thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <string_view>

#include "net/http_server.h"

namespace cortex::gateway {

class IngestPort {
 public:
  virtual ~IngestPort() = default;
  virtual boost::asio::awaitable<void> HandleIngest(net::HttpRequest& req, net::Responder& res) = 0;
  // Retry-After for a request to a lane that a running job's burst has paused: the job's
  // remaining seconds, or 0 when no job holds the burst.
  virtual int BurstRetryAfterSeconds() const = 0;
  // The newest `limit` jobs, as GET /v1/ingest/{id} shows them, for the dashboard.
  virtual boost::json::array RecentJobs(size_t limit) const = 0;
};

// Whether a request is an upload whose body the ingest service streams (POST /v1/ingest).
inline bool IsIngestUpload(const net::HttpRequest& req) {
  if (req.method() != net::http::verb::post) return false;
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/v1/ingest" || path == "/v1/ingest/";
}

}  // namespace cortex::gateway
