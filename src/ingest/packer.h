// Packer: a source tree (an uploaded archive or a directory) as one prompt text, the way the
// repo packers users know (repomix, gitingest) lay it out: a directory tree first, then every
// text file under a header with its path. The format is stable and documented in
// docs/INGEST.md ("The packed format"):
//
//   This is a packed copy of a source tree: ... (one fixed paragraph)
//
//   <directory_structure>
//   src/
//     main.cpp
//   README.md
//   </directory_structure>
//
//   <files>
//   <file path="src/main.cpp">
//   ...content...
//   </file>
//   </files>
//
// What is left out, each counted by reason: .gitignore rules at every level plus the default
// ignores (ignore_rules.h), binary files (a NUL byte or invalid UTF-8), files over the per-file
// cap, and everything ReadArchive refuses (links, devices, unsafe names, nested archives).
// Left-out files that are not ignored still appear in the tree, as repomix does.
//
// Order is deterministic and independent of the archive's own order: per directory,
// sub-directories first, then files, each by byte order of the name.
//
// Memory stays flat in the size of the tree: contents stream through one file-sized buffer
// (at most the per-file cap). An archive is read twice, first for its names and .gitignore
// files, then for the contents, which are spooled to a file beside the output and copied into
// place in order, so no archive path is ever created on disk.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ingest/archive_reader.h"
#include "util/status.h"

namespace cortex::ingest {

struct PackOptions {
  uint64_t max_file_bytes = 10ull << 20;  // ingest.max_file_size: larger files are left out
  bool use_gitignore = true;
  bool default_ignores = true;
};

// One file's block in the packed output (header, content, footer), for splitting by files.
struct PackedFile {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct PackStats {
  uint64_t entries = 0;       // archive entries or directory entries seen
  uint64_t files_seen = 0;    // regular files with safe names
  uint64_t files_packed = 0;  // in the output
  uint64_t content_bytes = 0;
  uint64_t output_bytes = 0;
  std::array<uint64_t, kSkipReasonCount> skipped{};
  // The first left-out entries with their reasons (at most kMaxSkipExamples).
  std::vector<std::pair<std::string, SkipReason>> skip_examples;
  std::vector<PackedFile> files;  // in output order
  uint64_t prologue_bytes = 0;    // the tree before the first file
  uint64_t epilogue_bytes = 0;    // the closing lines after the last file
  ArchiveStats archive;           // archives only

  uint64_t skipped_total() const;
};
inline constexpr size_t kMaxSkipExamples = 200;

// Called as work proceeds: the stage ("unpacking", "packing"), what is done of the total, in
// `unit` ("bytes", "files"). Returning false cancels (the call then returns IoError
// "cancelled").
using PackProgress = std::function<bool(std::string_view stage, uint64_t done, uint64_t total,
                                        std::string_view unit)>;

// Packs the archive at `archive_path` into `out_path`, spooling contents through `spool_path`
// (removed afterwards).
Status PackArchive(const std::string& archive_path, const ArchiveLimits& limits,
                   const PackOptions& options, const std::string& out_path,
                   const std::string& spool_path, PackStats* stats,
                   const PackProgress& progress = nullptr);

// Packs the directory `dir` (symlinks are never followed; ignored directories are not entered)
// into `out_path`.
Status PackDirectory(const std::string& dir, const PackOptions& options,
                     const std::string& out_path, PackStats* stats,
                     const PackProgress& progress = nullptr);

// The files of `dir` a pack would consider (not ignored, not links), sorted as the pack orders
// them, with their sizes; `cortex ingest DIR` uploads these. Skips are counted in *stats.
StatusOr<std::vector<std::pair<std::string, uint64_t>>> ListDirectory(const std::string& dir,
                                                                      const PackOptions& options,
                                                                      PackStats* stats);

// Byte order per component, sub-directories before files at each level. Exposed for tests.
bool PackOrderLess(std::string_view a, std::string_view b);
// Whether `bytes` is text: no NUL byte and valid UTF-8 (a partial sequence at the very end is
// allowed when `truncated`).
bool LooksLikeText(std::string_view bytes);

}  // namespace cortex::ingest
