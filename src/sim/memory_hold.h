// MemoryHold: memory the simulator really occupies, so that memory monitoring (process RSS,
// /proc/meminfo) and the supervisor's ledger can be checked against a live process.
//
// `--sim-hold-memory F` asks for F x the bytes the planner says the engine allocates. The hold
// maps anonymous memory and writes one byte in every page, so the kernel backs all of it: the
// process's VmRSS grows by about that many bytes (give or take a page per mapping).
// Resize(smaller) gives pages back to the kernel (MADV_DONTNEED, RSS drops); Resize(larger)
// touches them again — vLLM's sleep and wake-up use that.
//
// Thread safety: none; owned by the simulator's event-loop thread.
#pragma once

#include <cstdint>
#include <memory>

#include "util/status.h"

namespace cortex::sim {

class MemoryHold {
 public:
  // Reserves `capacity` bytes of address space and touches the first `bytes` of it.
  // Returns IoError when the mapping fails (address space or overcommit limits).
  // REQUIRES: bytes <= capacity.
  static StatusOr<std::unique_ptr<MemoryHold>> Create(uint64_t capacity, uint64_t bytes);
  ~MemoryHold();
  MemoryHold(const MemoryHold&) = delete;
  MemoryHold& operator=(const MemoryHold&) = delete;

  // Holds `bytes` (clamped to the capacity): touches what is new, releases what is beyond.
  void Resize(uint64_t bytes);
  uint64_t bytes() const { return bytes_; }
  uint64_t capacity() const { return capacity_; }

 private:
  MemoryHold(char* base, uint64_t capacity) : base_(base), capacity_(capacity) {}
  char* base_;
  uint64_t capacity_;
  uint64_t bytes_ = 0;
};

}  // namespace cortex::sim
