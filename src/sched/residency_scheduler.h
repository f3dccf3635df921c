// ResidencyScheduler: which engines hold memory, which start, stop, sleep or wait, and when.
//
// Several engines share one memory pool that cannot hold them all. The scheduler decides who is
// resident; it is a pure state machine in the shape of llama-swap's router: events come in as
// method calls (a request wants an engine, the supervisor reports an engine ready or exited, the
// operator flips burst mode, the clock ticks) and the decisions come out as a list of Effects
// for the caller to carry out (start, stop, sleep, wake an engine; admit or reject the requests
// waiting for one). It owns no process, socket, clock or thread; time comes in as `now`,
// monotonic seconds. One event loop owns it; it is not thread-safe.
//
// Memory. Every engine runs under a MemoryLedger reservation: an engine is started (or woken)
// only after the ledger granted its profile's bytes, and its memory is given back only when the
// supervisor reports it exited, failed, or fell asleep (then it keeps sleeping_bytes). So an
// engine being replaced has exited before its replacement starts, and the ledger's committed
// bytes never exceed the pool.
//
// On demand. Demand() for an engine that is not ready counts the request as a waiter. Engines
// with waiters (or asked to run by Boot, AdminStart or a burst) queue for memory in arrival
// order. The head of the queue starts as soon as it fits; if it does not, ChooseVictims picks
// engines to stop. A victim with requests in flight is drained first: it takes no new work
// (its Demands wait) and is stopped when its last request finishes or after drain_timeout_s.
// When nothing that could be stopped frees enough (everything pinned, or the engine is larger
// than the pool), its waiters are rejected with the reason.
//
// No thrash. An engine that became ready keeps its memory while it is busy (requests in flight,
// waiting, or admitted and not yet started) until it has been ready for hold_s; after that it is
// drained for whoever waits. Its waiters are admitted together by one kAdmit. So two engines
// that cannot both fit take turns of at least hold_s, instead of swapping per request.
//
// Bounded waits. The scheduler bounds drains (drain_timeout_s). The caller bounds each waiting
// request with its own timeout and then calls WaiterLeft; the scheduler never holds a request.
//
// Burst. SetBurst(true, e) pauses the engines e's BurstSpec names (sleeping those that can
// sleep, stopping the others; paused engines answer Demand with kPaused and are never evicted),
// drains and stops e, and starts it again with the burst profile once the paused engines have
// settled and the memory is free; while the burst is on, e is never evicted for an on-demand
// load. SetBurst(false, e) stops e, starts it with "normal", then wakes or restarts the paused
// engines that were running when the burst began.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sched/eviction_policy.h"
#include "sched/memory_ledger.h"
#include "util/status.h"

namespace cortex::sched {

enum class EngineState { kStopped, kStarting, kReady, kDraining, kStopping, kSleeping, kFailed };

// "stopped", "starting", "ready", "draining", "stopping", "sleeping", "failed".
std::string_view EngineStateName(EngineState state);

struct EngineSpec {
  std::string name;
  std::map<std::string, uint64_t> bytes_by_profile;  // "normal" always present; e.g. "burst"
  // Held while asleep: vLLM sleep level 1 moves weights to host memory, which on a
  // unified-memory machine is the same pool, so only the KV part is freed.
  uint64_t sleeping_bytes = 0;
  bool can_sleep = false;  // vLLM with --enable-sleep-mode
  // Never evicted for an on-demand load (a burst profile's `pauses` still pauses it).
  bool pinned = false;
  bool start_resident = true;  // started by Boot
  double load_seconds = 30;    // expected load time: eviction cost
};

struct BurstSpec {
  std::string engine;
  std::string profile;
  std::vector<std::string> pauses;
};

struct Effect {
  enum class Kind { kStart, kStop, kSleep, kWake, kAdmit, kReject };
  Kind kind = Kind::kStart;
  std::string engine;
  std::string profile;  // kStart: the profile to start it with ("normal", "burst")
  std::string reason;   // kStop/kReject (and kSleep): why, for logs and the client's 503 message
};

// "start", "stop", "sleep", "wake", "admit", "reject".
std::string_view EffectKindName(Effect::Kind kind);

enum class DemandResult { kReadyNow, kWait, kPaused, kFailed, kUnknown };

struct SchedulerOptions {
  // An engine being drained is stopped after this even with requests in flight.
  double drain_timeout_s = 30;
  // Anti-thrash: an engine that became ready for waiting requests keeps its memory at least
  // this long while it still has demand.
  double hold_s = 10;
  // A kAdmit counts its requests as demand (so the engine is not evicted before they arrive)
  // until they come back through Demand, leave through WaiterLeft, or this long has passed.
  double admit_grace_s = 5;
};

class ResidencyScheduler {
 public:
  // Engines are kept in the given order (Boot starts them in it). Bursts name engines by name.
  ResidencyScheduler(std::vector<EngineSpec> engines, std::vector<BurstSpec> bursts,
                     uint64_t pool_bytes, SchedulerOptions options = {});

  ResidencyScheduler(const ResidencyScheduler&) = delete;
  ResidencyScheduler& operator=(const ResidencyScheduler&) = delete;

  // Checks what the constructor takes on trust: unique names, a "normal" profile everywhere,
  // every profile within the pool, bursts naming known engines and profiles.
  static Status Validate(const std::vector<EngineSpec>& engines,
                         const std::vector<BurstSpec>& bursts, uint64_t pool_bytes);

  // Reserves and starts every start_resident engine that fits, in order. Those that do not fit
  // stay stopped (no eviction at boot); each gets a {kReject, engine, reason} effect saying so
  // (it has no waiters; the caller logs it) and reason(engine) keeps the finding.
  std::vector<Effect> Boot(double now);

  // A request wants `engine`.
  //   kReadyNow: ready and accepting; the caller proxies, calling RequestStarted and then
  //     RequestFinished exactly once each, even if the engine dies meanwhile.
  //   kWait: the request now counts as a waiter of the engine. The caller waits for an effect
  //     {kAdmit, engine} (then calls Demand again), {kReject, engine} (then fails the request
  //     with its reason), or its own bounded timeout (then calls WaiterLeft). *effects receives
  //     what to do now: evictions, a start.
  //   kPaused: paused by the active burst, or stopped by the operator (AdminStop); the caller
  //     uses a fallback lane, waits a bounded time, or answers 503.
  //   kFailed: the engine failed (crash loop, start failure) and waits for AdminStart.
  //   kUnknown: no such engine.
  // REQUIRES: effects != nullptr (a null one loses them).
  DemandResult Demand(const std::string& engine, double now, std::vector<Effect>* effects);
  void RequestStarted(const std::string& engine, double now);
  std::vector<Effect> RequestFinished(const std::string& engine, double now);
  // A waiter gave up (timeout, client gone). Also takes back an admitted request that will not
  // call Demand again.
  std::vector<Effect> WaiterLeft(const std::string& engine, double now);

  // From the process supervisor.
  // Started or woken. Emits {kAdmit, engine} when it has waiters. An engine that reports ready
  // without holding a reservation is stopped.
  std::vector<Effect> EngineReady(const std::string& engine, double now);
  // A stop we asked for completed: release its memory, start whatever waits for memory. An exit
  // nobody asked for is treated the same way (memory released, state kStopped); its waiters
  // then queue to start it again.
  std::vector<Effect> EngineExited(const std::string& engine, double now);
  // Died unexpectedly; the supervisor restarts it itself: state kStarting, reservation and
  // waiters kept (it comes back at the same size). If it was being drained to stop, it is
  // stopped now.
  std::vector<Effect> EngineCrashed(const std::string& engine, double now);
  // Gave up (crash loop, start failure): memory released, waiters rejected, state kFailed until
  // AdminStart.
  std::vector<Effect> EngineFailed(const std::string& engine, double now);
  // A sleep we asked for completed: its reservation drops to sleeping_bytes. Ignored for an
  // engine that is not up or going to sleep.
  std::vector<Effect> EngineSlept(const std::string& engine, double now);

  // Turns burst mode for `engine` on or off (see the top of this file). Returns the effects, or
  // an error when the engine is unknown or has no BurstSpec (NotFound), or when a burst is
  // already active for another engine (InvalidArgument). Asking for the state already asked
  // for returns no effects. `reason` (who asked: "operator", "ingest job ing_…") goes into the
  // ledger events of the switch.
  StatusOr<std::vector<Effect>> SetBurst(bool on, const std::string& engine, double now,
                                         const std::string& reason = "operator");

  // Operator start: clears an AdminStop or a failure and starts the engine (evicting if
  // needed). NotFound for an unknown engine; InvalidArgument while a burst pauses it.
  StatusOr<std::vector<Effect>> AdminStart(const std::string& engine, double now);
  // Operator stop: rejects its waiters, drains it, then stops it. Until AdminStart, Demand
  // answers kPaused and the engine is never started on demand. NotFound for an unknown engine.
  StatusOr<std::vector<Effect>> AdminStop(const std::string& engine, double now);

  // Handles drain timeouts, ended hold windows and expired admissions due by `now`.
  std::vector<Effect> Tick(double now);
  // The earliest time Tick has work; +inf when none.
  double NextDeadline() const;

  // Queries, for /admin/status. Unknown engines read as stopped, "", 0 or false.
  EngineState state(const std::string& engine) const;
  std::string profile(const std::string& engine) const;  // profile it runs (or will run) with
  int in_flight(const std::string& engine) const;
  int waiting(const std::string& engine) const;  // not yet admitted
  bool paused(const std::string& engine) const;  // paused by the active burst
  bool admin_stopped(const std::string& engine) const;
  // The last finding: why it stopped, did not start, or failed.
  std::string reason(const std::string& engine) const;
  bool burst_active() const { return !burst_engine_.empty(); }  // asked on (even while switching)
  std::string burst_engine() const { return burst_engine_; }
  bool burst_settled() const { return !burst_switching_; }  // no burst transition pending
  int swaps() const { return swaps_; }                      // evictions made for on-demand loads
  const MemoryLedger& ledger() const { return ledger_; }

 private:
  struct Engine {
    EngineSpec spec;
    EngineState state = EngineState::kStopped;
    std::string profile = "normal";
    int in_flight = 0;
    int waiting = 0;
    int admitted = 0;  // granted by a kAdmit, not yet back through Demand
    double admitted_until = 0;
    bool want_run = false;  // asked to run by Boot/AdminStart/burst, waiters or not
    uint64_t want_seq = 0;  // place in the memory queue (order of asking)
    double ready_since = 0;
    double last_active = 0;
    bool sleep_after_drain = false;  // kDraining/kStopping towards kSleeping, not kStopped
    double drain_deadline = 0;
    std::string drain_reason;
    bool admin_stopped = false;
    bool paused = false;
    bool resume_after_burst = false;  // was running when the burst paused it
    std::string reason;
  };

  Engine* Find(const std::string& name);
  const Engine* Find(const std::string& name) const;
  uint64_t BytesFor(const Engine& e) const;  // of the profile it runs or will run
  bool Wants(const Engine& e) const;         // should run: asked to, or has waiters
  bool Busy(const Engine& e) const;          // in flight, waiting or admitted requests
  void MarkWanted(Engine& e);
  void AddWaiter(Engine& e);
  // Makes a running engine come back in e.profile: drain, stop, start again.
  void Restart(Engine& e, const std::string& reason, double now, std::vector<Effect>* out);

  // After every event: starts what waits for memory, evicts for the head of the memory queue,
  // rejects what can never fit, and notes when a burst switch has settled.
  void Reconcile(double now, std::vector<Effect>* out);
  bool TryStart(Engine& e, std::vector<Effect>* out);
  uint64_t PendingFree() const;  // what stops and sleeps under way will give back
  // strict: apply the temporary protections (loading, hold window); without them, says
  // whether waiting could ever help.
  std::vector<EvictionCandidate> Candidates(const Engine& target, double now, bool strict) const;
  void Drain(Engine& e, bool sleep, const std::string& reason, double now,
             std::vector<Effect>* out);
  void FinishDrain(Engine& e, std::vector<Effect>* out);
  void StopNow(Engine& e, const std::string& reason, std::vector<Effect>* out);
  void Admit(Engine& e, double now, std::vector<Effect>* out);
  void RejectWaiters(Engine& e, const std::string& reason, std::vector<Effect>* out);
  bool BurstGateOpen(const Engine& e) const;
  // The ledger's reason for a change to `engine`'s reservation: the burst switch it belongs
  // to, if any ("burst on: ingest job ing_…"), else empty.
  std::string LedgerReason(const std::string& engine) const;
  void UpdateBurstSwitching();

  std::vector<Engine> engines_;
  std::map<std::string, size_t> index_;
  std::map<std::string, BurstSpec> bursts_;
  MemoryLedger ledger_;
  SchedulerOptions options_;
  std::string burst_engine_;   // empty when no burst is on
  std::string switch_engine_;  // the engine of the last burst switch
  bool burst_switching_ = false;
  std::string burst_reason_;  // who asked for the last switch
  uint64_t next_want_seq_ = 1;
  int swaps_ = 0;
  double last_now_ = 0;
};

}  // namespace cortex::sched
