#include "engine/llama_server_log.h"

#include <charconv>
#include <regex>

namespace cortex {
namespace {

// "<fn>: <buffer> <kind> buffer size = <mib> MiB", tolerant of prefixes and padding.
const std::regex kBufferLine(
    R"(([A-Za-z_][A-Za-z0-9_]*):\s+(\S+)\s+(model|KV|compute|output|RS)\s+buffer size\s*=\s*([0-9.]+)\s*MiB)");
const std::regex kKvSizeLine(R"(llama_kv_cache(?:_unified)?:\s+size\s*=\s*([0-9.]+)\s*MiB)");
const std::regex kContextLine(R"(llama_context:\s+(n_ctx|n_ctx_seq|n_ubatch)\s*=\s*([0-9]+))");
const std::regex kFlashLine(R"(llama_context:\s+flash_attn\s*=\s*(\w+))");
// With flash-attn auto the context line says "auto"; the resolution comes later.
const std::regex kFlashResolvedLine(R"(Flash Attention (enabled|not supported, set to disabled))");

// Locale-independent: the log always uses '.' as the decimal point.
double ToDouble(const std::string& s) {
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

uint64_t ToU64(const std::string& s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

LlamaServerMemoryLog ParseLlamaServerMemoryLog(std::string_view log) {
  LlamaServerMemoryLog out;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    const std::string line(log.substr(start, end - start));
    start = end + 1;

    std::smatch m;
    if (std::regex_search(line, m, kBufferLine)) {
      const std::string buffer = m[2];
      const std::string kind = m[3];
      const double mib = ToDouble(m[4]);
      if (kind == "model") {
        out.model_mib += mib;
        out.model_mib_by_buffer[buffer] += mib;
      } else if (kind == "KV") {
        out.kv_mib += mib;
        out.kv_mib_by_buffer[buffer] += mib;
      } else if (kind == "compute") {
        out.compute_mib += mib;
        out.compute_mib_by_buffer[buffer] += mib;
      } else if (kind == "output") {
        out.output_mib += mib;
      } else if (kind == "RS") {
        out.recurrent_mib += mib;
      }
      continue;
    }
    if (std::regex_search(line, m, kKvSizeLine)) {
      out.kv_size_mib = out.kv_size_mib.value_or(0) + ToDouble(m[1]);
      continue;
    }
    if (std::regex_search(line, m, kContextLine)) {
      const uint64_t v = ToU64(m[2]);
      if (m[1] == "n_ctx") out.n_ctx = v;
      if (m[1] == "n_ctx_seq") out.n_ctx_seq = v;
      if (m[1] == "n_ubatch") out.n_ubatch = v;
      continue;
    }
    if (std::regex_search(line, m, kFlashLine)) {
      const std::string v = m[1];
      if (v == "enabled" || v == "on" || v == "1" || v == "true") out.flash_attn = true;
      if (v == "disabled" || v == "off" || v == "0" || v == "false") out.flash_attn = false;
      continue;
    }
    if (std::regex_search(line, m, kFlashResolvedLine)) {
      out.flash_attn = m[1] == "enabled";
      continue;
    }
    // "llama_server: listening on http://..." in current builds, "server is listening" earlier.
    if (line.find("listening on http") != std::string::npos ||
        line.find("server is listening") != std::string::npos) {
      out.listening = true;
    }
    if (out.error.empty() &&
        (line.find("exiting due to model loading error") != std::string::npos ||
         line.find("failed to load model") != std::string::npos ||
         line.find("error loading model") != std::string::npos ||
         line.find("failed to create context") != std::string::npos)) {
      out.error = line;
    }
  }
  return out;
}

}  // namespace cortex
