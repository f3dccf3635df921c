// MemoryLedger: the bytes of the shared memory pool that engines have been promised.
//
// Cortex runs several inference engines on one machine whose memory (on a unified-memory box:
// CPU and GPU alike) is a single pool. Before an engine is started, the scheduler reserves the
// bytes its plan says it will use; the reservation is released only once the engine's process
// has really exited (or shrunk, when it went to sleep). Counting promises rather than measuring
// usage is what makes the invariant provable: committed_bytes() <= pool_bytes() at every
// instant, so two engines can never be loading into the same bytes.
//
// Every change, and every refusal, is appended to a bounded event log (the last 10,000 events)
// with a sequence number and the committed sum after it, so /admin/status and the tests can
// replay what happened.
//
// Pure state; no I/O, no clock. Not thread-safe: the scheduler's event loop owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cortex::sched {

struct LedgerEvent {
  enum class Kind { kReserve, kRelease, kRefuse };
  uint64_t seq = 0;
  Kind kind = Kind::kReserve;
  std::string engine;
  std::string profile;
  uint64_t bytes = 0;            // reserved, released, or asked for (refused)
  uint64_t committed_after = 0;  // the ledger's sum after the event
  // Why, when the caller knows more than the kind says: "burst on: ingest job ing_…".
  std::string reason;
};

// "reserve", "release", "refuse".
std::string_view LedgerEventKindName(LedgerEvent::Kind kind);

class MemoryLedger {
 public:
  // How many events events() keeps; older ones are dropped first.
  static constexpr size_t kMaxEvents = 10000;

  explicit MemoryLedger(uint64_t pool_bytes);

  uint64_t pool_bytes() const { return pool_bytes_; }
  uint64_t committed_bytes() const { return committed_; }
  uint64_t free_bytes() const { return pool_bytes_ - committed_; }

  // Reserves `bytes` for `engine`, tagged with the profile it will run. Returns false, leaves
  // the ledger unchanged and logs a kRefuse event when committed + bytes > pool or the engine
  // already holds a reservation (an engine holds at most one).
  bool Reserve(const std::string& engine, const std::string& profile, uint64_t bytes,
               std::string_view reason = {});

  // Changes what `engine` holds to `bytes`, keeping its profile: a sleeping engine gives back
  // all but its sleeping bytes, and takes them again to wake. Logs the difference as a kReserve
  // or kRelease. Returns false (with a kRefuse event when it grows) when the engine holds
  // nothing or the growth does not fit; then nothing changes.
  bool Resize(const std::string& engine, uint64_t bytes, std::string_view reason = {});

  // Releases everything `engine` holds. No-op (no event) when it holds nothing.
  void Release(const std::string& engine, std::string_view reason = {});

  // The bytes `engine` holds, or nullopt when it holds nothing.
  std::optional<uint64_t> Held(const std::string& engine) const;
  // The profile `engine` reserved for, or nullopt when it holds nothing.
  std::optional<std::string> HeldProfile(const std::string& engine) const;

  // The last kMaxEvents events, oldest first.
  const std::deque<LedgerEvent>& events() const { return events_; }

 private:
  struct Holding {
    std::string profile;
    uint64_t bytes = 0;
  };

  void Log(LedgerEvent::Kind kind, const std::string& engine, const std::string& profile,
           uint64_t bytes, std::string_view reason);

  uint64_t pool_bytes_;
  uint64_t committed_ = 0;
  uint64_t next_seq_ = 1;
  std::map<std::string, Holding> holdings_;
  std::deque<LedgerEvent> events_;
};

}  // namespace cortex::sched
