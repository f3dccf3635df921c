#include "sched/residency_scheduler.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

namespace cortex::sched {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::string GiB(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return text;
}

void Emit(std::vector<Effect>* out, Effect::Kind kind, const std::string& engine,
          std::string profile = "", std::string reason = "") {
  out->push_back(Effect{kind, engine, std::move(profile), std::move(reason)});
}

bool InTransition(EngineState s) {
  return s == EngineState::kStarting || s == EngineState::kDraining || s == EngineState::kStopping;
}

bool Parked(EngineState s) {
  return s == EngineState::kStopped || s == EngineState::kSleeping;
}

}  // namespace

std::string_view EngineStateName(EngineState state) {
  switch (state) {
    case EngineState::kStopped:
      return "stopped";
    case EngineState::kStarting:
      return "starting";
    case EngineState::kReady:
      return "ready";
    case EngineState::kDraining:
      return "draining";
    case EngineState::kStopping:
      return "stopping";
    case EngineState::kSleeping:
      return "sleeping";
    case EngineState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view EffectKindName(Effect::Kind kind) {
  switch (kind) {
    case Effect::Kind::kStart:
      return "start";
    case Effect::Kind::kStop:
      return "stop";
    case Effect::Kind::kSleep:
      return "sleep";
    case Effect::Kind::kWake:
      return "wake";
    case Effect::Kind::kAdmit:
      return "admit";
    case Effect::Kind::kReject:
      return "reject";
  }
  return "unknown";
}

ResidencyScheduler::ResidencyScheduler(std::vector<EngineSpec> engines,
                                       std::vector<BurstSpec> bursts, uint64_t pool_bytes,
                                       SchedulerOptions options)
    : ledger_(pool_bytes), options_(options) {
  // Validate() reports duplicates; here the first one wins so the scheduler stays usable.
  for (EngineSpec& spec : engines) {
    if (index_.count(spec.name) != 0) continue;
    index_[spec.name] = engines_.size();
    Engine e;
    e.spec = std::move(spec);
    engines_.push_back(std::move(e));
  }
  for (BurstSpec& burst : bursts)
    bursts_.emplace(burst.engine, std::move(burst));
}

Status ResidencyScheduler::Validate(const std::vector<EngineSpec>& engines,
                                    const std::vector<BurstSpec>& bursts, uint64_t pool_bytes) {
  std::map<std::string, const EngineSpec*> by_name;
  for (const EngineSpec& e : engines) {
    if (e.name.empty()) return Status::InvalidArgument("an engine has no name");
    if (!by_name.emplace(e.name, &e).second) {
      return Status::InvalidArgument("engine '" + e.name + "' is listed twice");
    }
    auto normal = e.bytes_by_profile.find("normal");
    if (normal == e.bytes_by_profile.end()) {
      return Status::InvalidArgument("engine '" + e.name + "' has no \"normal\" profile");
    }
    for (const auto& [profile, bytes] : e.bytes_by_profile) {
      if (bytes > pool_bytes) {
        return Status::OutOfRange("engine '" + e.name + "' profile '" + profile + "' needs " +
                                  GiB(bytes) + ", more than the whole pool (" + GiB(pool_bytes) +
                                  ")");
      }
    }
    if (e.sleeping_bytes > normal->second) {
      return Status::InvalidArgument("engine '" + e.name +
                                     "' holds more asleep than awake (sleeping_bytes)");
    }
  }
  std::set<std::string> bursting;
  for (const BurstSpec& b : bursts) {
    auto it = by_name.find(b.engine);
    if (it == by_name.end()) {
      return Status::NotFound("a burst names engine '" + b.engine + "', which does not exist");
    }
    if (!bursting.insert(b.engine).second) {
      return Status::InvalidArgument("engine '" + b.engine + "' has two bursts");
    }
    if (it->second->bytes_by_profile.count(b.profile) == 0) {
      return Status::NotFound("engine '" + b.engine + "' has no profile '" + b.profile +
                              "' for its burst");
    }
    for (const std::string& p : b.pauses) {
      if (by_name.count(p) == 0) {
        return Status::NotFound("the burst of '" + b.engine + "' pauses unknown engine '" + p +
                                "'");
      }
      if (p == b.engine) {
        return Status::InvalidArgument("the burst of '" + b.engine + "' pauses itself");
      }
    }
  }
  return Status::Ok();
}

// ---- Events from requests ----------------------------------------------------------------

std::vector<Effect> ResidencyScheduler::Boot(double now) {
  last_now_ = std::max(last_now_, now);
  std::vector<Effect> out;
  for (Engine& e : engines_) {
    if (!e.spec.start_resident || e.state != EngineState::kStopped || e.admin_stopped || e.paused) {
      continue;
    }
    uint64_t bytes = BytesFor(e);
    if (ledger_.Reserve(e.spec.name, e.profile, bytes, LedgerReason(e.spec.name))) {
      Emit(&out, Effect::Kind::kStart, e.spec.name, e.profile);
      e.state = EngineState::kStarting;
      e.want_run = false;
      e.reason.clear();
    } else {
      e.reason = "not started at boot: needs " + GiB(bytes) + ", " + GiB(ledger_.free_bytes()) +
                 " free of " + GiB(ledger_.pool_bytes());
      Emit(&out, Effect::Kind::kReject, e.spec.name, "", e.reason);
    }
  }
  return out;
}

DemandResult ResidencyScheduler::Demand(const std::string& engine, double now,
                                        std::vector<Effect>* effects) {
  last_now_ = std::max(last_now_, now);
  Engine* e = Find(engine);
  if (e == nullptr) return DemandResult::kUnknown;
  if (e->state == EngineState::kFailed) return DemandResult::kFailed;
  if (e->paused || e->admin_stopped) return DemandResult::kPaused;
  if (e->state == EngineState::kReady) {
    if (e->admitted > 0) --e->admitted;
    e->last_active = now;
    return DemandResult::kReadyNow;
  }
  AddWaiter(*e);
  std::vector<Effect> dropped;
  Reconcile(now, effects != nullptr ? effects : &dropped);
  return DemandResult::kWait;
}

void ResidencyScheduler::RequestStarted(const std::string& engine, double now) {
  last_now_ = std::max(last_now_, now);
  Engine* e = Find(engine);
  if (e == nullptr) return;
  ++e->in_flight;
  e->last_active = now;
}

std::vector<Effect> ResidencyScheduler::RequestFinished(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  if (e->in_flight > 0) --e->in_flight;
  e->last_active = now;
  if (e->state == EngineState::kDraining && e->in_flight == 0) FinishDrain(*e, &out);
  Reconcile(now, &out);
  return out;
}

std::vector<Effect> ResidencyScheduler::WaiterLeft(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  if (e->waiting > 0) {
    --e->waiting;
  } else if (e->admitted > 0) {
    --e->admitted;
  }
  Reconcile(now, &out);
  return out;
}

// ---- Events from the supervisor -----------------------------------------------------------

std::vector<Effect> ResidencyScheduler::EngineReady(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  switch (e->state) {
    case EngineState::kStarting:
      break;
    case EngineState::kReady:     // reported twice
    case EngineState::kDraining:  // already leaving; its waiters get the restart
    case EngineState::kStopping:  // a stop or sleep is on its way
      Reconcile(now, &out);
      return out;
    case EngineState::kStopped:
    case EngineState::kSleeping:
    case EngineState::kFailed:
      // Running without memory promised to it (or at the wrong size) would break the ledger's
      // invariant; stop it and let demand start it properly.
      StopNow(*e, "reported ready without a memory reservation", &out);
      Reconcile(now, &out);
      return out;
  }
  e->state = EngineState::kReady;
  e->ready_since = now;
  e->last_active = now;
  if (e->waiting > 0) Admit(*e, now, &out);
  Reconcile(now, &out);
  return out;
}

std::vector<Effect> ResidencyScheduler::EngineExited(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  ledger_.Release(engine, LedgerReason(engine));
  if (e->state != EngineState::kFailed) {
    if (e->state != EngineState::kStopping && e->state != EngineState::kStopped) {
      e->reason = "exited unexpectedly while " + std::string(EngineStateName(e->state));
    }
    e->state = EngineState::kStopped;
  }
  e->sleep_after_drain = false;
  e->admitted = 0;
  Reconcile(now, &out);
  return out;
}

std::vector<Effect> ResidencyScheduler::EngineCrashed(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  switch (e->state) {
    case EngineState::kReady:
    case EngineState::kStarting:
      // The supervisor reloads it into the memory it already holds; admitted requests will
      // come back through Demand and wait again.
      e->state = EngineState::kStarting;
      e->admitted = 0;
      e->reason = "crashed; restarting";
      break;
    case EngineState::kDraining:
      // It was leaving anyway; its requests died with it, so finish the job.
      StopNow(*e, e->drain_reason + " (crashed while draining)", &out);
      break;
    case EngineState::kSleeping:
      // A restart would load it at full size; grow the reservation or stop it.
      if (ledger_.Resize(engine, BytesFor(*e), LedgerReason(engine))) {
        e->state = EngineState::kStarting;
        e->reason = "crashed while asleep; restarting";
      } else {
        StopNow(*e, "crashed while asleep and its full size no longer fits", &out);
      }
      break;
    case EngineState::kStopping:  // the exit we asked for will follow
    case EngineState::kStopped:
    case EngineState::kFailed:
      break;
  }
  Reconcile(now, &out);
  return out;
}

std::vector<Effect> ResidencyScheduler::EngineFailed(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  ledger_.Release(engine, LedgerReason(engine));
  e->state = EngineState::kFailed;
  e->want_run = false;
  e->sleep_after_drain = false;
  e->reason = "engine '" + engine + "' failed (crash loop or start failure)";
  RejectWaiters(*e, e->reason, &out);
  Reconcile(now, &out);
  return out;
}

std::vector<Effect> ResidencyScheduler::EngineSlept(const std::string& engine, double now) {
  std::vector<Effect> out;
  Engine* e = Find(engine);
  if (e == nullptr) return out;
  // Only a sleep we asked for, or of an engine that is up, shrinks the reservation; holding
  // more than an engine uses is always safe, holding less never is.
  bool expected = (e->state == EngineState::kStopping && e->sleep_after_drain) ||
                  e->state == EngineState::kReady || e->state == EngineState::kDraining;
  std::optional<uint64_t> held = ledger_.Held(engine);
  if (held && expected) {
    ledger_.Resize(engine, std::min(*held, e->spec.sleeping_bytes), LedgerReason(engine));
    e->state = EngineState::kSleeping;
    e->sleep_after_drain = false;
    e->admitted = 0;
    if (e->admin_stopped) StopNow(*e, "stopped by the operator", &out);
  }
  Reconcile(now, &out);
  return out;
}

// ---- Burst and operator -------------------------------------------------------------------

StatusOr<std::vector<Effect>> ResidencyScheduler::SetBurst(bool on, const std::string& engine,
                                                           double now, const std::string& reason) {
  last_now_ = std::max(last_now_, now);
  Engine* e = Find(engine);
  if (e == nullptr) return Status::NotFound("no engine named '" + engine + "'");
  auto it = bursts_.find(engine);
  if (it == bursts_.end()) {
    return Status::NotFound("engine '" + engine + "' has no burst profile");
  }
  const BurstSpec& burst = it->second;
  std::vector<Effect> out;
  if (on) {
    if (burst_engine_ == engine) return out;
    if (!burst_engine_.empty()) {
      return Status::InvalidArgument("a burst is already active for '" + burst_engine_ +
                                     "'; turn it off first");
    }
    auto bytes = e->spec.bytes_by_profile.find(burst.profile);
    if (bytes == e->spec.bytes_by_profile.end()) {
      return Status::NotFound("engine '" + engine + "' has no profile '" + burst.profile + "'");
    }
    if (bytes->second > ledger_.pool_bytes()) {
      return Status::OutOfRange("the burst of '" + engine + "' needs " + GiB(bytes->second) +
                                ", more than the whole pool (" + GiB(ledger_.pool_bytes()) + ")");
    }
    burst_engine_ = engine;
    switch_engine_ = engine;
    burst_switching_ = true;
    burst_reason_ = reason;
    std::string why = "paused by the burst of '" + engine + "'";
    for (const std::string& name : burst.pauses) {
      Engine* p = Find(name);
      if (p == nullptr || p == e) continue;
      p->resume_after_burst =
          !p->admin_stopped && p->state != EngineState::kFailed &&
          (p->state == EngineState::kStarting || p->state == EngineState::kReady || Wants(*p));
      p->paused = true;
      p->want_run = false;
      RejectWaiters(*p, why, &out);
      if (p->state == EngineState::kReady) {
        Drain(*p, p->spec.can_sleep, why, now, &out);
      } else if (p->state == EngineState::kStarting) {
        StopNow(*p, why, &out);
      }
      // Draining, stopping, stopped, sleeping, failed: already out of the burst's way.
    }
    e->profile = burst.profile;
    Restart(*e, "restarting with the '" + burst.profile + "' profile", now, &out);
  } else {
    if (burst_engine_.empty()) return out;
    if (burst_engine_ != engine) {
      return Status::InvalidArgument("the active burst is for '" + burst_engine_ + "', not '" +
                                     engine + "'");
    }
    burst_engine_.clear();
    switch_engine_ = engine;
    burst_switching_ = true;
    burst_reason_ = reason;
    e->profile = "normal";
    Restart(*e, "burst over; restarting with the 'normal' profile", now, &out);
    for (const std::string& name : burst.pauses) {
      Engine* p = Find(name);
      if (p == nullptr || p == e) continue;
      p->paused = false;
      if (p->resume_after_burst && !p->admin_stopped && p->state != EngineState::kFailed) {
        MarkWanted(*p);
      }
      p->resume_after_burst = false;
    }
  }
  Reconcile(now, &out);
  return out;
}

StatusOr<std::vector<Effect>> ResidencyScheduler::AdminStart(const std::string& engine,
                                                             double now) {
  last_now_ = std::max(last_now_, now);
  Engine* e = Find(engine);
  if (e == nullptr) return Status::NotFound("no engine named '" + engine + "'");
  if (e->paused) {
    return Status::InvalidArgument("engine '" + engine + "' is paused by the burst of '" +
                                   burst_engine_ + "'; turn the burst off first");
  }
  std::vector<Effect> out;
  e->admin_stopped = false;
  if (e->state == EngineState::kFailed) e->state = EngineState::kStopped;
  if (e->state == EngineState::kReady || e->state == EngineState::kStarting) return out;
  MarkWanted(*e);
  Reconcile(now, &out);
  if (out.empty() && !e->want_run && Parked(e->state)) {
    return Status::OutOfRange(e->reason);
  }
  return out;
}

StatusOr<std::vector<Effect>> ResidencyScheduler::AdminStop(const std::string& engine, double now) {
  last_now_ = std::max(last_now_, now);
  Engine* e = Find(engine);
  if (e == nullptr) return Status::NotFound("no engine named '" + engine + "'");
  std::vector<Effect> out;
  const std::string why = "stopped by the operator";
  e->admin_stopped = true;
  e->want_run = false;
  e->resume_after_burst = false;
  RejectWaiters(*e, why, &out);
  switch (e->state) {
    case EngineState::kReady:
      Drain(*e, /*sleep=*/false, why, now, &out);
      break;
    case EngineState::kStarting:
    case EngineState::kSleeping:
      StopNow(*e, why, &out);
      break;
    case EngineState::kDraining:
      e->sleep_after_drain = false;
      e->drain_reason = why;
      break;
    case EngineState::kStopping:  // a sleep in progress is turned into a stop by EngineSlept
    case EngineState::kStopped:
    case EngineState::kFailed:
      break;
  }
  e->reason = why;
  Reconcile(now, &out);
  return out;
}

// ---- Time ---------------------------------------------------------------------------------

std::vector<Effect> ResidencyScheduler::Tick(double now) {
  last_now_ = std::max(last_now_, now);
  std::vector<Effect> out;
  for (Engine& e : engines_) {
    if (e.state == EngineState::kDraining && now >= e.drain_deadline) {
      e.drain_reason += " (drain timed out with " + std::to_string(e.in_flight) + " in flight)";
      FinishDrain(e, &out);
    }
    if (e.admitted > 0 && now >= e.admitted_until) e.admitted = 0;
  }
  Reconcile(now, &out);
  return out;
}

double ResidencyScheduler::NextDeadline() const {
  bool someone_waits = false;
  for (const Engine& e : engines_)
    someone_waits |= Wants(e) && Parked(e.state);
  double next = kInfinity;
  for (const Engine& e : engines_) {
    if (e.state == EngineState::kDraining) next = std::min(next, e.drain_deadline);
    if (e.admitted > 0) next = std::min(next, e.admitted_until);
    double hold_ends = e.ready_since + options_.hold_s;
    if (someone_waits && e.state == EngineState::kReady && Busy(e) && hold_ends > last_now_) {
      next = std::min(next, hold_ends);
    }
  }
  return next;
}

// ---- Queries ------------------------------------------------------------------------------

EngineState ResidencyScheduler::state(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr ? e->state : EngineState::kStopped;
}
std::string ResidencyScheduler::profile(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr ? e->profile : "";
}
int ResidencyScheduler::in_flight(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr ? e->in_flight : 0;
}
int ResidencyScheduler::waiting(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr ? e->waiting : 0;
}
bool ResidencyScheduler::paused(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr && e->paused;
}
bool ResidencyScheduler::admin_stopped(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr && e->admin_stopped;
}
std::string ResidencyScheduler::reason(const std::string& engine) const {
  const Engine* e = Find(engine);
  return e != nullptr ? e->reason : "";
}

// ---- Internals ----------------------------------------------------------------------------

ResidencyScheduler::Engine* ResidencyScheduler::Find(const std::string& name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &engines_[it->second];
}
const ResidencyScheduler::Engine* ResidencyScheduler::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &engines_[it->second];
}

uint64_t ResidencyScheduler::BytesFor(const Engine& e) const {
  const auto& profiles = e.spec.bytes_by_profile;
  auto it = profiles.find(e.profile);
  if (it == profiles.end()) it = profiles.find("normal");
  if (it != profiles.end()) return it->second;
  // Validate() rejects this; assume the worst rather than promise too little.
  uint64_t most = 0;
  for (const auto& [name, bytes] : profiles)
    most = std::max(most, bytes);
  return most;
}

bool ResidencyScheduler::Wants(const Engine& e) const {
  return (e.want_run || e.waiting > 0) && !e.paused && !e.admin_stopped &&
         e.state != EngineState::kFailed;
}

bool ResidencyScheduler::Busy(const Engine& e) const {
  return e.in_flight > 0 || e.waiting > 0 || e.admitted > 0;
}

void ResidencyScheduler::MarkWanted(Engine& e) {
  if (!e.want_run && e.waiting == 0) e.want_seq = next_want_seq_++;
  e.want_run = true;
}

void ResidencyScheduler::AddWaiter(Engine& e) {
  // A request admitted earlier that finds the engine gone again moves back to waiting.
  if (e.admitted > 0) --e.admitted;
  if (!e.want_run && e.waiting == 0) e.want_seq = next_want_seq_++;
  ++e.waiting;
}

void ResidencyScheduler::Restart(Engine& e, const std::string& reason, double now,
                                 std::vector<Effect>* out) {
  if (e.admin_stopped || e.state == EngineState::kFailed) return;
  bool running = e.state == EngineState::kReady || e.state == EngineState::kStarting;
  if (running && ledger_.HeldProfile(e.spec.name) == e.profile) return;  // already right
  MarkWanted(e);
  switch (e.state) {
    case EngineState::kReady:
      Drain(e, /*sleep=*/false, reason, now, out);
      break;
    case EngineState::kStarting:
    case EngineState::kSleeping:  // a sleeping engine wakes in its old profile only
      StopNow(e, reason, out);
      break;
    case EngineState::kDraining:
      e.sleep_after_drain = false;
      break;
    case EngineState::kStopping:  // a pending sleep ends in EngineSlept, then TryStart stops it
    case EngineState::kStopped:
    case EngineState::kFailed:
      break;
  }
}

void ResidencyScheduler::Reconcile(double now, std::vector<Effect>* out) {
  last_now_ = std::max(last_now_, now);
  // The memory queue: parked engines that should run, in the order they asked.
  std::vector<Engine*> queue;
  for (Engine& e : engines_) {
    if (Wants(e) && Parked(e.state)) queue.push_back(&e);
  }
  std::sort(queue.begin(), queue.end(),
            [](const Engine* a, const Engine* b) { return a->want_seq < b->want_seq; });

  // Only the head may evict; the others start only if they fit without taking the head's share,
  // so a large engine is not starved by a stream of small ones.
  bool blocked = false;
  uint64_t head_need = 0;
  for (Engine* e : queue) {
    uint64_t held = ledger_.Held(e->spec.name).value_or(0);
    uint64_t bytes = BytesFor(*e);
    uint64_t need = bytes > held ? bytes - held : 0;
    if (blocked) {
      if (need <= ledger_.free_bytes() && head_need <= ledger_.free_bytes() - need) {
        TryStart(*e, out);
      }
      continue;
    }
    if (!BurstGateOpen(*e)) {
      blocked = true;
      head_need = need;
      continue;
    }
    if (need <= ledger_.free_bytes() && TryStart(*e, out)) continue;

    blocked = true;
    head_need = need;
    uint64_t coming = ledger_.free_bytes() + PendingFree();
    if (coming >= need) continue;  // stops already under way will make room
    uint64_t shortfall = need - coming;
    std::vector<std::string> victims = ChooseVictims(Candidates(*e, now, true), shortfall);
    if (!victims.empty()) {
      std::string why = "evicted for '" + e->spec.name + "' (needs " + GiB(bytes) + ")";
      for (const std::string& name : victims) {
        Drain(*Find(name), /*sleep=*/false, why, now, out);
        ++swaps_;
      }
      continue;
    }
    // Waiting helps only if a hold window ending or a load finishing would make a victim.
    if (!ChooseVictims(Candidates(*e, now, false), shortfall).empty()) continue;
    e->reason = "'" + e->spec.name + "' needs " + GiB(bytes) + " but only " +
                GiB(ledger_.free_bytes()) + " of " + GiB(ledger_.pool_bytes()) +
                " is free and stopping every engine that may be stopped (not pinned, paused or "
                "bursting) would not free enough";
    e->want_run = false;
    RejectWaiters(*e, e->reason, out);
    blocked = false;
    head_need = 0;
  }
  UpdateBurstSwitching();
}

bool ResidencyScheduler::TryStart(Engine& e, std::vector<Effect>* out) {
  const std::string& name = e.spec.name;
  uint64_t bytes = BytesFor(e);
  if (e.state == EngineState::kSleeping) {
    if (ledger_.HeldProfile(name) != e.profile) {
      StopNow(e, "asleep in another profile", out);  // restarts from kStopped once it exits
      return true;
    }
    if (!ledger_.Resize(name, bytes, LedgerReason(name))) return false;
    Emit(out, Effect::Kind::kWake, name, e.profile);
  } else {
    if (!ledger_.Reserve(name, e.profile, bytes, LedgerReason(name))) return false;
    Emit(out, Effect::Kind::kStart, name, e.profile);
  }
  e.state = EngineState::kStarting;
  e.want_run = false;
  e.reason.clear();
  return true;
}

uint64_t ResidencyScheduler::PendingFree() const {
  uint64_t coming = 0;
  for (const Engine& e : engines_) {
    if (e.state != EngineState::kDraining && e.state != EngineState::kStopping) continue;
    uint64_t held = ledger_.Held(e.spec.name).value_or(0);
    uint64_t kept =
        e.sleep_after_drain && e.spec.can_sleep ? std::min(held, e.spec.sleeping_bytes) : 0;
    coming += held - kept;
  }
  return coming;
}

std::vector<EvictionCandidate> ResidencyScheduler::Candidates(const Engine& target, double now,
                                                              bool strict) const {
  std::vector<EvictionCandidate> candidates;
  for (const Engine& o : engines_) {
    if (&o == &target) continue;
    if (o.state == EngineState::kDraining || o.state == EngineState::kStopping) continue;
    uint64_t held = ledger_.Held(o.spec.name).value_or(0);
    if (held == 0) continue;
    EvictionCandidate c;
    c.name = o.spec.name;
    c.bytes = held;
    c.in_flight = o.in_flight;
    c.waiting = o.waiting + o.admitted;
    c.idle_since = o.last_active;
    c.load_seconds = o.spec.load_seconds;
    // The bursting engine's memory is the burst; an on-demand load does not take it.
    c.pinned = o.spec.pinned || o.spec.name == burst_engine_;
    c.paused = o.paused;
    c.starting = strict && o.state == EngineState::kStarting;
    c.held = strict && o.state == EngineState::kReady && Busy(o) &&
             now < o.ready_since + options_.hold_s;
    candidates.push_back(std::move(c));
  }
  return candidates;
}

void ResidencyScheduler::Drain(Engine& e, bool sleep, const std::string& reason, double now,
                               std::vector<Effect>* out) {
  e.admitted = 0;  // they come back through Demand and wait
  e.sleep_after_drain = sleep;
  e.drain_reason = reason;
  e.reason = reason;
  if (e.state != EngineState::kReady || e.in_flight == 0) {
    FinishDrain(e, out);
    return;
  }
  e.state = EngineState::kDraining;
  e.drain_deadline = now + options_.drain_timeout_s;
}

void ResidencyScheduler::FinishDrain(Engine& e, std::vector<Effect>* out) {
  if (e.sleep_after_drain && e.spec.can_sleep && e.state != EngineState::kSleeping) {
    Emit(out, Effect::Kind::kSleep, e.spec.name, "", e.drain_reason);
    e.state = EngineState::kStopping;
    return;
  }
  StopNow(e, e.drain_reason, out);
}

void ResidencyScheduler::StopNow(Engine& e, const std::string& reason, std::vector<Effect>* out) {
  Emit(out, Effect::Kind::kStop, e.spec.name, "", reason);
  e.state = EngineState::kStopping;
  e.sleep_after_drain = false;
  e.admitted = 0;
  e.reason = reason;
}

void ResidencyScheduler::Admit(Engine& e, double now, std::vector<Effect>* out) {
  Emit(out, Effect::Kind::kAdmit, e.spec.name);
  e.admitted += e.waiting;
  e.waiting = 0;
  e.admitted_until = now + options_.admit_grace_s;
}

void ResidencyScheduler::RejectWaiters(Engine& e, const std::string& reason,
                                       std::vector<Effect>* out) {
  if (e.waiting == 0 && e.admitted == 0) return;
  Emit(out, Effect::Kind::kReject, e.spec.name, "", reason);
  e.waiting = 0;
  e.admitted = 0;
}

bool ResidencyScheduler::BurstGateOpen(const Engine& e) const {
  if (e.spec.name != burst_engine_) return true;
  auto it = bursts_.find(burst_engine_);
  if (it == bursts_.end() || e.profile != it->second.profile) return true;
  // The burst starts on a quiet machine: every paused engine has finished stopping or sleeping.
  for (const std::string& name : it->second.pauses) {
    const Engine* p = Find(name);
    if (p != nullptr && InTransition(p->state)) return false;
  }
  return true;
}

std::string ResidencyScheduler::LedgerReason(const std::string& engine) const {
  if (!burst_switching_) return {};
  bool part = engine == switch_engine_;
  if (auto it = bursts_.find(switch_engine_); it != bursts_.end()) {
    for (const std::string& name : it->second.pauses)
      part = part || name == engine;
  }
  if (!part) return {};
  return (burst_engine_.empty() ? "burst off: " : "burst on: ") + burst_reason_;
}

void ResidencyScheduler::UpdateBurstSwitching() {
  if (!burst_switching_) return;
  auto pending = [this](const Engine* e) {
    return e != nullptr && (InTransition(e->state) || (Wants(*e) && Parked(e->state)));
  };
  if (pending(Find(switch_engine_))) return;
  auto it = bursts_.find(switch_engine_);
  if (it != bursts_.end()) {
    for (const std::string& name : it->second.pauses) {
      if (pending(Find(name))) return;
    }
  }
  burst_switching_ = false;
}

}  // namespace cortex::sched
