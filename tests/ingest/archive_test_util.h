// Test helpers for the ingest tests: archives built in the test itself with libarchive's write
// API (so that no binary fixture is checked in and every hostile entry is spelled out where it
// is used), a visitor that records what ReadArchive hands out, and directory snapshots for the
// "nothing was written outside the sandbox" checks.
//
// Header-only: tests/ingest globs only *_test.cpp into its binary.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/archive_reader.h"

namespace cortex::ingest::testing {

// The containers and compressions the tests build. kTar is pax_restricted (plain ustar headers
// unless a name or size needs a pax extension), as `tar --format=pax` writes.
enum class TestFormat { kZip, kTar, kTarGz, kTarZst, kTarXz, kTarBz2, k7z };

inline const char* TestFormatName(TestFormat f) {
  switch (f) {
    case TestFormat::kZip:
      return "zip";
    case TestFormat::kTar:
      return "tar";
    case TestFormat::kTarGz:
      return "tar_gz";
    case TestFormat::kTarZst:
      return "tar_zst";
    case TestFormat::kTarXz:
      return "tar_xz";
    case TestFormat::kTarBz2:
      return "tar_bz2";
    case TestFormat::k7z:
      return "7z";
  }
  return "unknown";
}

// The file name suffix an archive of `f` would have.
inline const char* TestFormatSuffix(TestFormat f) {
  switch (f) {
    case TestFormat::kZip:
      return ".zip";
    case TestFormat::kTar:
      return ".tar";
    case TestFormat::kTarGz:
      return ".tar.gz";
    case TestFormat::kTarZst:
      return ".tar.zst";
    case TestFormat::kTarXz:
      return ".tar.xz";
    case TestFormat::kTarBz2:
      return ".tar.bz2";
    case TestFormat::k7z:
      return ".7z";
  }
  return "";
}

// Writes one archive entry by entry. Every method records the first libarchive failure in
// error() and makes the later calls no-ops, so a test writes the whole archive and then checks
// Close() once; a test for an optional format (7z, zstd) can GTEST_SKIP on that error.
//
//   TestArchiveWriter w(path, TestFormat::kTar);
//   w.File("src/a.cpp", "int main() {}\n").Symlink("link", "/etc");
//   ASSERT_TRUE(w.Close()) << w.error();
class TestArchiveWriter {
 public:
  TestArchiveWriter(const std::string& path, TestFormat format) : a_(archive_write_new()) {
    if (!a_) {
      error_ = "archive_write_new failed";
      return;
    }
    int r = ARCHIVE_OK;
    switch (format) {
      case TestFormat::kZip:
        r = archive_write_set_format_zip(a_);
        break;
      case TestFormat::k7z:
        r = archive_write_set_format_7zip(a_);
        break;
      default:
        r = archive_write_set_format_pax_restricted(a_);
        break;
    }
    Check(r, "set_format");
    switch (format) {
      case TestFormat::kTarGz:
        Check(archive_write_add_filter_gzip(a_), "add_filter_gzip");
        break;
      case TestFormat::kTarZst:
        Check(archive_write_add_filter_zstd(a_), "add_filter_zstd");
        break;
      case TestFormat::kTarXz:
        Check(archive_write_add_filter_xz(a_), "add_filter_xz");
        break;
      case TestFormat::kTarBz2:
        Check(archive_write_add_filter_bzip2(a_), "add_filter_bzip2");
        break;
      default:
        break;
    }
    if (ok()) Check(archive_write_open_filename(a_, path.c_str()), "open_filename");
    opened_ = ok();
  }
  ~TestArchiveWriter() {
    if (a_) {
      if (opened_ && !closed_) archive_write_close(a_);
      archive_write_free(a_);
    }
  }
  TestArchiveWriter(const TestArchiveWriter&) = delete;
  TestArchiveWriter& operator=(const TestArchiveWriter&) = delete;

  bool ok() const { return error_.empty(); }
  // The first failure ("add_filter_zstd: ..."), or "" when there was none.
  const std::string& error() const { return error_; }

  // A regular file holding `data`. `declared_size`, when given, is the size written in the
  // header instead of data.size() (libarchive pads or truncates the data to it).
  TestArchiveWriter& File(std::string_view name, std::string_view data,
                          int64_t declared_size = -1) {
    return Add(name, AE_IFREG, 0644, declared_size >= 0 ? declared_size : int64_t(data.size()),
               data, 0, {}, {});
  }
  // A regular file of `n` zero bytes, written a megabyte at a time (a zip bomb, once deflated).
  TestArchiveWriter& Zeros(std::string_view name, uint64_t n) {
    return Add(name, AE_IFREG, 0644, static_cast<int64_t>(n), {}, n, {}, {});
  }
  TestArchiveWriter& Dir(std::string_view name) {
    return Add(name, AE_IFDIR, 0755, 0, {}, 0, {}, {});
  }
  TestArchiveWriter& Symlink(std::string_view name, std::string_view target) {
    return Add(name, AE_IFLNK, 0777, 0, {}, 0, target, {});
  }
  // A hardlink to `target` (tar only; zip has no hardlinks).
  TestArchiveWriter& Hardlink(std::string_view name, std::string_view target) {
    return Add(name, AE_IFREG, 0644, 0, {}, 0, {}, target);
  }
  // A character or block device, FIFO or socket: `type` is AE_IFCHR, AE_IFBLK, AE_IFIFO or
  // AE_IFSOCK.
  TestArchiveWriter& Special(std::string_view name, mode_t type) {
    return Add(name, type, 0644, 0, {}, 0, {}, {});
  }

  // Finishes the archive. Returns ok().
  bool Close() {
    if (opened_ && !closed_) {
      closed_ = true;
      Check(archive_write_close(a_), "close");
    }
    return ok();
  }

 private:
  void Check(int r, const char* what) {
    if (r == ARCHIVE_OK || !error_.empty()) return;
    const char* msg = a_ ? archive_error_string(a_) : nullptr;
    error_ = std::string(what) + ": " + (msg ? msg : "libarchive error " + std::to_string(r));
  }

  TestArchiveWriter& Add(std::string_view name, mode_t type, mode_t perm, int64_t size,
                         std::string_view data, uint64_t zeros, std::string_view symlink,
                         std::string_view hardlink) {
    if (!ok() || !opened_) return *this;
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    &archive_entry_free);
    const std::string n(name);
    archive_entry_set_pathname(e.get(), n.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), perm);
    archive_entry_set_mtime(e.get(), 1'700'000'000, 0);  // fixed: archives are reproducible
    if (type == AE_IFREG) archive_entry_set_size(e.get(), size);
    if (type == AE_IFCHR || type == AE_IFBLK) archive_entry_set_rdev(e.get(), 0x0101);
    if (!symlink.empty()) archive_entry_set_symlink(e.get(), std::string(symlink).c_str());
    if (!hardlink.empty()) archive_entry_set_hardlink(e.get(), std::string(hardlink).c_str());
    Check(archive_write_header(a_, e.get()), "write_header");
    if (!ok()) return *this;
    if (!data.empty() && archive_write_data(a_, data.data(), data.size()) < 0) {
      Check(ARCHIVE_FATAL, "write_data");
    }
    if (zeros > 0) {
      const std::string block(1 << 20, '\0');
      for (uint64_t left = zeros; left > 0 && ok();) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left, block.size()));
        if (archive_write_data(a_, block.data(), n) < 0) Check(ARCHIVE_FATAL, "write_data");
        left -= n;
      }
    }
    if (ok()) Check(archive_write_finish_entry(a_), "finish_entry");
    return *this;
  }

  archive* a_;
  std::string error_;
  bool opened_ = false;
  bool closed_ = false;
};

// What ReadArchive handed a visitor, in order. Wants every file's bytes unless
// `want_data` is false.
class RecordingVisitor : public ArchiveVisitor {
 public:
  struct File {
    std::string path;
    std::string data;
  };

  explicit RecordingVisitor(bool want_data = true) : want_data_(want_data) {}

  bool OnEntry(const ArchiveEntry& entry) override {
    entries.push_back(entry);
    if (entry.kind == EntryKind::kDirectory) {
      dirs.push_back(entry.path);
      return false;
    }
    if (!want_data_) return false;
    files.push_back({entry.path, {}});
    return true;
  }
  Status OnData(std::string_view piece) override {
    files.back().data.append(piece);
    return Status::Ok();
  }
  Status OnEntryEnd() override {
    ++ends;
    return Status::Ok();
  }
  void OnSkip(std::string_view path, SkipReason reason) override {
    skips.emplace_back(std::string(path), reason);
  }

  // The bytes of the file at `path`, or nullptr when none was read.
  const std::string* DataOf(std::string_view path) const {
    for (const File& f : files) {
      if (f.path == path) return &f.data;
    }
    return nullptr;
  }

  std::vector<ArchiveEntry> entries;
  std::vector<File> files;
  std::vector<std::string> dirs;
  std::vector<std::pair<std::string, SkipReason>> skips;
  int ends = 0;

 private:
  bool want_data_;
};

// Every path under `root` (relative, directories with a trailing '/'), symlinks not followed.
inline std::set<std::string> ListTree(const std::string& root) {
  std::set<std::string> out;
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {
    const std::string rel = pending.back();
    pending.pop_back();
    const std::string full = rel.empty() ? root : root + "/" + rel;
    DIR* d = ::opendir(full.c_str());
    if (d == nullptr) continue;
    while (dirent* de = ::readdir(d)) {
      const std::string name = de->d_name;
      if (name == "." || name == "..") continue;
      const std::string child = rel.empty() ? name : rel + "/" + name;
      struct stat st {};
      if (::lstat((root + "/" + child).c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        out.insert(child + "/");
        pending.push_back(child);
      } else {
        out.insert(child);
      }
    }
    ::closedir(d);
  }
  return out;
}

// The names directly in `dir` that contain `needle`.
inline std::set<std::string> NamesContaining(const std::string& dir, std::string_view needle) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* de = ::readdir(d)) {
    if (std::string_view(de->d_name).find(needle) != std::string_view::npos) {
      out.insert(de->d_name);
    }
  }
  ::closedir(d);
  return out;
}

inline bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Writes `content` to `path`, creating the parent directories. Returns false on failure.
inline bool WriteFileAt(const std::string& path, std::string_view content) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    ::mkdir(path.substr(0, slash).c_str(), 0755);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return static_cast<bool>(out);
}

inline std::string ReadFileAt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace cortex::ingest::testing
