// Config: the typed form of a Cortex deployment file (YAML), see config/strix-halo.yaml.
//
//   machine:  the box: physical memory, what the GPU can map, bandwidth, reserves.
//   engines:  inference processes (llama.cpp, vLLM, or our simulator), each with a model, a
//             port, a memory budget, the engine's own flags, and optional per-profile overrides.
//   lanes:    named routes (orchestrator, coder, ...) served by an engine, with targets.
//   profiles: optional declarations of profile names ("burst") with a description; engines
//             override budget and flags per profile.
//   gateway:  where the OpenAI-compatible endpoint listens.
//   supervisor: how engines are started, stopped, restarted and logged.
//
// Every value keeps the line and column it came from (`SourcePos`) so later checks (the planner,
// the supervisor) can point at the line that caused a problem.
//
// Maps keep the file's order (std::vector of named entries), because tables and plans list
// engines and lanes in the order the operator wrote them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cortex {

// 1-based line and column in the config file; 0 when the value was not in the file (default).
struct SourcePos {
  int line = 0;
  int column = 0;
};

struct MachineConfig {
  uint64_t memory_bytes = 0;           // physical, unified (required)
  uint64_t gpu_pool_bytes = 0;         // what the GPU can map (GTT/TTM limit); default = memory
  uint64_t bandwidth_bytes_per_s = 0;  // for tokens/s bounds (required)
  double bandwidth_efficiency = 0.8;   // fraction of bandwidth decode achieves, (0, 1]
  // Peak dense FLOP/s of the accelerator (fp16), for prefill-time estimates; 0: unknown, and
  // the plan states no prefill times. Strix Halo's GPU: 59.4 TFLOPS (research C).
  double compute_flops = 0;
  // Fractions of compute that prefill reaches, (0, 1]: for the weight matmuls, and for
  // attention over the context so far, which runs far below peak (plan/prefill_estimate.h).
  double compute_efficiency = 0.35;
  double attention_efficiency = 0.07;
  uint64_t reserve_os_bytes = 0;
  uint64_t reserve_backend_bytes = 0;
  SourcePos pos;
};

enum class EngineKind { kLlamaCpp, kVllm, kSim };

// How the supervisor runs an engine: as a child process (argv from engine/engine_launch.h), or
// as a service of the compose file `cortex compose` writes (`docker compose up -d SERVICE`).
enum class LaunchKind { kProcess, kDocker };

// A flag value as written in YAML: a scalar. Kept as text plus its kind so it can be passed to
// the engine verbatim and also read as a number or bool by the planner.
struct FlagValue {
  enum class Kind { kString, kInt, kFloat, kBool };
  Kind kind = Kind::kString;
  std::string text;  // verbatim scalar text ("32768", "q8_0", "true", "on")
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  SourcePos pos;
};

// Flags keyed by the engine's long option name without dashes ("ctx-size"), in file order.
using FlagMap = std::vector<std::pair<std::string, FlagValue>>;

// Where the model comes from. Either a path (a GGUF file for llama.cpp, a Hugging Face model
// directory for vLLM), or a Hugging Face repo id from the built-in table, or both: the path is
// read when it exists, the table is used otherwise.
struct ModelRef {
  std::string path;   // "/models/gguf/x.gguf"
  std::string hf;     // "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
  std::string quant;  // "awq", "gptq", "q4_k_m", "bf16" ... (used with hf when no file)
  SourcePos pos;
};

struct EngineProfile {
  std::string name;
  std::optional<uint64_t> budget_bytes;
  FlagMap flags;                    // overrides merged over the engine's flags
  std::vector<std::string> pauses;  // engines this profile stops to free memory
  SourcePos pos;
};

struct EngineConfig {
  std::string name;
  EngineKind kind = EngineKind::kLlamaCpp;
  ModelRef model;
  std::string binary;  // optional path to the engine executable
  // An engine that is already running elsewhere: the gateway proxies to it and nothing is
  // launched. "http://host:port". With a url, port, budget and model are optional.
  std::string url;
  std::string host = "127.0.0.1";
  // 1..65535. When the file leaves it out (and gives no url), the loader assigns the lowest
  // port of supervisor.engine_ports that no engine and not the gateway uses, in file order, and
  // sets port_assigned; `cortex plan` and `cortex status` show which.
  uint16_t port = 0;
  bool port_assigned = false;
  uint64_t budget_bytes = 0;  // required, > 0
  // Memory the process needs beyond what the planner computes (runtime, kernels; vLLM's
  // non-torch allocations). Unset: the planner's default for the engine kind.
  std::optional<uint64_t> overhead_bytes;
  FlagMap flags;
  std::vector<EngineProfile> profiles;
  // Variables added to the engine's inherited environment, in file order. Keys are valid
  // environment variable names ([A-Za-z_][A-Za-z0-9_]*); values are the scalars as written.
  std::vector<std::pair<std::string, std::string>> env;
  LaunchKind launch = LaunchKind::kProcess;
  bool pinned = false;  // never evicted to make room for an on-demand load
  // The container image for `cortex compose` and `launch: docker`. When the file sets none,
  // the loader fills in DefaultEngineImage(kind); empty for `engine: sim` (never runs in a
  // container) and for engines given by url (not launched).
  std::string image;
  // Expected seconds from start to ready (what evicting this engine costs to undo). Unset: the
  // caller estimates it.
  std::optional<double> load_seconds;
  SourcePos pos;
};

// A target that may be a single value or a [min, max] range in the file.
struct TargetRange {
  double min = 0;
  double max = 0;  // == min for a single value
};

enum class LanePriority { kInteractive, kBatch };

struct LaneConfig {
  std::string name;
  std::string engine;                // name of an engine in `engines`
  std::vector<std::string> aliases;  // extra names clients may put in `model`
  // Admission: requests in flight through the gateway at once (0: as many as the engine has
  // slots), requests waiting beyond that (a full queue answers 429), how long one may wait, and
  // which lanes go first when lanes share an engine.
  int max_concurrency = 0;
  int queue = 64;
  double max_queue_wait_s = 300;
  LanePriority priority = LanePriority::kInteractive;
  std::vector<std::string> fallback;        // lanes tried in order when this one is down
  std::string fallback_on_context;          // lane for prompts longer than this lane's context
  std::optional<TargetRange> context;       // tokens one request must be able to hold
  std::optional<TargetRange> tokens_per_s;  // decode speed of one stream
  SourcePos pos;
};

struct ProfileDecl {
  std::string name;
  std::string description;
  SourcePos pos;
};

struct GatewayConfig {
  std::string listen = "127.0.0.1:4000";
  std::string admin_key;              // empty: admin API open on loopback only
  std::vector<std::string> api_keys;  // bearer keys clients must present; empty: no auth
  uint64_t max_body_bytes = 32ull << 20;
  uint64_t max_header_bytes = 16ull << 10;
  double header_timeout_s = 30;  // to receive a whole request once it starts
  double idle_timeout_s = 120;   // keep-alive connection with no request
  double probe_interval_s = 5;   // active health probes of each engine
  SourcePos pos;
};

// The `supervisor:` section. YAML keys are the field names without the `_s` suffix
// (`drain_timeout: 30s`), and `log_max_size: 10MiB` for log_max_bytes. Durations are seconds;
// the file may write 30, 30s, 5m or 500ms.
struct SupervisorConfig {
  double drain_timeout_s = 30;        // requests in flight may finish before a stop or swap
  double stop_timeout_s = 10;         // SIGTERM, then SIGKILL after this long
  double ready_timeout_s = 600;       // a start not ready by then has failed
  double restart_backoff_s = 1;       // wait before restarting a crashed engine; doubles per crash,
  double restart_backoff_max_s = 30;  // up to this (>= restart_backoff_s)
  int max_restarts = 5;               // crashes within restart_window_s; beyond: engine failed
  double restart_window_s = 300;
  double load_wait_s = 120;  // how long a request waits for its engine to load or come back
  // Engine logs. Empty: $XDG_STATE_HOME/cortex/logs or ~/.local/state/cortex/logs (resolved by
  // the caller).
  std::string log_dir;
  uint64_t log_max_bytes = 10ull << 20;  // per log file, then rotated (YAML: log_max_size)
  int log_files = 3;                     // rotated files kept
  double memory_drift = 0.15;            // actual memory beyond planned by this fraction: a warning
  // Where engines without `port:` get theirs (YAML: engine_ports: 5800-5999, as llama-swap's
  // startPort 5800).
  uint16_t engine_port_first = 5800;
  uint16_t engine_port_last = 5999;
  SourcePos pos;
};

// The `ingest:` section: where Seismic ingest jobs live and the limits that keep a hostile or
// huge upload from hurting the machine (docs/INGEST.md lists each with its default).
// Durations are seconds (YAML: 90, 30s, 5m, 1h, 7d).
struct IngestConfig {
  std::string dir;  // jobs, uploads, packed prompts, jobs.db. Empty: <state dir>/ingest
  uint64_t max_upload_bytes = 4ull << 30;      // max_upload: a larger body is refused with 413
  uint64_t max_unpacked_bytes = 8ull << 30;    // max_unpacked: total uncompressed bytes
  uint64_t max_entries = 100'000;              // max_entries: archive entries of every kind
  uint64_t max_entry_bytes = 1ull << 30;       // max_entry_size: one entry, uncompressed
  double max_ratio = 100;                      // max_ratio: uncompressed : compressed
  uint64_t max_file_bytes = 10ull << 20;       // max_file_size: larger files are left out
  uint64_t deep_threshold_bytes = 50'000'000;  // deep_threshold: larger uploads go to deep_lane
  std::string deep_lane;                       // default: the lane whose engine has a burst profile
  std::string lane;                 // default lane for jobs that name none ("" : routed by size)
  std::string strategy = "auto";    // auto | whole | split
  double max_whole_time_s = 3600;   // max_whole_time: auto splits beyond this estimated time
  uint64_t part_tokens = 0;         // tokens per part when split (0: fit the lane's context)
  std::string burst = "auto";       // auto | never
  double keep_s = 7 * 86400;        // keep: finished jobs and their files are removed after
  uint64_t max_tokens = 2048;       // analysis tokens when the job does not say
  double prefill_tokens_per_s = 0;  // prefill speed for estimates (0: from machine and model)
  SourcePos pos;
};

struct Config {
  std::string path;  // file it was read from, for messages
  MachineConfig machine;
  std::vector<EngineConfig> engines;
  std::vector<LaneConfig> lanes;
  std::vector<ProfileDecl> profiles;
  GatewayConfig gateway;
  SupervisorConfig supervisor;
  IngestConfig ingest;

  const EngineConfig* FindEngine(const std::string& name) const;
  // By lane name or alias, as clients address lanes.
  const LaneConfig* FindLane(const std::string& name) const;
};

std::string_view EngineKindName(EngineKind kind);  // "llama.cpp", "vllm", "sim"
std::string_view LaunchKindName(LaunchKind kind);  // "process", "docker"

// The image an engine of `kind` runs in when its config names none:
//   llama.cpp: ghcr.io/ggml-org/llama.cpp:server-vulkan (llama.cpp's own server image, Vulkan
//              backend: needs only /dev/dri, the most stable backend on Strix Halo; its
//              entrypoint is llama-server);
//   vllm:      vllm/vllm-openai-rocm:latest (vLLM's ROCm build; entrypoint `vllm serve`);
//   sim:       "" (the simulator is never containerised).
std::string_view DefaultEngineImage(EngineKind kind);

// Looks a flag up by long name. Returns nullptr when absent.
const FlagValue* FindFlag(const FlagMap& flags, std::string_view name);

// Whether the engine speaks vLLM's dialect on the wire (vllm, or sim with `flavor: vllm`).
bool SpeaksVllmWire(const EngineConfig& engine);

// The name the engine answers to in a request's `model` (and lists in /v1/models): the one
// source for the launch (engine/engine_launch) and the gateway's lane table.
//   - the `served-model-name` flag (vLLM dialect) or the first name of the `alias` flag
//     (llama-server takes a comma-separated list), when set;
//   - else, for an engine cortex launches, the engine's name (the launch passes it as
//     --served-model-name / --alias);
//   - else, for an engine given by url, what the engine itself defaults to: vLLM its model
//     argument (model.path, else model.hf), llama-server its model file's name (else the
//     engine's name). The gateway also learns it from the engine's /v1/models.
std::string ServedModelName(const EngineConfig& engine);

}  // namespace cortex
