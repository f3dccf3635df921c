#include "ingest/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace cortex::ingest {
namespace {

struct WriterDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

Status WriteTar(const std::string& dir, const std::vector<std::pair<std::string, uint64_t>>& files,
                const std::string& out_path,
                const std::function<void(uint64_t, uint64_t)>& progress) {
  std::unique_ptr<archive, WriterDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), out_path.c_str()) != ARCHIVE_OK) {
    return Status::IoError(
        fmt::format("cannot write {}: {}", out_path, archive_error_string(a.get())));
  }
  uint64_t total = 0, done = 0;
  for (const auto& f : files)
    total += f.second;
  std::string buffer(1 << 16, '\0');
  for (const auto& [path, size] : files) {
    std::unique_ptr<std::FILE, FileCloser> in(std::fopen((dir + "/" + path).c_str(), "rb"));
    if (!in) continue;
    std::fseek(in.get(), 0, SEEK_END);
    const long length = std::ftell(in.get());
    std::fseek(in.get(), 0, SEEK_SET);
    if (length < 0) continue;
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), length);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      return Status::IoError(fmt::format("{}: {}", path, archive_error_string(a.get())));
    }
    long left = length;  // exactly the size in the header, even if the file changes meanwhile
    while (left > 0) {
      const size_t want =
          static_cast<size_t>(std::min<long>(left, static_cast<long>(buffer.size())));
      size_t got = std::fread(buffer.data(), 1, want, in.get());
      if (got == 0) {  // shrank: pad with zeros to keep the archive consistent
        std::fill(buffer.begin(), buffer.begin() + static_cast<long>(want), '\0');
        got = want;
      }
      if (archive_write_data(a.get(), buffer.data(), got) < 0) {
        return Status::IoError(fmt::format("{}: {}", out_path, archive_error_string(a.get())));
      }
      left -= static_cast<long>(got);
    }
    done += size;
    if (progress) progress(done, total);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return Status::IoError(fmt::format("{}: {}", out_path, archive_error_string(a.get())));
  }
  return Status::Ok();
}

}  // namespace cortex::ingest
