// ReadArchive: the entries of an uploaded archive, read safely, without writing any of its paths
// to disk.
//
// Extractors keep getting path-escape bugs (zip-slip, symlink and hardlink tricks; see
// docs/INGEST.md "Archives"), so nothing here extracts: libarchive reads the stored upload
// entry by entry and the caller receives each safe regular file's path (a label only) and its
// bytes. Left out, each reported with its name and reason: absolute paths, `..` components,
// names with control characters or backslashes, symlinks, hardlinks, devices, FIFOs, sockets,
// and nested archives (never recursed into).
//
// Limits are checked as bytes come out of the decompressor, never trusting the sizes an
// archive declares: entry count, total uncompressed bytes, one entry's bytes, and the
// expansion ratio of one entry and of the whole archive (zip bombs). Hitting one stops the
// read with a LimitError naming the limit and its config key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace cortex::ingest {

struct ArchiveLimits {
  uint64_t max_total_bytes = 8ull << 30;  // ingest.max_unpacked
  uint64_t max_entries = 100'000;         // ingest.max_entries
  uint64_t max_entry_bytes = 1ull << 30;  // ingest.max_entry_size
  double max_ratio = 100;                 // ingest.max_ratio (uncompressed : compressed)
  // Ratios are judged only past this many uncompressed bytes: tiny files compress extremely
  // well and are harmless.
  uint64_t ratio_floor_bytes = 1ull << 20;
};

// Why an entry was left out; the names are part of the job object (input.skipped).
enum class SkipReason {
  kAbsolutePath,
  kParentPath,  // a `..` component
  kUnsafeName,  // control characters, backslashes, drive letters, overlong
  kSymlink,
  kHardlink,
  kDevice,
  kFifo,
  kSocket,
  kNestedArchive,
  kIgnored,   // .gitignore or the default ignores (packer)
  kBinary,    // NUL bytes or invalid UTF-8 (packer)
  kTooLarge,  // over the packer's per-file cap (packer)
};
std::string_view SkipReasonName(SkipReason reason);
inline constexpr int kSkipReasonCount = 12;

enum class EntryKind { kFile, kDirectory };

struct ArchiveEntry {
  std::string path;  // normalised: relative, '/'-separated, no "." components, no trailing '/'
  EntryKind kind = EntryKind::kFile;
  uint64_t declared_size = 0;  // what the archive says; not trusted for limits
};

class ArchiveVisitor {
 public:
  virtual ~ArchiveVisitor() = default;
  // A file or directory with a safe path. Return true to receive a file's bytes (OnData, then
  // OnEntryEnd); false skips them.
  virtual bool OnEntry(const ArchiveEntry& entry) = 0;
  // The next piece of the entry's bytes. A non-OK status stops the read with it.
  virtual Status OnData(std::string_view piece) = 0;
  virtual Status OnEntryEnd() = 0;
  virtual void OnSkip(std::string_view path, SkipReason reason) = 0;
  // Between entries: return false to stop early (a cancelled job); ReadArchive then returns
  // IoError "cancelled" with stats->cancelled set.
  virtual bool KeepGoing() { return true; }
};

struct ArchiveStats {
  uint64_t entries = 0;             // headers read (every kind)
  uint64_t compressed_bytes = 0;    // of the archive file consumed
  uint64_t uncompressed_bytes = 0;  // out of the decompressor
  std::string format;               // libarchive's name of the format ("ZIP 2.0 (deflation)")
  // Set when a limit stopped the read: "max_entries", "max_unpacked", "max_entry_size",
  // "max_ratio".
  std::string limit;
  bool cancelled = false;
};

// Reads the archive at `path` (zip, tar, tar.gz, tar.zst, tar.xz, tar.bz2, 7z, cpio, ...).
// Returns Corruption naming the problem for something that is not an archive libarchive can
// read (a damaged header included, and a stream only an external program could decompress,
// such as lrzip: no child process is ever started), OutOfRange for a limit (stats->limit says
// which), IoError for a failed read.
Status ReadArchive(const std::string& path, const ArchiveLimits& limits, ArchiveVisitor& visitor,
                   ArchiveStats* stats);
// The same for an archive held in memory (the fuzz target; small uploads); `name` stands for
// the path in messages. REQUIRES: `bytes` stays valid for the call.
Status ReadArchiveFromMemory(std::string_view bytes, const std::string& name,
                             const ArchiveLimits& limits, ArchiveVisitor& visitor,
                             ArchiveStats* stats);

// Normalises an entry name. Returns the cleaned path, or sets *reason and returns "". Exposed
// for tests.
std::string NormaliseEntryPath(std::string_view name, SkipReason* reason);
// Whether a file name looks like an archive or compressed file (never recursed into).
bool LooksLikeArchive(std::string_view path);

}  // namespace cortex::ingest
