// Status and StatusOr<T>: how errors cross module boundaries in Cortex.
//
// A Status is either OK or an error with a code and a human-readable message. The message is
// written for the operator who will read it ("model.gguf: tensor 'blk.0.attn_q.weight' ends at
// byte 123456789, past the end of the file (1000 bytes)"), so callers usually pass it on as is,
// prefixing context when they add some.
//
// StatusOr<T> holds either a T or a non-OK Status. Accessing the value of an error is a
// programming mistake and aborts.
//
// Both are plain values: copyable, movable, safe to use from any thread that owns them.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace cortex {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is malformed (config, flags, request)
    kNotFound,         // a file, model or name does not exist
    kIoError,          // the operating system refused a read or write
    kCorruption,       // a file's bytes contradict its own format
    kUnsupported,      // well-formed, but something we (or the engine) cannot handle
    kOutOfRange,       // a value is outside what can be represented or allowed
    kExhausted,        // this process ran out of something (descriptors): not the peer's fault
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(Code::kInvalidArgument, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status IoError(std::string message) { return Status(Code::kIoError, std::move(message)); }
  static Status Corruption(std::string message) {
    return Status(Code::kCorruption, std::move(message));
  }
  static Status Unsupported(std::string message) {
    return Status(Code::kUnsupported, std::move(message));
  }
  static Status OutOfRange(std::string message) {
    return Status(Code::kOutOfRange, std::move(message));
  }
  static Status Exhausted(std::string message) {
    return Status(Code::kExhausted, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // Empty for OK.
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<prefix>: <message>". OK stays OK.
  Status WithPrefix(const std::string& prefix) const {
    if (ok()) return *this;
    return Status(code_, prefix + ": " + message_);
  }

  // "OK" or "<code name>: <message>".
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class StatusOr {
 public:
  // REQUIRES: !status.ok()
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) std::abort();
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & {
    if (!ok()) std::abort();
    return *value_;
  }
  const T& value() const& {
    if (!ok()) std::abort();
    return *value_;
  }
  T&& value() && {
    if (!ok()) std::abort();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace cortex
