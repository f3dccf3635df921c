#include "config/config_loader.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "config/flag_rules.h"
#include "config/sections.h"
#include "config/yaml_reader.h"
#include "util/bytes.h"

namespace cortex {
namespace {

using config_internal::Describe;
using config_internal::Diagnostics;
using config_internal::ExpectMap;
using config_internal::Field;
using config_internal::LoadContext;
using config_internal::MapEntry;
using config_internal::MapReader;
using config_internal::ReadSize;

// machine.compute: "59.4TFLOPS", "900 GFLOPS", "1.2PFLOPS" or a plain FLOP/s number. Zero is
// allowed and means unknown. The cap (an exaFLOP/s) only catches typos; no box this plans for
// comes near it.
std::optional<double> ParseFlops(std::string_view text) {
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  double scale = 1;
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"PFLOPS", 1e15}, {"TFLOPS", 1e12}, {"GFLOPS", 1e9}, {"FLOPS", 1}};
  for (const auto& [unit, factor] : kUnits) {
    if (text.size() >= unit.size() && text.substr(text.size() - unit.size()) == unit) {
      text.remove_suffix(unit.size());
      scale = factor;
      break;
    }
  }
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  const std::optional<double> number = config_internal::ParseFiniteDouble(text);
  if (!number || *number < 0) return std::nullopt;
  const double flops = *number * scale;
  if (flops > 1e18) return std::nullopt;
  return flops;
}

void ReadMachine(const MapEntry& entry, MachineConfig* out, LoadContext* ctx) {
  Diagnostics* diag = ctx->diag;
  out->pos = entry.key_pos;
  if (!ExpectMap(entry.value, diag)) return;
  MapReader keys(entry.value, entry.key_pos,
                 {"memory", "gpu_pool", "bandwidth", "bandwidth_efficiency", "compute",
                  "compute_efficiency", "attention_efficiency", "reserve"},
                 diag);

  std::string memory_text;
  if (const MapEntry* e = keys.Require("memory")) {
    if (std::optional<uint64_t> memory = ReadSize(e->value, diag)) {
      if (*memory == 0) {
        diag->Add(e->value.pos,
                  fmt::format("{}: expected a size greater than 0, got 0", e->value.path));
      } else if (*memory > (uint64_t{1} << 50)) {
        // No machine this runs on has a pebibyte; a value past it is a typo, and keeping sizes
        // below 2^50 keeps every sum the planner makes inside 64 bits.
        diag->Add(e->value.pos, fmt::format("{}: expected at most 1024TiB, got {}", e->value.path,
                                            e->value.node.Scalar()));
      } else {
        out->memory_bytes = *memory;
        memory_text = e->value.node.Scalar();
      }
    }
  }
  out->gpu_pool_bytes = out->memory_bytes;
  ctx->gpu_pool_source =
      fmt::format("machine.gpu_pool (defaults to machine.memory, {})", memory_text);
  if (const MapEntry* e = keys.Find("gpu_pool")) {
    // An invalid pool must not fall back to memory, or budgets would be checked against a
    // number the operator did not mean.
    out->gpu_pool_bytes = 0;
    const std::optional<uint64_t> pool = ReadSize(e->value, diag);
    if (pool && *pool == 0) {
      diag->Add(e->value.pos,
                fmt::format("{}: expected a size greater than 0, got 0", e->value.path));
    } else if (pool && out->memory_bytes != 0 && *pool > out->memory_bytes) {
      diag->Add(e->value.pos, fmt::format("{}: expected at most machine.memory ({}), got {}",
                                          e->value.path, memory_text, e->value.node.Scalar()));
    } else if (pool) {
      out->gpu_pool_bytes = *pool;
      ctx->gpu_pool_source = fmt::format("machine.gpu_pool ({})", e->value.node.Scalar());
    }
  }
  ctx->gpu_pool_bytes = out->gpu_pool_bytes;

  if (const MapEntry* e = keys.Require("bandwidth")) {
    std::optional<uint64_t> bandwidth = config_internal::ReadBandwidth(e->value, diag);
    if (bandwidth && *bandwidth == 0) {
      diag->Add(e->value.pos, fmt::format("{}: expected a bandwidth greater than 0, got {}",
                                          e->value.path, Describe(e->value.node)));
    } else if (bandwidth) {
      out->bandwidth_bytes_per_s = *bandwidth;
    }
  }
  auto read_fraction = [&](const char* key, double* target) {
    const MapEntry* e = keys.Find(key);
    if (e == nullptr) return;
    std::optional<double> fraction;
    if (e->value.node.IsScalar()) {
      fraction = config_internal::ParseFiniteDouble(e->value.node.Scalar());
    }
    if (fraction && *fraction > 0 && *fraction <= 1) {
      *target = *fraction;
    } else {
      diag->Add(e->value.pos,
                fmt::format("{}: expected a number greater than 0 and at most 1, got {}",
                            e->value.path, Describe(e->value.node)));
    }
  };
  read_fraction("bandwidth_efficiency", &out->bandwidth_efficiency);
  if (const MapEntry* e = keys.Find("compute")) {
    std::optional<double> flops;
    if (e->value.node.IsScalar()) flops = ParseFlops(e->value.node.Scalar());
    if (flops) {
      out->compute_flops = *flops;
    } else {
      diag->Add(e->value.pos,
                fmt::format("{}: expected FLOP/s such as 59.4TFLOPS, 900GFLOPS or a plain number, "
                            "from 0 (unknown) to 1000PFLOPS, got {}",
                            e->value.path, Describe(e->value.node)));
    }
  }
  read_fraction("compute_efficiency", &out->compute_efficiency);
  read_fraction("attention_efficiency", &out->attention_efficiency);
  if (const MapEntry* e = keys.Find("reserve"); e != nullptr && ExpectMap(e->value, diag)) {
    MapReader reserve(e->value, e->key_pos, {"os", "backend"}, diag);
    if (const MapEntry* r = reserve.Find("os")) {
      out->reserve_os_bytes = ReadSize(r->value, diag).value_or(0);
    }
    if (const MapEntry* r = reserve.Find("backend")) {
      out->reserve_backend_bytes = ReadSize(r->value, diag).value_or(0);
    }
    const uint64_t total = out->reserve_os_bytes + out->reserve_backend_bytes;
    const bool overflow = total < out->reserve_os_bytes;
    if (out->memory_bytes != 0 && (overflow || total >= out->memory_bytes)) {
      diag->Add(e->value.pos,
                fmt::format("{}: expected os + backend less than machine.memory ({}), got {}",
                            e->value.path, memory_text,
                            overflow ? std::string("more than 2^64 bytes") : FormatBytes(total)));
    }
  }
}

void ReadGateway(const MapEntry& entry, GatewayConfig* out, LoadContext* ctx) {
  Diagnostics* diag = ctx->diag;
  out->pos = entry.key_pos;
  if (!ExpectMap(entry.value, diag)) return;
  MapReader keys(entry.value, entry.key_pos,
                 {"listen", "admin_key", "api_keys", "max_body", "max_header", "header_timeout",
                  "idle_timeout", "probe_interval"},
                 diag);
  if (const MapEntry* e = keys.Find("listen")) {
    ctx->gateway_port.reset();
    const std::optional<std::string> listen = config_internal::ReadString(e->value, diag);
    const std::optional<uint16_t> port =
        listen ? config_internal::ParseListenAddress(*listen) : std::nullopt;
    if (listen && !port) {
      diag->Add(e->value.pos, fmt::format("{}: {}, got \"{}\"", e->value.path,
                                          config_internal::kListenExpected, *listen));
    } else if (port) {
      out->listen = *listen;
      ctx->gateway_port = port;
      ctx->gateway_source = "gateway.listen " + *listen;
    }
  }
  if (const MapEntry* e = keys.Find("admin_key")) {
    out->admin_key = config_internal::ReadString(e->value, diag).value_or("");
  }
  if (const MapEntry* e = keys.Find("api_keys")) {
    if (auto list = config_internal::ReadStringList(e->value, "keys", diag)) out->api_keys = *list;
  }
  if (const MapEntry* e = keys.Find("max_body")) {
    if (auto size = config_internal::ReadSize(e->value, diag)) {
      if (*size < 1024 || *size > (4ull << 30)) {
        diag->Add(e->value.pos, fmt::format("{}: expected a size between 1KiB and 4GiB, got {}",
                                            e->value.path, e->value.node.Scalar()));
      } else {
        out->max_body_bytes = *size;
      }
    }
  }
  if (const MapEntry* e = keys.Find("max_header")) {
    if (auto size = config_internal::ReadSize(e->value, diag)) {
      if (*size < 1024 || *size > (1ull << 20)) {
        diag->Add(e->value.pos, fmt::format("{}: expected a size between 1KiB and 1MiB, got {}",
                                            e->value.path, e->value.node.Scalar()));
      } else {
        out->max_header_bytes = *size;
      }
    }
  }
  if (const MapEntry* e = keys.Find("header_timeout")) {
    out->header_timeout_s = config_internal::ReadSeconds(e->value, 0.1, 3600, diag).value_or(30);
  }
  if (const MapEntry* e = keys.Find("idle_timeout")) {
    out->idle_timeout_s = config_internal::ReadSeconds(e->value, 0.1, 86400, diag).value_or(120);
  }
  if (const MapEntry* e = keys.Find("probe_interval")) {
    out->probe_interval_s = config_internal::ReadSeconds(e->value, 0.05, 3600, diag).value_or(5);
  }
}

void ReadProfileDecls(const MapEntry& entry, std::vector<ProfileDecl>* out, LoadContext* ctx) {
  Diagnostics* diag = ctx->diag;
  if (!ExpectMap(entry.value, diag)) return;
  MapReader profiles(entry.value, entry.key_pos, {}, diag);
  ctx->declared_profiles.emplace();
  for (const MapEntry& p : profiles.entries()) {
    ctx->declared_profiles->push_back(p.key);
    if (p.key == config_internal::kNoProfile || p.key.empty()) {
      diag->Add(
          p.key_pos,
          fmt::format("profiles: profile name \"{}\" is reserved for running without a profile",
                      p.key));
      continue;
    }
    if (!ExpectMap(p.value, diag)) continue;
    MapReader keys(p.value, p.key_pos, {"description"}, diag);
    ProfileDecl decl{p.key, "", p.key_pos};
    if (const MapEntry* e = keys.Require("description")) {
      decl.description = config_internal::ReadString(e->value, diag).value_or("");
    }
    out->push_back(std::move(decl));
  }
}

// Variables override the file so one config can serve several deployments (a container that
// listens on 0.0.0.0, a key from a secret store). An empty variable counts as unset, because
// compose files and shells write "unset" that way, and an empty admin key would open the
// admin API.
void ApplyEnvironment(Config* config, LoadContext* ctx) {
  const char* listen = std::getenv("CORTEX_GATEWAY_LISTEN");
  if (listen != nullptr && *listen != '\0') {
    if (std::optional<uint16_t> port = config_internal::ParseListenAddress(listen)) {
      config->gateway.listen = listen;
      ctx->gateway_port = port;
      ctx->gateway_source = fmt::format("CORTEX_GATEWAY_LISTEN={}", listen);
    } else {
      ctx->diag->Add({}, fmt::format("CORTEX_GATEWAY_LISTEN: {}, got \"{}\"",
                                     config_internal::kListenExpected, listen));
    }
  }
  const char* admin_key = std::getenv("CORTEX_ADMIN_KEY");
  if (admin_key != nullptr && *admin_key != '\0') config->gateway.admin_key = admin_key;
}

SourcePos MarkPos(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {1, 1};
  return {mark.line + 1, mark.column + 1};
}

std::string Line(const std::string& path, SourcePos pos, std::string_view message) {
  return fmt::format("{}:{}:{}: {}", path, pos.line, pos.column,
                     config_internal::EscapeControls(message));
}

// Where the file's second YAML document starts, if it has one. Parses at most two documents
// instead of calling YAML::LoadAll, which loops forever, allocating, on a stray ',' at the start
// of a document (yaml-cpp 0.7, issue #1040).
class SecondDocumentFinder : public YAML::EventHandler {
 public:
  static std::optional<YAML::Mark> Find(const std::string& text) {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    SecondDocumentFinder finder;
    if (!parser.HandleNextDocument(finder)) return std::nullopt;
    if (!parser.HandleNextDocument(finder)) return std::nullopt;
    return finder.start_;
  }

  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  YAML::Mark start_;
};

// The first line that is not blank, a comment or a document marker; empty when there is none.
// yaml-cpp reads some malformed documents (a leading ',') as empty, so an empty root is only
// called an empty file when the text really has nothing in it.
std::string FirstContentLine(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (line.front() == '#' || line == "---" || line == "...") continue;
    return std::string(line);
  }
  return "";
}

// Engines without `port:` take the lowest free port of supervisor.engine_ports, in file order:
// the same file always gives the same ports, so plan, compose, up and status agree.
void AssignEnginePorts(const LoadContext& ctx, Config* config, Diagnostics* diag) {
  std::set<uint32_t> taken;
  if (ctx.gateway_port) taken.insert(*ctx.gateway_port);
  for (const EngineConfig& e : config->engines) {
    if (!e.port_assigned && e.port != 0) taken.insert(e.port);  // given, or an engine's url
  }
  uint32_t next = config->supervisor.engine_port_first;
  for (EngineConfig& e : config->engines) {
    if (!e.port_assigned) continue;
    while (next <= config->supervisor.engine_port_last && taken.count(next) != 0)
      ++next;
    if (next > config->supervisor.engine_port_last) {
      diag->Add(e.pos, fmt::format("engines.{}: no port given and none left in "
                                   "supervisor.engine_ports {}-{}; set port: or widen the range",
                                   e.name, config->supervisor.engine_port_first,
                                   config->supervisor.engine_port_last));
      continue;
    }
    e.port = static_cast<uint16_t>(next);
    taken.insert(next);
  }
}

StatusOr<Config> ParseDocument(const YAML::Node& root, const std::string& path) {
  Diagnostics diag;
  LoadContext ctx;
  ctx.diag = &diag;
  ctx.gateway_port = 4000;
  ctx.gateway_source = "the default gateway.listen 127.0.0.1:4000";
  Config config;
  config.path = path;

  MapReader top(Field{"", {1, 1}, root}, {1, 1},
                {"machine", "engines", "lanes", "profiles", "gateway", "supervisor", "ingest"},
                &diag);
  // Dependency order, not file order: see sections.h.
  if (const MapEntry* e = top.Require("machine")) ReadMachine(*e, &config.machine, &ctx);
  if (const MapEntry* e = top.Find("gateway")) ReadGateway(*e, &config.gateway, &ctx);
  ApplyEnvironment(&config, &ctx);
  if (const MapEntry* e = top.Find("profiles")) ReadProfileDecls(*e, &config.profiles, &ctx);
  if (const MapEntry* e = top.Require("engines")) {
    config_internal::ReadEngines(e->value, &ctx, &config.engines);
  }
  if (const MapEntry* e = top.Require("lanes")) {
    config_internal::ReadLanes(e->value, ctx, &config.lanes);
  }
  if (const MapEntry* e = top.Find("supervisor")) {
    config_internal::ReadSupervisor(*e, &config.supervisor, &diag);
  }
  if (const MapEntry* e = top.Find("ingest")) {
    config_internal::ReadIngest(*e, config.lanes, &config.ingest, &diag);
  }
  AssignEnginePorts(ctx, &config, &diag);
  if (!diag.empty()) return Status::InvalidArgument(diag.Join(path));
  return config;
}

}  // namespace

StatusOr<Config> ParseConfig(std::string_view yaml_text, const std::string& path) {
  // yaml-cpp reports everything by exception; none may cross the module boundary.
  try {
    const std::string text(yaml_text);
    const YAML::Node root = YAML::Load(text);
    if (root.IsNull()) {
      const std::string content = FirstContentLine(text);
      if (content.empty()) {
        return Status::InvalidArgument(Line(
            path, {1, 1}, "the config is empty; expected a map with machine, engines and lanes"));
      }
      return Status::InvalidArgument(
          Line(path, {1, 1}, fmt::format("expected a map at the top level, got \"{}\"", content)));
    }
    if (std::optional<YAML::Mark> second = SecondDocumentFinder::Find(text)) {
      return Status::InvalidArgument(
          Line(path, MarkPos(*second),
               "expected one YAML document, found a second one (a config is one document)"));
    }
    if (!root.IsMap()) {
      return Status::InvalidArgument(Line(
          path, {1, 1}, fmt::format("expected a map at the top level, got {}", Describe(root))));
    }
    return ParseDocument(root, path);
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(
        Line(path, MarkPos(e.mark), fmt::format("YAML syntax error: {}", e.msg)));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Line(path, MarkPos(e.mark), e.msg));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", path, e.what()));
  }
}

StatusOr<Config> LoadConfig(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    const std::string message = fmt::format("{}: cannot open: {}", path, std::strerror(error));
    if (error == ENOENT) return Status::NotFound(message);
    return Status::IoError(message);
  }
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    text.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return Status::IoError(fmt::format("{}: cannot read: {}", path, std::strerror(error)));
  }
  return ParseConfig(text, path);
}

EngineConfig ApplyProfile(const EngineConfig& engine, std::string_view profile) {
  EngineConfig out = engine;
  if (profile.empty() || profile == config_internal::kNoProfile) return out;
  for (const EngineProfile& p : engine.profiles) {
    if (p.name != profile) continue;
    if (p.budget_bytes) out.budget_bytes = *p.budget_bytes;
    // Overrides keep the position of the flag they replace, so the command line an engine is
    // started with reads in the same order under every profile.
    for (const auto& [name, value] : p.flags) {
      auto it = std::find_if(out.flags.begin(), out.flags.end(),
                             [&](const auto& flag) { return flag.first == name; });
      if (it != out.flags.end()) {
        it->second = value;
      } else {
        out.flags.emplace_back(name, value);
      }
    }
    break;
  }
  return out;
}

}  // namespace cortex
