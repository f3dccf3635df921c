#include "sched/memory_ledger.h"

namespace cortex::sched {

std::string_view LedgerEventKindName(LedgerEvent::Kind kind) {
  switch (kind) {
    case LedgerEvent::Kind::kReserve:
      return "reserve";
    case LedgerEvent::Kind::kRelease:
      return "release";
    case LedgerEvent::Kind::kRefuse:
      return "refuse";
  }
  return "unknown";
}

MemoryLedger::MemoryLedger(uint64_t pool_bytes) : pool_bytes_(pool_bytes) {}

bool MemoryLedger::Reserve(const std::string& engine, const std::string& profile, uint64_t bytes,
                           std::string_view reason) {
  // Written as a subtraction so a huge `bytes` cannot overflow past the check.
  if (holdings_.count(engine) != 0 || bytes > pool_bytes_ - committed_) {
    Log(LedgerEvent::Kind::kRefuse, engine, profile, bytes, reason);
    return false;
  }
  holdings_[engine] = Holding{profile, bytes};
  committed_ += bytes;
  Log(LedgerEvent::Kind::kReserve, engine, profile, bytes, reason);
  return true;
}

bool MemoryLedger::Resize(const std::string& engine, uint64_t bytes, std::string_view reason) {
  auto it = holdings_.find(engine);
  if (it == holdings_.end()) return false;
  Holding& held = it->second;
  if (bytes == held.bytes) return true;
  if (bytes < held.bytes) {
    uint64_t freed = held.bytes - bytes;
    held.bytes = bytes;
    committed_ -= freed;
    Log(LedgerEvent::Kind::kRelease, engine, held.profile, freed, reason);
    return true;
  }
  uint64_t growth = bytes - held.bytes;
  if (growth > pool_bytes_ - committed_) {
    Log(LedgerEvent::Kind::kRefuse, engine, held.profile, growth, reason);
    return false;
  }
  held.bytes = bytes;
  committed_ += growth;
  Log(LedgerEvent::Kind::kReserve, engine, held.profile, growth, reason);
  return true;
}

void MemoryLedger::Release(const std::string& engine, std::string_view reason) {
  auto it = holdings_.find(engine);
  if (it == holdings_.end()) return;
  Holding held = it->second;
  holdings_.erase(it);
  committed_ -= held.bytes;
  Log(LedgerEvent::Kind::kRelease, engine, held.profile, held.bytes, reason);
}

std::optional<uint64_t> MemoryLedger::Held(const std::string& engine) const {
  auto it = holdings_.find(engine);
  if (it == holdings_.end()) return std::nullopt;
  return it->second.bytes;
}

std::optional<std::string> MemoryLedger::HeldProfile(const std::string& engine) const {
  auto it = holdings_.find(engine);
  if (it == holdings_.end()) return std::nullopt;
  return it->second.profile;
}

void MemoryLedger::Log(LedgerEvent::Kind kind, const std::string& engine,
                       const std::string& profile, uint64_t bytes, std::string_view reason) {
  events_.push_back(
      LedgerEvent{next_seq_++, kind, engine, profile, bytes, committed_, std::string(reason)});
  while (events_.size() > kMaxEvents)
    events_.pop_front();
}

}  // namespace cortex::sched
