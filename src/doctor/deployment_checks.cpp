#include "doctor/deployment_checks.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>
#include <sstream>

#include "config/argos_env.h"
#include "config/config_loader.h"
#include "engine/engine_launch.h"
#include "model/gguf_file.h"
#include "model/safetensors.h"
#include "monitor/kernel_text.h"
#include "util/bytes.h"

namespace cortex::doctor {
namespace {

namespace fs = std::filesystem;

std::string At(const SourcePos& pos) {
  return pos.line > 0 ? fmt::format(" (line {})", pos.line) : "";
}

const EnginePlan* FindPlan(const DeploymentPlan& plan, const std::string& engine) {
  for (const EnginePlan& e : plan.engines)
    if (e.name == engine) return &e;
  return nullptr;
}

std::string ModelPath(const DeploymentInputs& in, const EngineConfig& e) {
  fs::path p(e.model.path);
  if (p.is_relative() && !in.config_dir.empty()) p = fs::path(in.config_dir) / p;
  return p.string();
}

// A sim engine imitates the flavor its `flavor` flag names (llama.cpp when unset).
bool SpeaksLlamaCpp(const EngineConfig& e) {
  if (e.kind == EngineKind::kLlamaCpp) return true;
  if (e.kind != EngineKind::kSim) return false;
  const FlagValue* f = FindFlag(e.flags, "flavor");
  return f == nullptr || f->text == "llama.cpp";
}

CheckResult CheckGgufModel(const std::string& id, const std::string& title,
                           const std::string& path) {
  auto file = ReadGgufFile(path);
  if (!file.ok())
    return Fail(id, title, file.status().message(), "a readable GGUF file",
                "download the model again (or fix `model: path:`); the header says what is wrong");
  uint64_t end = file->data_offset;
  for (const GgufTensorInfo& t : file->tensors)
    end = std::max(end, file->data_offset + t.offset + t.n_bytes);
  const std::string found = fmt::format("GGUF v{}, {} tensors, {}", file->version,
                                        file->tensors.size(), FormatBytes(file->file_size));
  // Tensors end at the file's end, give or take the alignment padding llama.cpp writes.
  if (file->file_size > end + file->alignment) {
    return Warn(id, title,
                found + fmt::format("; {} bytes after the last tensor", file->file_size - end),
                "tensor data ending at the file's end",
                "the file may be another model's or partly overwritten: download it again");
  }
  return Ok(id, title, found);
}

}  // namespace

std::vector<CheckResult> CheckModels(const Host& host, const DeploymentInputs& in) {
  (void)host;
  std::vector<CheckResult> out;
  for (const EngineConfig& e : in.config->engines) {
    const std::string id = "model." + e.name;
    const std::string title = "Model file of engine " + e.name;
    if (!e.url.empty()) {
      out.push_back(Skip(id, title, "runs elsewhere (" + e.url + ")"));
      continue;
    }
    if (e.model.path.empty()) {
      out.push_back(Ok(id, title,
                       "no file: `hf: " + e.model.hf + "`, planned from the built-in table" +
                           (e.kind == EngineKind::kVllm ? " (vLLM downloads it at start)" : "")));
      continue;
    }
    const std::string path = ModelPath(in, e);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (!e.model.hf.empty()) {
        out.push_back(
            Warn(id, title, path + " does not exist; planned from `hf: " + e.model.hf + "`",
                 "the file the config names" + At(e.model.pos),
                 "download it (`huggingface-cli download " + e.model.hf + "`), or drop `path:`"));
      } else {
        out.push_back(Fail(id, title, path + " does not exist",
                           "the file the config names" + At(e.model.pos),
                           "download the model there, or fix `model: path:` in engine " + e.name));
      }
      continue;
    }
    if (fs::is_directory(path, ec)) {
      auto ckpt = ReadSafetensorsDir(path);
      if (!ckpt.ok()) {
        out.push_back(Fail(id, title, ckpt.status().message(),
                           "a Hugging Face checkpoint (config.json + *.safetensors)",
                           "download the model again; the message says which file is wrong"));
      } else {
        out.push_back(Ok(id, title,
                         fmt::format("{} safetensors file(s), {}{}", ckpt->files.size(),
                                     FormatBytes(ckpt->total_bytes),
                                     ckpt->exact ? "" : " (" + ckpt->note + ")")));
      }
      continue;
    }
    if (e.kind == EngineKind::kVllm && fs::path(path).extension() == ".safetensors") {
      auto header = ReadSafetensorsHeader(path);
      if (!header.ok())
        out.push_back(Fail(id, title, header.status().message(), "a valid safetensors file",
                           "download the model again"));
      else
        out.push_back(Ok(id, title, "a valid safetensors file"));
      continue;
    }
    out.push_back(CheckGgufModel(id, title, path));
  }
  return out;
}

std::vector<std::string> HelpLongOptions(std::string_view help) {
  std::set<std::string> seen;
  for (size_t i = 0; i + 2 < help.size(); ++i) {
    if (help[i] != '-' || help[i + 1] != '-') continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(help[i - 1])) != 0 || help[i - 1] == '-'))
      continue;
    size_t j = i + 2;
    while (j < help.size() && (std::isalnum(static_cast<unsigned char>(help[j])) != 0 ||
                               help[j] == '-' || help[j] == '_'))
      ++j;
    if (j > i + 2) seen.insert(std::string(help.substr(i, j - i)));
    i = j - 1;
  }
  return {seen.begin(), seen.end()};
}

std::vector<CheckResult> CheckEngines(const Host& host, const DeploymentInputs& in) {
  std::vector<CheckResult> out;
  const DeploymentPlan& normal = in.plans.front();
  bool docker = false;
  for (const EngineConfig& config_engine : in.config->engines) {
    if (!config_engine.url.empty()) continue;
    const EngineConfig e = ApplyProfile(config_engine, "normal");
    const std::string prefix = "engine." + e.name;
    const EnginePlan* plan = FindPlan(normal, e.name);
    if (plan == nullptr || !plan->planned) {
      out.push_back(Skip(prefix + ".binary", "Engine " + e.name,
                         "not planned (see model." + e.name + " and plan.normal)"));
      continue;
    }
    auto launch = BuildEngineLaunch(e, *plan, in.self_exe);
    if (!launch.ok()) {
      out.push_back(Fail(prefix + ".binary", "Engine " + e.name + "'s command line",
                         launch.status().message(), "a command line cortex can start",
                         "fix engine " + e.name + At(e.pos)));
      continue;
    }
    // Memory flags: what keeps the engine at the size the planner computed.
    const std::vector<std::string>& argv = launch->argv;
    auto has = [&](std::string_view flag) {
      return std::find(argv.begin(), argv.end(), flag) != argv.end();
    };
    auto value_of = [&](std::string_view flag) -> std::string {
      auto it = std::find(argv.begin(), argv.end(), flag);
      return it != argv.end() && it + 1 != argv.end() ? *(it + 1) : "";
    };
    const std::string mem_id = prefix + ".memory_flags";
    if (SpeaksLlamaCpp(e)) {
      const std::string title = "Engine " + e.name + " starts at its planned size";
      const bool fit_off = value_of("--fit") == "off";
      const bool ctx = has("--ctx-size") || has("-c");
      if (fit_off && ctx) {
        out.push_back(
            Ok(mem_id, title, fmt::format("--fit off, --ctx-size {}", value_of("--ctx-size"))));
      } else {
        out.push_back(Fail(mem_id, title,
                           fmt::format("--fit {}, --ctx-size {}", fit_off ? "off" : "not off",
                                       ctx ? value_of("--ctx-size") : "not set"),
                           "--fit off and an explicit --ctx-size (else llama-server may shrink "
                           "the context to fit, silently)",
                           "remove `fit:` and `ctx-size:` overrides from engine " + e.name +
                               "'s flags; cortex sets them from the plan"));
      }
    } else {
      const std::string title = "Engine " + e.name + " starts at its planned size";
      const bool len = has("--max-model-len");
      const bool pool = has("--kv-cache-memory-bytes") || has("--gpu-memory-utilization");
      if (len && pool)
        out.push_back(
            Ok(mem_id, title,
               fmt::format(
                   "--max-model-len {}{}", value_of("--max-model-len"),
                   has("--kv-cache-memory-bytes")
                       ? ", --kv-cache-memory-bytes " + value_of("--kv-cache-memory-bytes")
                       : ", --gpu-memory-utilization " + value_of("--gpu-memory-utilization"))));
      else
        out.push_back(Fail(mem_id, title, "--max-model-len or the KV pool flag is missing",
                           "--max-model-len and --kv-cache-memory-bytes (or "
                           "--gpu-memory-utilization)",
                           "remove those overrides from engine " + e.name + "'s flags"));
    }

    if (e.launch == LaunchKind::kDocker) {
      docker = true;
      continue;  // the image holds the binary; docker.compose checks the host side
    }
    const auto binary = FindExecutable(host, launch->binary);
    const std::string bin_id = prefix + ".binary";
    const std::string bin_title = "Engine " + e.name + "'s binary";
    if (!binary) {
      out.push_back(Fail(bin_id, bin_title, launch->binary + " not found or not executable",
                         "an executable " + launch->binary,
                         e.kind == EngineKind::kVllm
                             ? "install vLLM's ROCm build, set `binary:` in engine " + e.name +
                                   ", or use `launch: docker`"
                             : "build llama.cpp's llama-server and set `binary: "
                               "/path/to/llama-server` in engine " +
                                   e.name + At(e.pos)));
      continue;
    }
    out.push_back(Ok(bin_id, bin_title, *binary));

    const std::string flags_id = prefix + ".flags";
    const std::string flags_title = "Engine " + e.name + " accepts the flags cortex passes";
    if (e.kind == EngineKind::kSim) {
      out.push_back(Skip(flags_id, flags_title,
                         "the simulator takes any engine flag (it logs the ones it ignores)"));
      continue;
    }
    std::vector<std::string> help_argv{*binary};
    // vLLM prints only its groups for a bare --help; --help=all lists every option.
    if (e.kind == EngineKind::kVllm)
      help_argv = {*binary, "serve", "--help=all"};
    else
      help_argv.push_back("--help");
    const CommandOutput help = host.run(help_argv, e.kind == EngineKind::kVllm ? 120 : 20);
    if (help.exit_code != 0) {
      out.push_back(Warn(
          flags_id, flags_title,
          fmt::format("`{} {}` {}", *binary, help_argv.back(),
                      help.started ? fmt::format("exited {}", help.exit_code) : "did not start"),
          "the engine's --help, to check each flag",
          "run it by hand; a missing shared library shows there"));
      continue;
    }
    const std::vector<std::string> known = HelpLongOptions(help.output);
    std::string missing;
    int checked = 0;
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a.rfind("--", 0) != 0) continue;
      ++checked;
      if (!std::binary_search(known.begin(), known.end(), a))
        missing += (missing.empty() ? "" : ", ") + a;
    }
    if (missing.empty()) {
      out.push_back(Ok(flags_id, flags_title,
                       fmt::format("all {} flags are in `{} --help`", checked, launch->binary)));
    } else {
      out.push_back(Fail(flags_id, flags_title, "not in --help: " + missing,
                         "every flag of the command line in the engine's --help",
                         "update the engine (an older build lacks them) or remove the flags "
                         "from engine " +
                             e.name + "'s `flags:`"));
    }
  }

  if (docker) {
    const std::string title = "docker and docker compose (engines with launch: docker)";
    const auto bin = FindExecutable(host, "docker");
    if (!bin) {
      out.push_back(Fail("docker.compose", title, "docker not found on PATH",
                         "docker with the compose plugin",
                         "sudo apt-get install docker.io docker-compose (or Docker's own "
                         "packages), then add yourself to the docker group"));
    } else {
      const CommandOutput r = host.run({*bin, "compose", "version"}, 20);
      const std::string first(
          monitor::TrimSpace(r.output).substr(0, monitor::TrimSpace(r.output).find('\n')));
      if (r.exit_code == 0)
        out.push_back(Ok("docker.compose", title, first));
      else
        out.push_back(
            Fail("docker.compose", title,
                 fmt::format("`docker compose version` exited {}: {}", r.exit_code, first),
                 "docker compose v2",
                 "install the compose plugin (docker-compose-plugin / docker-compose)"));
    }
  }
  return out;
}

std::vector<CheckResult> CheckPlans(const DeploymentInputs& in) {
  std::vector<CheckResult> out;
  for (const DeploymentPlan& plan : in.plans) {
    const std::string id = "plan." + plan.profile;
    const std::string title = "The plan fits (profile " + plan.profile + ")";
    const std::string found = fmt::format(
        "budgets {} + reserves {} of {}; GPU maps {} of gpu_pool {}",
        FormatBytes(plan.machine.budgets_bytes), FormatBytes(plan.machine.reserved_bytes),
        FormatBytes(plan.machine.memory_bytes), FormatBytes(plan.machine.device_bytes),
        FormatBytes(plan.machine.gpu_pool_bytes));
    if (plan.fits) {
      out.push_back(Ok(id, title, found));
      continue;
    }
    std::string errors;
    int n = 0;
    bool only_machine = true;  // every error is about the sum, none about one engine or lane
    for (const Finding& f : plan.findings) {
      if (f.severity != Severity::kError) continue;
      only_machine = only_machine && f.engine.empty() && f.lane.empty();
      if (++n <= 3) errors += (errors.empty() ? "" : " | ") + f.message;
    }
    if (n > 3) errors += fmt::format(" | and {} more", n - 3);
    if (only_machine && n > 0) {
      // Each engine fits on its own: cortex up keeps the ones the ledger holds and loads the
      // others on demand, evicting idle ones, so this is a cost (cold loads), not a failure.
      out.push_back(Warn(id, title, found + "; " + errors, "every engine resident at once",
                         "fine if swapping is intended (cortex up loads engines on demand); "
                         "else lower budgets: `cortex plan --profile " +
                             plan.profile + "`"));
      continue;
    }
    out.push_back(Fail(id, title, found + "; " + errors, "every engine and lane fits",
                       "`cortex plan --profile " + plan.profile +
                           "` shows the arithmetic and the figures that would fit"));
  }
  return out;
}

CheckResult CheckArgosEnv(const DeploymentInputs& in) {
  const std::string title = "ARGOS_* variables agree with `cortex env`";
  const auto want = ArgosEnvironment(*in.config);
  std::string wrong;
  int set = 0;
  for (const auto& [name, value] : want) {
    auto it = in.environ.find(name);
    if (it == in.environ.end()) continue;
    ++set;
    if (it->second != value)
      wrong += fmt::format("{}{}={} (cortex env: {})", wrong.empty() ? "" : "; ", name, it->second,
                           value);
  }
  for (const auto& [name, value] : in.environ) {
    const bool known =
        std::any_of(want.begin(), want.end(), [&](const auto& w) { return w.first == name; });
    if (!known && name.rfind("ARGOS_LANE_", 0) == 0)
      wrong += fmt::format("{}{} names no lane of this config", wrong.empty() ? "" : "; ", name);
  }
  const std::string fix =
      "eval \"$(cortex env -c " + in.config->path + ")\" where the backend runs";
  if (!wrong.empty()) return Warn("env.argos", title, wrong, "the values `cortex env` prints", fix);
  if (set == 0)
    return Ok("env.argos", title,
              "none set in this environment (the backend reads them from its own: `cortex env` "
              "prints them)");
  return Ok("env.argos", title, fmt::format("{} set, all as `cortex env` prints them", set));
}

std::map<uint16_t, std::vector<uint64_t>> ParseListeningSockets(std::string_view text) {
  std::map<uint16_t, std::vector<uint64_t>> out;
  std::istringstream lines{std::string(text)};
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
    if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode))
      continue;
    if (state != "0A") continue;  // TCP_LISTEN
    const size_t colon = local.rfind(':');
    unsigned port = 0;
    uint64_t ino = 0;
    if (colon == std::string::npos ||
        std::from_chars(local.data() + colon + 1, local.data() + local.size(), port, 16).ec !=
            std::errc() ||
        std::from_chars(inode.data(), inode.data() + inode.size(), ino).ec != std::errc())
      continue;
    out[static_cast<uint16_t>(port)].push_back(ino);
  }
  return out;
}

std::optional<PortHolder> FindPortHolder(const Host& host, uint16_t port) {
  std::set<std::string> targets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    auto text = monitor::ReadKernelFile(host.Path(table));
    if (!text) continue;
    auto sockets = ParseListeningSockets(*text);
    auto it = sockets.find(port);
    if (it == sockets.end()) continue;
    for (uint64_t ino : it->second)
      targets.insert(fmt::format("socket:[{}]", ino));
  }
  if (targets.empty()) return std::nullopt;
  std::error_code ec;
  for (fs::directory_iterator p(host.Path("/proc"), ec), end; !ec && p != end; p.increment(ec)) {
    const std::string name = p->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(p->path() / "fd", fd_ec), fd_end; !fd_ec && fd != fd_end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      const std::string link = fs::read_symlink(fd->path(), link_ec).string();
      if (link_ec || targets.count(link) == 0) continue;
      PortHolder h;
      h.pid = std::stoi(name);
      auto comm = monitor::ReadKernelFile(p->path() / "comm");
      h.command = comm ? std::string(monitor::TrimSpace(*comm)) : "?";
      return h;
    }
  }
  return PortHolder{};  // listening, but the owner is not ours to see
}

namespace {

// Whether host:port can be bound now (nothing listens there).
bool PortFree(const std::string& host, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::vector<CheckResult> CheckPorts(const Host& host, const DeploymentInputs& in,
                                    const RunningCortex& running) {
  std::vector<CheckResult> out;
  struct Wanted {
    std::string name, host, engine;
    uint16_t port;
    std::string where;
  };
  std::vector<Wanted> wanted;
  const std::string& listen = in.config->gateway.listen;
  const size_t colon = listen.rfind(':');
  unsigned gw_port = 0;
  if (colon != std::string::npos &&
      std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), gw_port).ec ==
          std::errc())
    wanted.push_back({"gateway", listen.substr(0, colon), "", static_cast<uint16_t>(gw_port),
                      "gateway: listen" + At(in.config->gateway.pos)});
  for (const EngineConfig& e : in.config->engines) {
    if (!e.url.empty() || e.launch == LaunchKind::kDocker) continue;
    wanted.push_back({e.name, e.host, e.name, e.port, "engine " + e.name + "'s port" + At(e.pos)});
  }
  for (const Wanted& w : wanted) {
    const std::string id = "port." + w.name;
    const std::string title = fmt::format("Port {} for {}", w.port, w.name);
    if (PortFree(w.host, w.port)) {
      out.push_back(Ok(id, title, fmt::format("{}:{} is free", w.host, w.port)));
      continue;
    }
    const auto holder = FindPortHolder(host, w.port);
    const std::string who = holder && holder->pid > 0
                                ? fmt::format("{} (pid {})", holder->command, holder->pid)
                                : "a process this user cannot see";
    if (running.running) {
      if (w.engine.empty()) {
        out.push_back(Ok(id, title, "held by the running cortex up: " + who));
        continue;
      }
      auto pid = running.engine_pids.find(w.engine);
      if (pid != running.engine_pids.end() &&
          (!holder || holder->pid == 0 || holder->pid == pid->second)) {
        out.push_back(Ok(
            id, title, fmt::format("held by cortex's engine {} (pid {})", w.engine, pid->second)));
        continue;
      }
    }
    out.push_back(Fail(id, title, fmt::format("{}:{} is in use by {}", w.host, w.port, who),
                       "free, or held by this deployment's cortex up",
                       fmt::format("stop it, or change {}. (llama-server's own default port is "
                                   "moving from 8080 to 9931, vLLM's is 8000, Lemonade's 13305: "
                                   "cortex always passes --port, so pick one none of them uses)",
                                   w.where)));
  }
  return out;
}

}  // namespace cortex::doctor
