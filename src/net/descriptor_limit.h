// The process's descriptor limit. Every client connection, engine connection and open file
// takes one, and a 1024 soft limit (the usual default) runs out long before the machine does;
// the hard limit is what the administrator actually allows.
#pragma once

#include <cstdint>

namespace cortex::net {

struct DescriptorLimit {
  uint64_t before = 0;  // the soft limit found
  uint64_t soft = 0;    // the soft limit now
  uint64_t hard = 0;
  bool raised() const { return soft > before; }
};

// Raises the soft RLIMIT_NOFILE to the hard limit (what nginx's worker_rlimit_nofile does by
// configuration). Children started afterwards inherit the raised limit. An unlimited value
// reads as UINT64_MAX.
DescriptorLimit RaiseDescriptorLimit();

}  // namespace cortex::net
