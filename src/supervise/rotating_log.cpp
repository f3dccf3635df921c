#include "supervise/rotating_log.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

namespace cortex::supervise {
namespace {
constexpr size_t kKeptLines = 200;
}

RotatingLog::RotatingLog(std::string dir, std::string name, uint64_t max_bytes, int files)
    : dir_(std::move(dir)), name_(std::move(name)), max_bytes_(max_bytes), files_(files) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  Open();
}

RotatingLog::~RotatingLog() {
  if (file_ != nullptr) std::fclose(file_);
}

std::string RotatingLog::path() const {
  return dir_ + "/" + name_ + ".log";
}

void RotatingLog::Open() {
  file_ = std::fopen(path().c_str(), "a");
  size_ = 0;
  std::error_code ec;
  if (file_ != nullptr) size_ = std::filesystem::file_size(path(), ec);
  if (ec) size_ = 0;
}

void RotatingLog::Rotate() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  const std::string base = path();
  std::filesystem::remove(fmt::format("{}.{}", base, files_), ec);
  for (int i = files_ - 1; i >= 1; --i) {
    std::filesystem::rename(fmt::format("{}.{}", base, i), fmt::format("{}.{}", base, i + 1), ec);
  }
  if (files_ >= 1) {
    std::filesystem::rename(base, base + ".1", ec);
  } else {
    std::filesystem::remove(base, ec);
  }
  Open();
}

void RotatingLog::Append(std::string_view bytes) {
  if (file_ != nullptr) {
    std::fwrite(bytes.data(), 1, bytes.size(), file_);
    std::fflush(file_);
    size_ += bytes.size();
    if (max_bytes_ > 0 && size_ >= max_bytes_) Rotate();
  }
  partial_.append(bytes);
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines_.emplace_back(partial_, start, nl - start);
    if (lines_.size() > kKeptLines) lines_.pop_front();
  }
  partial_.erase(0, start);
  // A line without a newline is still bounded.
  if (partial_.size() > 64 * 1024) partial_.erase(0, partial_.size() - 64 * 1024);
}

void RotatingLog::Note(std::string_view line) {
  // On a line of its own even when the engine's last output did not end with a newline (it
  // crashed mid-line), so the mark starts the line and Tail() shows the engine's words apart.
  Append(fmt::format("{}[cortex] {}\n", partial_.empty() ? "" : "\n", line));
}

std::string RotatingLog::Tail(size_t n) const {
  std::string out;
  const size_t from = lines_.size() > n ? lines_.size() - n : 0;
  for (size_t i = from; i < lines_.size(); ++i) {
    out += lines_[i];
    out += '\n';
  }
  return out;
}

}  // namespace cortex::supervise
