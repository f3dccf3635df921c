#include "util/status.h"

namespace cortex {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kIoError:
      return "I/O error";
    case Code::kCorruption:
      return "corrupt";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kOutOfRange:
      return "out of range";
    case Code::kExhausted:
      return "out of resources";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace cortex
