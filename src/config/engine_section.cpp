#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "config/config_loader.h"
#include "config/flag_rules.h"
#include "config/sections.h"

namespace cortex::config_internal {
namespace {

// Engine names become docker compose service names, log file names and URL path segments
// (/admin/engines/{name}), so they are kept to characters that are safe in all three.
bool IsValidEngineName(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || !lower_or_digit(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '.' || c == '_' || c == '-'; });
}

std::optional<EngineKind> ReadEngineKind(const Field& field, Diagnostics* diag) {
  if (field.node.IsScalar()) {
    for (EngineKind kind : {EngineKind::kLlamaCpp, EngineKind::kVllm, EngineKind::kSim}) {
      if (field.node.Scalar() == EngineKindName(kind)) return kind;
    }
  }
  diag->Add(field.pos, fmt::format("{}: expected one of llama.cpp, vllm, sim, got {}", field.path,
                                   Describe(field.node)));
  return std::nullopt;
}

void ReadModel(const Field& field, ModelRef* out, Diagnostics* diag) {
  out->pos = field.pos;
  if (field.node.IsScalar()) {
    out->path = field.node.Scalar();
    if (out->path.empty()) {
      diag->Add(field.pos, fmt::format("{}: expected a model path, got \"\"", field.path));
    }
    return;
  }
  if (!field.node.IsMap()) {
    diag->Add(field.pos, fmt::format("{}: expected a path or a map with path and/or hf, got {}",
                                     field.path, Describe(field.node)));
    return;
  }
  MapReader model(field, field.pos, {"path", "hf", "quant"}, diag);
  if (const MapEntry* e = model.Find("path")) out->path = ReadString(e->value, diag).value_or("");
  if (const MapEntry* e = model.Find("hf")) out->hf = ReadString(e->value, diag).value_or("");
  if (const MapEntry* e = model.Find("quant")) out->quant = ReadString(e->value, diag).value_or("");
  if (model.Find("path") == nullptr && model.Find("hf") == nullptr) {
    diag->Add(field.pos,
              fmt::format("{}: expected \"path\" or \"hf\" (or both), got neither", field.path));
  }
}

// A budget must fit in what the GPU can map; a bigger one could never be resident.
std::optional<uint64_t> ReadBudget(const Field& field, const LoadContext& ctx) {
  const std::optional<uint64_t> budget = ReadSize(field, ctx.diag);
  if (!budget) return std::nullopt;
  if (*budget == 0) {
    ctx.diag->Add(field.pos, fmt::format("{}: expected a size greater than 0, got {}", field.path,
                                         Describe(field.node)));
    return std::nullopt;
  }
  if (ctx.gpu_pool_bytes != 0 && *budget > ctx.gpu_pool_bytes) {
    ctx.diag->Add(field.pos, fmt::format("{}: expected at most {}, got {}", field.path,
                                         ctx.gpu_pool_source, field.node.Scalar()));
    return std::nullopt;
  }
  return budget;
}

void ReadPauses(const Field& field, const std::string& engine_name, const LoadContext& ctx,
                std::vector<std::string>* out) {
  if (!ExpectList(field, "engine names", ctx.diag)) return;
  for (const Field& item : ListItems(field)) {
    const std::optional<std::string> name = ReadString(item, ctx.diag);
    if (!name) continue;
    if (*name == engine_name) {
      ctx.diag->Add(item.pos,
                    fmt::format("{}: an engine cannot pause itself (\"{}\")", item.path, *name));
    } else if (std::find(ctx.engine_names.begin(), ctx.engine_names.end(), *name) ==
               ctx.engine_names.end()) {
      ctx.diag->Add(item.pos, fmt::format("{}: no engine named \"{}\"; engines are: {}", item.path,
                                          *name, JoinNames(ctx.engine_names)));
    } else {
      out->push_back(*name);
    }
  }
}

void ReadEngineProfiles(const Field& field, const std::string& engine_name,
                        std::optional<EngineKind> kind, const LoadContext& ctx,
                        std::vector<EngineProfile>* out) {
  if (!ExpectMap(field, ctx.diag)) return;
  MapReader profiles(field, field.pos, {}, ctx.diag);
  for (const MapEntry& entry : profiles.entries()) {
    if (entry.key == kNoProfile || entry.key.empty()) {
      ctx.diag->Add(entry.key_pos,
                    fmt::format("{}: profile name \"{}\" is reserved for running without a profile",
                                field.path, entry.key));
      continue;
    }
    if (ctx.declared_profiles) {
      const std::vector<std::string>& declared = *ctx.declared_profiles;
      if (std::find(declared.begin(), declared.end(), entry.key) == declared.end()) {
        ctx.diag->Add(entry.key_pos,
                      fmt::format("profile \"{}\" in {} is not declared in the top-level "
                                  "profiles; declared: {}",
                                  entry.key, field.path, JoinNames(declared)));
      }
    }
    if (!ExpectMap(entry.value, ctx.diag)) continue;
    EngineProfile profile;
    profile.name = entry.key;
    profile.pos = entry.key_pos;
    MapReader keys(entry.value, entry.key_pos, {"budget", "flags", "pauses"}, ctx.diag);
    if (const MapEntry* e = keys.Find("budget")) profile.budget_bytes = ReadBudget(e->value, ctx);
    if (const MapEntry* e = keys.Find("flags")) ReadFlags(e->value, kind, &profile.flags, ctx.diag);
    if (const MapEntry* e = keys.Find("pauses")) {
      ReadPauses(e->value, engine_name, ctx, &profile.pauses);
    }
    out->push_back(std::move(profile));
  }
}

// "http://host:port" with an optional trailing "/", nothing else.
std::optional<std::pair<std::string, uint16_t>> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string host(url.substr(0, colon));
  if (host.find('/') != std::string::npos) return std::nullopt;
  const std::optional<int64_t> port = ParseInt64(url.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return std::pair{host, static_cast<uint16_t>(*port)};
}

struct PortUse {
  std::string engine;
  int line;
};

void ReadEngine(const MapEntry& entry, const LoadContext& ctx, std::map<int64_t, PortUse>* ports,
                EngineConfig* out) {
  Diagnostics* diag = ctx.diag;
  out->name = entry.key;
  out->pos = entry.key_pos;
  if (!IsValidEngineName(entry.key)) {
    diag->Add(entry.key_pos,
              fmt::format("engines: expected an engine name of lowercase letters, digits, '.', "
                          "'_' and '-', starting with a letter or digit, got \"{}\"",
                          entry.key));
  }
  if (!ExpectMap(entry.value, diag)) return;
  MapReader keys(entry.value, entry.key_pos,
                 {"engine", "model", "binary", "url", "host", "port", "budget", "overhead", "flags",
                  "profiles", "env", "launch", "pinned", "image", "load_seconds"},
                 diag);

  std::optional<EngineKind> kind;
  if (const MapEntry* e = keys.Require("engine")) kind = ReadEngineKind(e->value, diag);
  if (kind) out->kind = *kind;
  // An engine given by url runs elsewhere: the gateway only proxies to it, so what launching
  // and planning need (port, budget, model) becomes optional.
  const MapEntry* url = keys.Find("url");
  if (url != nullptr) {
    if (std::optional<std::string> text = ReadString(url->value, diag)) {
      std::optional<std::pair<std::string, uint16_t>> hp = ParseHttpUrl(*text);
      if (!hp) {
        diag->Add(url->value.pos,
                  fmt::format("{}: expected http://HOST:PORT, got \"{}\"", url->value.path, *text));
      } else {
        out->url = *text;
        out->host = hp->first;
        out->port = hp->second;
      }
    }
    if (const MapEntry* e = keys.Find("port")) {
      diag->Add(e->key_pos,
                fmt::format("{}: an engine with a url takes its port from the url", e->value.path));
    }
  }
  if (const MapEntry* e = url ? keys.Find("model") : keys.Require("model")) {
    ReadModel(e->value, &out->model, diag);
  }
  if (const MapEntry* e = keys.Find("binary")) {
    out->binary = ReadString(e->value, diag).value_or("");
  }
  if (const MapEntry* e = keys.Find("host")) {
    const std::optional<std::string> host = ReadString(e->value, diag);
    if (host && host->empty()) {
      diag->Add(e->value.pos,
                fmt::format("{}: expected a host name or address, got \"\"", e->value.path));
    } else if (host) {
      out->host = *host;
    }
  }
  // Without a port the loader assigns one once every engine is read (AssignEnginePorts).
  if (!url && keys.Find("port") == nullptr) out->port_assigned = true;
  if (const MapEntry* e = url ? nullptr : keys.Find("port")) {
    if (std::optional<int64_t> port = ReadInt(e->value, 1, 65535, diag)) {
      out->port = static_cast<uint16_t>(*port);
      const int line = e->value.pos.line;
      if (auto [it, inserted] = ports->try_emplace(*port, PortUse{entry.key, line}); !inserted) {
        diag->Add(e->value.pos,
                  fmt::format("{}: port {} is already used by engine \"{}\" (line {})",
                              e->value.path, *port, it->second.engine, it->second.line));
      } else if (ctx.gateway_port && *ctx.gateway_port == *port) {
        diag->Add(e->value.pos, fmt::format("{}: port {} is the gateway's ({})", e->value.path,
                                            *port, ctx.gateway_source));
      }
    }
  }
  if (const MapEntry* e = url ? keys.Find("budget") : keys.Require("budget")) {
    out->budget_bytes = ReadBudget(e->value, ctx).value_or(0);
  }
  if (const MapEntry* e = keys.Find("overhead")) out->overhead_bytes = ReadSize(e->value, diag);
  if (const MapEntry* e = keys.Find("flags")) ReadFlags(e->value, kind, &out->flags, diag);
  if (const MapEntry* e = keys.Find("profiles")) {
    ReadEngineProfiles(e->value, entry.key, kind, ctx, &out->profiles);
  }
  ReadEngineLaunchKeys(keys, kind, url != nullptr, out, diag);
  if (kind == EngineKind::kLlamaCpp) {
    CheckLlamaFlagCombination(out->flags, "engines." + entry.key, diag);
    for (const EngineProfile& profile : out->profiles) {
      CheckLlamaFlagCombination(ApplyProfile(*out, profile.name).flags,
                                "engines." + entry.key + ".profiles." + profile.name, diag);
    }
  }
}

}  // namespace

void ReadEngines(const Field& field, LoadContext* ctx, std::vector<EngineConfig>* out) {
  if (!ExpectMap(field, ctx->diag)) return;
  MapReader engines(field, field.pos, {}, ctx->diag);
  if (field.node.size() == 0) {
    ctx->diag->Add(field.pos,
                   fmt::format("{}: expected at least one engine, got an empty map", field.path));
    return;
  }
  for (const MapEntry& entry : engines.entries()) {
    ctx->engine_names.push_back(entry.key);
  }
  std::map<int64_t, PortUse> ports;
  for (const MapEntry& entry : engines.entries()) {
    EngineConfig engine;
    ReadEngine(entry, *ctx, &ports, &engine);
    out->push_back(std::move(engine));
  }
}

}  // namespace cortex::config_internal
