// The config keys that say how engines are launched and supervised: each engine's env, launch,
// pinned, image and load_seconds, and the top-level `supervisor` section.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "config/sections.h"

namespace cortex::config_internal {
namespace {

// POSIX leaves other names to the implementation, and a name with '=' or a NUL cannot be
// passed at all; the portable set is also what docker compose accepts unquoted.
bool IsEnvName(std::string_view name) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || !letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

void ReadEnv(const Field& field, EngineConfig* out, Diagnostics* diag) {
  if (!ExpectMap(field, diag)) return;
  MapReader vars(field, field.pos, {}, diag);
  for (const MapEntry& var : vars.entries()) {
    if (!IsEnvName(var.key)) {
      diag->Add(var.key_pos, fmt::format("{}: expected a variable name of letters, digits and "
                                         "'_', not starting with a digit, got \"{}\"",
                                         field.path, var.key));
      continue;
    }
    if (!var.value.node.IsScalar()) {
      diag->Add(var.value.pos,
                fmt::format("{}: expected a scalar value (quote it to keep it a string), got {}",
                            var.value.path, Describe(var.value.node)));
      continue;
    }
    const std::string& value = var.value.node.Scalar();
    if (value.find('\0') != std::string::npos) {
      diag->Add(var.value.pos,
                fmt::format("{}: a variable cannot hold a NUL character", var.value.path));
      continue;
    }
    out->env.emplace_back(var.key, value);
  }
}

std::optional<LaunchKind> ReadLaunchKind(const Field& field, Diagnostics* diag) {
  if (field.node.IsScalar()) {
    for (LaunchKind kind : {LaunchKind::kProcess, LaunchKind::kDocker}) {
      if (field.node.Scalar() == LaunchKindName(kind)) return kind;
    }
  }
  diag->Add(field.pos, fmt::format("{}: expected process or docker, got {}", field.path,
                                   Describe(field.node)));
  return std::nullopt;
}

}  // namespace

void ReadEngineLaunchKeys(const MapReader& keys, std::optional<EngineKind> kind, bool has_url,
                          EngineConfig* out, Diagnostics* diag) {
  if (has_url) {
    for (std::string_view key : {"env", "launch", "pinned", "image", "load_seconds"}) {
      if (const MapEntry* e = keys.Find(key)) {
        diag->Add(e->key_pos, fmt::format("{}: an engine with a url runs elsewhere and is not "
                                          "launched, so it takes no {}",
                                          e->value.path, key));
      }
    }
    return;
  }
  const bool sim = kind == EngineKind::kSim;
  if (const MapEntry* e = keys.Find("env")) ReadEnv(e->value, out, diag);
  if (const MapEntry* e = keys.Find("launch")) {
    const std::optional<LaunchKind> launch = ReadLaunchKind(e->value, diag);
    if (launch == LaunchKind::kDocker && sim) {
      diag->Add(e->value.pos, fmt::format("{}: the simulator (engine: sim) runs as a process; "
                                          "launch: docker is for llama.cpp and vllm",
                                          e->value.path));
    } else if (launch) {
      out->launch = *launch;
    }
  }
  if (const MapEntry* e = keys.Find("pinned")) {
    out->pinned = ReadBool(e->value, diag).value_or(false);
  }
  if (const MapEntry* e = keys.Find("image")) {
    const std::optional<std::string> image = ReadString(e->value, diag);
    if (image && sim) {
      diag->Add(e->key_pos, fmt::format("{}: the simulator (engine: sim) never runs in a "
                                        "container, so it takes no image",
                                        e->value.path));
    } else if (image && image->empty()) {
      diag->Add(e->value.pos,
                fmt::format("{}: expected an image such as {}, got \"\"", e->value.path,
                            DefaultEngineImage(EngineKind::kLlamaCpp)));
    } else if (image) {
      out->image = *image;
    }
  }
  if (out->image.empty() && kind) out->image = std::string(DefaultEngineImage(*kind));
  if (const MapEntry* e = keys.Find("load_seconds")) {
    out->load_seconds = ReadSeconds(e->value, 0, 86400, diag);
  }
}

void ReadSupervisor(const MapEntry& entry, SupervisorConfig* out, Diagnostics* diag) {
  out->pos = entry.key_pos;
  if (!ExpectMap(entry.value, diag)) return;
  MapReader keys(entry.value, entry.key_pos,
                 {"drain_timeout", "stop_timeout", "ready_timeout", "restart_backoff",
                  "restart_backoff_max", "max_restarts", "restart_window", "load_wait", "log_dir",
                  "log_max_size", "log_files", "memory_drift", "engine_ports"},
                 diag);
  auto seconds = [&](std::string_view key, double min, double max, double* value) {
    if (const MapEntry* e = keys.Find(key)) {
      if (std::optional<double> s = ReadSeconds(e->value, min, max, diag)) *value = *s;
    }
  };
  seconds("drain_timeout", 0, 86400, &out->drain_timeout_s);
  seconds("stop_timeout", 0, 3600, &out->stop_timeout_s);
  seconds("ready_timeout", 1, 86400, &out->ready_timeout_s);
  seconds("restart_backoff", 0, 3600, &out->restart_backoff_s);
  seconds("restart_window", 1, 7 * 86400, &out->restart_window_s);
  seconds("load_wait", 0, 86400, &out->load_wait_s);
  if (const MapEntry* e = keys.Find("restart_backoff_max")) {
    // The cap is checked against the starting backoff, which may be written after it.
    const double min = out->restart_backoff_s;
    if (std::optional<double> s = ReadSeconds(e->value, min, 86400, diag)) {
      out->restart_backoff_max_s = *s;
    }
  } else {
    out->restart_backoff_max_s = std::max(out->restart_backoff_max_s, out->restart_backoff_s);
  }
  if (const MapEntry* e = keys.Find("max_restarts")) {
    if (std::optional<int64_t> n = ReadInt(e->value, 0, 1000, diag)) {
      out->max_restarts = static_cast<int>(*n);
    }
  }
  if (const MapEntry* e = keys.Find("log_dir")) {
    const std::optional<std::string> dir = ReadString(e->value, diag);
    if (dir && dir->empty()) {
      diag->Add(e->value.pos,
                fmt::format("{}: expected a directory, got \"\" (leave the key out for the "
                            "default)",
                            e->value.path));
    } else if (dir) {
      out->log_dir = *dir;
    }
  }
  if (const MapEntry* e = keys.Find("log_max_size")) {
    if (std::optional<uint64_t> size = ReadSize(e->value, diag)) {
      if (*size < (64ull << 10) || *size > (64ull << 30)) {
        diag->Add(e->value.pos, fmt::format("{}: expected a size between 64KiB and 64GiB, got {}",
                                            e->value.path, e->value.node.Scalar()));
      } else {
        out->log_max_bytes = *size;
      }
    }
  }
  if (const MapEntry* e = keys.Find("engine_ports")) {
    // FIRST-LAST, both ports, FIRST <= LAST.
    const std::string text = e->value.node.IsScalar() ? e->value.node.Scalar() : "";
    unsigned first = 0, last = 0;
    char tail = 0;
    if (std::sscanf(text.c_str(), "%u-%u%c", &first, &last, &tail) == 2 && first >= 1 &&
        first <= last && last <= 65535) {
      out->engine_port_first = static_cast<uint16_t>(first);
      out->engine_port_last = static_cast<uint16_t>(last);
    } else {
      diag->Add(e->value.pos, fmt::format("{}: expected a port range FIRST-LAST such as "
                                          "5800-5999, got {}",
                                          e->value.path, Describe(e->value.node)));
    }
  }
  if (const MapEntry* e = keys.Find("log_files")) {
    if (std::optional<int64_t> n = ReadInt(e->value, 1, 100, diag)) {
      out->log_files = static_cast<int>(*n);
    }
  }
  if (const MapEntry* e = keys.Find("memory_drift")) {
    std::optional<double> drift;
    if (e->value.node.IsScalar()) drift = ParseFiniteDouble(e->value.node.Scalar());
    if (drift && *drift > 0 && *drift <= 1) {
      out->memory_drift = *drift;
    } else {
      diag->Add(e->value.pos,
                fmt::format("{}: expected a fraction greater than 0 and at most 1, such as 0.15, "
                            "got {}",
                            e->value.path, Describe(e->value.node)));
    }
  }
}

}  // namespace cortex::config_internal
