#include "net/descriptor_limit.h"

#include <sys/resource.h>

namespace cortex::net {
namespace {

uint64_t AsCount(rlim_t v) {
  return v == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(v);
}

}  // namespace

DescriptorLimit RaiseDescriptorLimit() {
  DescriptorLimit out;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return out;
  out.before = out.soft = AsCount(lim.rlim_cur);
  out.hard = AsCount(lim.rlim_max);
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.soft = out.hard;
  }
  return out;
}

}  // namespace cortex::net
