// RotatingLog: an engine's captured output in `DIR/NAME.log`, rotated by size.
//
// Engines log a lot (llama-server at -lv 4 logs every request), and a supervisor that runs for
// weeks must not fill the disk: when the file passes `max_bytes` it becomes NAME.log.1, the
// older ones shift up, and the oldest beyond `files` is deleted. The last lines are also kept
// in memory, so a failed start can say what the engine printed before it died.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <string_view>

namespace cortex::supervise {

class RotatingLog {
 public:
  RotatingLog(std::string dir, std::string name, uint64_t max_bytes, int files);
  ~RotatingLog();
  RotatingLog(const RotatingLog&) = delete;
  RotatingLog& operator=(const RotatingLog&) = delete;

  void Append(std::string_view bytes);
  // A line of our own (start, exit, restart) in the same file, marked as the supervisor's; it
  // ends an unfinished line of the engine's first.
  void Note(std::string_view line);
  std::string path() const;
  // The last `n` complete lines, oldest first.
  std::string Tail(size_t n) const;

 private:
  void Open();
  void Rotate();

  std::string dir_;
  std::string name_;
  uint64_t max_bytes_;
  int files_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  std::string partial_;
  std::deque<std::string> lines_;
};

}  // namespace cortex::supervise
