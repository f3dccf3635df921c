#include "sim/memory_hold.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cortex::sim {
namespace {

uint64_t PageSize() {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

uint64_t RoundUp(uint64_t n, uint64_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

StatusOr<std::unique_ptr<MemoryHold>> MemoryHold::Create(uint64_t capacity, uint64_t bytes) {
  capacity = std::max<uint64_t>(RoundUp(capacity, PageSize()), PageSize());
  void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Status::IoError(
        fmt::format("cannot map {} bytes to hold: {}", capacity, std::strerror(errno)));
  }
  std::unique_ptr<MemoryHold> hold(new MemoryHold(static_cast<char*>(p), capacity));
  hold->Resize(bytes);
  return hold;
}

MemoryHold::~MemoryHold() {
  ::munmap(base_, capacity_);
}

void MemoryHold::Resize(uint64_t bytes) {
  bytes = std::min(RoundUp(bytes, PageSize()), capacity_);
  if (bytes > bytes_) {
    // A write per page makes the kernel back it (a read would map the shared zero page).
    for (uint64_t off = bytes_; off < bytes; off += PageSize())
      base_[off] = 1;
  } else if (bytes < bytes_) {
    ::madvise(base_ + bytes, bytes_ - bytes, MADV_DONTNEED);
  }
  bytes_ = bytes;
}

}  // namespace cortex::sim
