#include "ingest/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "util/bytes.h"

namespace cortex::ingest {
namespace {

constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kReadBlock = 64 * 1024;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    const char c = s[s.size() - suffix.size() + i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != suffix[i]) return false;
  }
  return true;
}

// libarchive's message for the last failure; it can be null (fmt refuses a null C string).
const char* ErrorText(archive* a, const char* fallback) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : fallback;
}

Status LimitError(ArchiveStats* stats, const char* limit, std::string message) {
  stats->limit = limit;
  return Status::OutOfRange(std::move(message));
}

}  // namespace

std::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kAbsolutePath:
      return "absolute_path";
    case SkipReason::kParentPath:
      return "parent_path";
    case SkipReason::kUnsafeName:
      return "unsafe_name";
    case SkipReason::kSymlink:
      return "symlink";
    case SkipReason::kHardlink:
      return "hardlink";
    case SkipReason::kDevice:
      return "device";
    case SkipReason::kFifo:
      return "fifo";
    case SkipReason::kSocket:
      return "socket";
    case SkipReason::kNestedArchive:
      return "nested_archive";
    case SkipReason::kIgnored:
      return "ignored";
    case SkipReason::kBinary:
      return "binary";
    case SkipReason::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

std::string NormaliseEntryPath(std::string_view name, SkipReason* reason) {
  if (name.empty() || name.size() > kMaxPathBytes) {
    *reason = SkipReason::kUnsafeName;
    return {};
  }
  if (name.front() == '/') {
    *reason = SkipReason::kAbsolutePath;
    return {};
  }
  // A drive letter or UNC prefix means an absolute Windows path.
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
    *reason = SkipReason::kAbsolutePath;
    return {};
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    // Control characters would let a name break the packed prompt's structure (a newline and
    // a fake file header); a backslash is a separator to Windows tools.
    if (u < 0x20 || u == 0x7f || c == '\\') {
      *reason = SkipReason::kUnsafeName;
      return {};
    }
  }
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    const std::string_view part = name.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      *reason = SkipReason::kParentPath;
      return {};
    }
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.empty()) *reason = SkipReason::kUnsafeName;
  return out;
}

bool LooksLikeArchive(std::string_view path) {
  static constexpr std::array<std::string_view, 22> kSuffixes = {
      ".zip", ".tar", ".tgz",  ".gz",  ".bz2",  ".xz",  ".zst",  ".7z",  ".rar",  ".jar", ".war",
      ".ear", ".apk", ".cpio", ".lz4", ".lzma", ".tbz", ".tbz2", ".txz", ".tzst", ".iso", ".whl"};
  return std::any_of(kSuffixes.begin(), kSuffixes.end(),
                     [&](std::string_view s) { return EndsWith(path, s); });
}

namespace {

using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

// The decompression filters libarchive runs in-process. archive_read_support_filter_all would
// also register lrzip and grzip (and lzop, lz4, zstd, ... when libarchive was built without
// their library), which decompress by spawning that program from PATH on the upload's bytes:
// a child process outside our limits, for any upload that starts with its magic. Their support
// calls answer ARCHIVE_WARN ("using external program"), so a probe reader sorts them out once.
using FilterSupport = int (*)(archive*);
const std::vector<FilterSupport>& InProcessFilters() {
  static const std::vector<FilterSupport> filters = [] {
    constexpr FilterSupport kAll[] = {
        archive_read_support_filter_gzip,  archive_read_support_filter_bzip2,
        archive_read_support_filter_xz,    archive_read_support_filter_lzma,
        archive_read_support_filter_lzip,  archive_read_support_filter_zstd,
        archive_read_support_filter_lz4,   archive_read_support_filter_compress,
        archive_read_support_filter_lzop,  archive_read_support_filter_lrzip,
        archive_read_support_filter_grzip, archive_read_support_filter_uu,
        archive_read_support_filter_rpm};
    std::vector<FilterSupport> out;
    for (FilterSupport support : kAll) {
      ArchivePtr probe(archive_read_new());
      if (probe && support(probe.get()) == ARCHIVE_OK) out.push_back(support);
    }
    return out;
  }();
  return filters;
}

ArchivePtr NewReader() {
  ArchivePtr a(archive_read_new());
  if (a) {
    for (FilterSupport support : InProcessFilters())
      support(a.get());
    archive_read_support_format_all(a.get());
  }
  return a;
}

// The entry loop of ReadArchive over an opened reader; `path` names the archive in messages and
// `input_bytes` is its size (0 when unknown).
Status ReadEntries(const ArchivePtr& a, const std::string& path, uint64_t input_bytes,
                   const ArchiveLimits& limits, ArchiveVisitor& visitor, ArchiveStats* stats) {
  std::vector<char> block(kReadBlock);
  const auto raw_pos = [&] { return static_cast<uint64_t>(archive_filter_bytes(a.get(), -1)); };
  const auto out_pos = [&] { return static_cast<uint64_t>(archive_filter_bytes(a.get(), 0)); };
  uint64_t data_bytes = 0;  // entry bytes handed out or declared by entries we skipped
  // Readers that seek (7z reads its header at the end, zip its central directory) move the raw
  // position backwards; the furthest point reached is what the archive has cost so far.
  uint64_t raw_high = 0;
  const auto check_overall = [&]() -> Status {
    raw_high = std::max(raw_high, raw_pos());
    stats->compressed_bytes = raw_high;
    // Tar-like formats decompress everything, skipped data included, through filter 0; zip
    // decompresses per entry, so count what entries produced.
    stats->uncompressed_bytes = std::max(data_bytes, out_pos());
    if (stats->uncompressed_bytes > limits.max_total_bytes) {
      return LimitError(stats, "max_unpacked",
                        fmt::format("the archive unpacks to more than {} (ingest.max_unpacked)",
                                    FormatBytes(limits.max_total_bytes)));
    }
    if (stats->uncompressed_bytes >= std::max<uint64_t>(limits.ratio_floor_bytes * 16, 1) &&
        static_cast<double>(stats->uncompressed_bytes) >
            limits.max_ratio *
                static_cast<double>(std::max<uint64_t>(stats->compressed_bytes, 1))) {
      return LimitError(
          stats, "max_ratio",
          fmt::format("the archive expands {:.0f}:1 ({} from {}), beyond ingest.max_ratio {:.0f}:1",
                      static_cast<double>(stats->uncompressed_bytes) /
                          static_cast<double>(std::max<uint64_t>(stats->compressed_bytes, 1)),
                      FormatBytes(stats->uncompressed_bytes), FormatBytes(stats->compressed_bytes),
                      limits.max_ratio));
    }
    return Status::Ok();
  };
  // The bytes of one entry: `produced` out of `consumed` raw bytes. A consumed count of zero
  // means the reader took the entry's compressed bytes before its header (7z decompresses
  // solid blocks ahead), so the entry cannot be judged alone; the archive check covers it.
  const auto check_entry_ratio = [&](const std::string& entry_path, uint64_t produced,
                                     uint64_t consumed) -> Status {
    if (consumed == 0 || produced < limits.ratio_floor_bytes ||
        static_cast<double>(produced) <= limits.max_ratio * static_cast<double>(consumed)) {
      return Status::Ok();
    }
    return LimitError(
        stats, "max_ratio",
        fmt::format("entry {} expands {:.0f}:1, beyond ingest.max_ratio {:.0f}:1 (a zip bomb?)",
                    entry_path, static_cast<double>(produced) / static_cast<double>(consumed),
                    limits.max_ratio));
  };
  const auto delta = [](uint64_t now, uint64_t before) { return now > before ? now - before : 0; };
  // A file the visitor declined. Zip streams skip its data lazily, when the next header is
  // read, so it is judged then: counting its declared size before its compressed bytes are
  // consumed made every large declined file look like a bomb.
  struct PendingSkip {
    std::string path;
    uint64_t declared = 0;
    uint64_t raw_before = 0;
    uint64_t out_before = 0;
  };
  std::optional<PendingSkip> pending;
  // `raw_now` is where the raw input stands once the skip has happened.
  const auto settle_skip = [&](uint64_t raw_now) -> Status {
    if (!pending) return Status::Ok();
    const PendingSkip p = std::move(*pending);
    pending.reset();
    // Not read: count what the archive says it holds, and judge a declared size that is far
    // beyond the bytes it occupied (a lie only makes the check stricter, since the data is
    // never produced).
    data_bytes += std::min(p.declared, limits.max_total_bytes + 1);
    const uint64_t expanded = std::max(p.declared, delta(out_pos(), p.out_before));
    if (Status s = check_entry_ratio(p.path, expanded, delta(raw_now, p.raw_before)); !s.ok()) {
      return s;
    }
    return check_overall();
  };
  for (;;) {
    if (!visitor.KeepGoing()) {
      stats->cancelled = true;
      return Status::IoError("cancelled");
    }
    archive_entry* entry = nullptr;
    const uint64_t raw_before = raw_pos();
    const uint64_t out_before = out_pos();
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    // RETRY (tar's "Damaged tar archive": a bad header checksum) and FAILED come with an empty
    // or partial entry; reading on would hand out whatever the reader resynchronises on.
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return Status::Corruption(
          fmt::format("{}: {}", path, ErrorText(a.get(), "unreadable archive")));
    }
    if (Status s = settle_skip(raw_pos()); !s.ok()) return s;
    // ARCHIVE_WARN (an odd header field) still gives a usable entry.
    if (const char* f = archive_format_name(a.get()); f && stats->format.empty()) stats->format = f;
    ++stats->entries;
    if (stats->entries > limits.max_entries) {
      return LimitError(stats, "max_entries",
                        fmt::format("the archive has more than {} entries (ingest.max_entries)",
                                    limits.max_entries));
    }
    const char* raw_name = archive_entry_pathname_utf8(entry);
    if (raw_name == nullptr) raw_name = archive_entry_pathname(entry);
    const std::string_view name = raw_name ? raw_name : "";
    const mode_t type = archive_entry_filetype(entry);
    // Type first: a symlink or device is refused whatever its name.
    std::optional<SkipReason> skip;
    if (archive_entry_hardlink(entry) != nullptr) {
      skip = SkipReason::kHardlink;
    } else if (type == AE_IFLNK) {
      skip = SkipReason::kSymlink;
    } else if (type == AE_IFCHR || type == AE_IFBLK) {
      skip = SkipReason::kDevice;
    } else if (type == AE_IFIFO) {
      skip = SkipReason::kFifo;
    } else if (type == AE_IFSOCK) {
      skip = SkipReason::kSocket;
    } else if (type != AE_IFREG && type != AE_IFDIR) {
      skip = SkipReason::kUnsafeName;
    }
    SkipReason why{};
    std::string clean = NormaliseEntryPath(name, &why);
    if (!skip && clean.empty()) skip = why;
    if (!skip && type == AE_IFREG && LooksLikeArchive(clean)) skip = SkipReason::kNestedArchive;
    if (skip) {
      visitor.OnSkip(clean.empty() ? name.substr(0, 512) : std::string_view(clean), *skip);
      if (Status s = check_overall(); !s.ok()) return s;
      continue;
    }
    ArchiveEntry e;
    e.path = std::move(clean);
    e.kind = type == AE_IFDIR ? EntryKind::kDirectory : EntryKind::kFile;
    e.declared_size =
        archive_entry_size_is_set(entry)
            ? static_cast<uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0))
            : 0;
    const bool want = visitor.OnEntry(e) && e.kind == EntryKind::kFile;
    uint64_t produced = 0;
    if (want) {
      for (;;) {
        const la_ssize_t n = archive_read_data(a.get(), block.data(), block.size());
        if (n == 0) break;
        if (n < 0) {
          return Status::Corruption(
              fmt::format("{}: entry {}: {}", path, e.path, ErrorText(a.get(), "unreadable data")));
        }
        produced += static_cast<uint64_t>(n);
        data_bytes += static_cast<uint64_t>(n);
        if (produced > limits.max_entry_bytes) {
          return LimitError(stats, "max_entry_size",
                            fmt::format("entry {} is larger than {} (ingest.max_entry_size)",
                                        e.path, FormatBytes(limits.max_entry_bytes)));
        }
        if (Status s = check_entry_ratio(e.path, produced, delta(raw_pos(), raw_before)); !s.ok()) {
          return s;
        }
        if (Status s = visitor.OnData(std::string_view(block.data(), static_cast<size_t>(n)));
            !s.ok()) {
          return s;
        }
        if (Status s = check_overall(); !s.ok()) return s;
      }
      if (Status s = visitor.OnEntryEnd(); !s.ok()) return s;
    } else if (e.kind == EntryKind::kFile) {
      pending = PendingSkip{e.path, e.declared_size, raw_before, out_before};
      archive_read_data_skip(a.get());
    }
    if (Status s = check_overall(); !s.ok()) return s;
  }
  // At the end the whole input counts as read, though zip leaves a last skipped entry's bytes
  // unconsumed.
  raw_high = std::max(raw_high, input_bytes);
  if (Status s = settle_skip(std::max(raw_pos(), input_bytes)); !s.ok()) return s;
  return check_overall();
}

}  // namespace

Status ReadArchive(const std::string& path, const ArchiveLimits& limits, ArchiveVisitor& visitor,
                   ArchiveStats* stats) {
  *stats = ArchiveStats{};
  ArchivePtr a = NewReader();
  if (!a) return Status::IoError("libarchive: out of memory");
  if (archive_read_open_filename(a.get(), path.c_str(), kReadBlock) != ARCHIVE_OK) {
    return Status::Corruption(
        fmt::format("cannot read {} as an archive: {}", path, ErrorText(a.get(), "unknown error")));
  }
  struct stat st {};
  const uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return ReadEntries(a, path, size, limits, visitor, stats);
}

Status ReadArchiveFromMemory(std::string_view bytes, const std::string& name,
                             const ArchiveLimits& limits, ArchiveVisitor& visitor,
                             ArchiveStats* stats) {
  *stats = ArchiveStats{};
  ArchivePtr a = NewReader();
  if (!a) return Status::IoError("libarchive: out of memory");
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Status::Corruption(
        fmt::format("cannot read {} as an archive: {}", name, ErrorText(a.get(), "unknown error")));
  }
  return ReadEntries(a, name, bytes.size(), limits, visitor, stats);
}

}  // namespace cortex::ingest
