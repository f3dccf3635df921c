#include "ingest/token_counter.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace cortex::ingest {
namespace {

namespace json = boost::json;
constexpr size_t kChunkBytes = 256 * 1024;

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

// Where to cut `s` so the piece ends at a line end, or at least not inside a UTF-8 sequence.
size_t CutPoint(std::string_view s) {
  const size_t nl = s.rfind('\n');
  if (nl != std::string_view::npos && nl > s.size() / 2) return nl + 1;
  size_t cut = s.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut - 1]) & 0xC0) == 0x80)
    --cut;
  if (cut > 0 && (static_cast<unsigned char>(s[cut - 1]) & 0x80) != 0) --cut;  // a lead byte
  return cut == 0 ? s.size() : cut;
}

}  // namespace

StatusOr<uint64_t> CountTextTokens(const TokenizeEndpoint& engine, std::string_view text) {
  net::BlockingHttpRequest req;
  req.method = "POST";
  req.target = "/tokenize";
  req.headers["Content-Type"] = "application/json";
  req.timeout = std::chrono::milliseconds(120'000);
  if (engine.vllm_wire) {
    req.body = json::serialize(
        json::object{{"model", engine.model}, {"prompt", text}, {"add_special_tokens", false}});
  } else {
    req.body = json::serialize(
        json::object{{"content", text}, {"add_special", false}, {"with_pieces", false}});
  }
  auto res = net::BlockingHttp(engine.host, engine.port, req);
  if (!res.ok())
    return res.status().WithPrefix(fmt::format("{}:{} /tokenize", engine.host, engine.port));
  if (res->status != 200) {
    return Status::Unsupported(fmt::format("{}:{} /tokenize answered {}: {}", engine.host,
                                           engine.port, res->status, res->body.substr(0, 300)));
  }
  json::error_code ec;
  const json::value v = json::parse(res->body, ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.as_object();
    if (const auto* c = o.if_contains("count"); c && c->is_number())
      return c->to_number<uint64_t>();
    if (const auto* t = o.if_contains("tokens"); t && t->is_array()) return t->as_array().size();
  }
  return Status::Corruption(fmt::format("{}:{} /tokenize: unexpected answer {}", engine.host,
                                        engine.port, res->body.substr(0, 200)));
}

StatusOr<uint64_t> CountFileTokens(const TokenizeEndpoint& engine, const std::string& path,
                                   const std::function<bool(uint64_t, uint64_t)>& progress) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return Status::IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::fseek(f.get(), 0, SEEK_END);
  const uint64_t total = static_cast<uint64_t>(std::max<long>(std::ftell(f.get()), 0));
  std::fseek(f.get(), 0, SEEK_SET);
  const int parallel = std::clamp(engine.parallel, 1, 8);
  uint64_t count = 0, done = 0;
  std::string carry;
  bool eof = false;
  while (!eof || !carry.empty()) {
    std::vector<std::string> chunks;
    while (static_cast<int>(chunks.size()) < parallel && (!eof || !carry.empty())) {
      std::string buf = std::move(carry);
      carry.clear();
      if (!eof && buf.size() < kChunkBytes) {
        const size_t old = buf.size();
        buf.resize(kChunkBytes);
        const size_t n = std::fread(buf.data() + old, 1, kChunkBytes - old, f.get());
        buf.resize(old + n);
        if (n < kChunkBytes - old) eof = true;
      }
      if (buf.empty()) break;
      const size_t cut = eof ? buf.size() : CutPoint(buf);
      carry = buf.substr(cut);
      buf.resize(cut);
      chunks.push_back(std::move(buf));
    }
    if (chunks.empty()) break;
    std::vector<StatusOr<uint64_t>> results(chunks.size(), Status::IoError("not run"));
    std::vector<std::thread> threads;
    for (size_t i = 1; i < chunks.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = CountTextTokens(engine, chunks[i]); });
    }
    results[0] = CountTextTokens(engine, chunks[0]);
    for (auto& t : threads)
      t.join();
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (!results[i].ok()) return results[i].status();
      count += *results[i];
      done += chunks[i].size();
    }
    if (progress && !progress(done, total)) return Status::IoError("cancelled");
  }
  return count;
}

}  // namespace cortex::ingest
