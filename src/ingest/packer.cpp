#include "ingest/packer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "ingest/ignore_rules.h"
#include "util/xml_escape.h"

namespace cortex::ingest {
namespace {

constexpr uint64_t kMaxIgnoreFileBytes = 1ull << 20;
constexpr const char* kPrologueHead =
    "This is a packed copy of a source tree: its directory structure, then the content of every "
    "text file inside <file path=\"...\"> ... </file>. Ignored, binary and oversized files are "
    "left out of the contents.\n\n<directory_structure>\n";
constexpr const char* kPrologueTail = "</directory_structure>\n\n<files>\n";
constexpr const char* kEpilogue = "</files>\n";

void NoteSkip(PackStats* stats, std::string_view path, SkipReason reason) {
  ++stats->skipped[static_cast<size_t>(reason)];
  if (stats->skip_examples.size() < kMaxSkipExamples) {
    stats->skip_examples.emplace_back(std::string(path), reason);
  }
}

std::string_view DirName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}
std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The tree of `sorted` (PackOrderLess order): a line per directory ("name/") and per file,
// indented two spaces per level.
std::string RenderTree(const std::vector<std::string>& sorted) {
  std::string out;
  std::vector<std::string_view> open;  // directory components of the previous file
  for (const std::string& path : sorted) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1) {
      parts.push_back(std::string_view(path).substr(start, slash - start));
    }
    size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) {
      ++common;
    }
    for (size_t d = common; d < parts.size(); ++d) {
      out.append(2 * d, ' ');
      out.append(parts[d]);
      out += "/\n";
    }
    out.append(2 * parts.size(), ' ');
    out.append(std::string_view(path).substr(start));
    out += '\n';
    open = std::move(parts);
  }
  return out;
}

class OutputFile {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "wb");
    if (f_ == nullptr) {
      return Status::IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
    return Status::Ok();
  }
  ~OutputFile() {
    if (f_) std::fclose(f_);
  }
  void Write(std::string_view s) {
    if (!s.empty() && std::fwrite(s.data(), 1, s.size(), f_) != s.size()) failed_ = true;
    pos_ += s.size();
  }
  Status Close() {
    const bool bad = std::fflush(f_) != 0 || std::ferror(f_) || failed_;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (bad || !closed) {
      return Status::IoError(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
    }
    return Status::Ok();
  }
  uint64_t pos() const { return pos_; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  uint64_t pos_ = 0;
  bool failed_ = false;
};

void WritePrologue(OutputFile& out, const std::vector<std::string>& tree, PackStats* stats) {
  out.Write(kPrologueHead);
  out.Write(RenderTree(tree));
  out.Write(kPrologueTail);
  stats->prologue_bytes = out.pos();
}

void WriteBlock(OutputFile& out, const std::string& path, std::string_view content,
                PackStats* stats) {
  PackedFile f;
  f.path = path;
  f.offset = out.pos();
  out.Write("<file path=\"");
  out.Write(XmlEscape(path));
  out.Write("\">\n");
  out.Write(content);
  if (!content.empty() && content.back() != '\n') out.Write("\n");
  out.Write("</file>\n");
  f.length = out.pos() - f.offset;
  stats->files.push_back(std::move(f));
  ++stats->files_packed;
  stats->content_bytes += content.size();
}

Status FinishOutput(OutputFile& out, PackStats* stats) {
  const uint64_t before = out.pos();
  out.Write(kEpilogue);
  stats->epilogue_bytes = out.pos() - before;
  stats->output_bytes = out.pos();
  return out.Close();
}

IgnoreRules BaseRules(const PackOptions& options) {
  IgnoreRules rules;
  if (options.default_ignores) {
    for (const std::string& p : DefaultIgnorePatterns())
      rules.AddPattern("", p);
  }
  return rules;
}

Status ReadSmallFile(int dirfd, const char* name, uint64_t max, std::string* out) {
  const int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::IoError(std::strerror(errno));
  out->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out->size() + static_cast<size_t>(n) > max) {
      ::close(fd);
      return Status::OutOfRange("too large");
    }
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

// Top-down walk; ignored directories are never entered, symlinks never followed.
Status WalkDirectory(const std::string& root, const PackOptions& options, IgnoreRules& rules,
                     std::vector<std::pair<std::string, uint64_t>>* files, PackStats* stats) {
  std::vector<std::string> pending = {""};
  std::string text;
  while (!pending.empty()) {
    const std::string rel = std::move(pending.back());
    pending.pop_back();
    const std::string full = rel.empty() ? root : root + "/" + rel;
    const int dirfd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0) {
      return Status::IoError(
          fmt::format("cannot read directory {}: {}", full, std::strerror(errno)));
    }
    if (options.use_gitignore &&
        ReadSmallFile(dirfd, ".gitignore", kMaxIgnoreFileBytes, &text).ok()) {
      rules.AddFile(rel, text);
    }
    DIR* d = ::fdopendir(dirfd);
    if (d == nullptr) {
      ::close(dirfd);
      return Status::IoError(
          fmt::format("cannot read directory {}: {}", full, std::strerror(errno)));
    }
    while (dirent* de = ::readdir(d)) {
      const std::string_view name = de->d_name;
      if (name == "." || name == "..") continue;
      ++stats->entries;
      const std::string child = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
      struct stat st {};
      if (::fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      SkipReason why{};
      if (NormaliseEntryPath(child, &why).empty()) {
        NoteSkip(stats, child, why);
      } else if (S_ISLNK(st.st_mode)) {
        NoteSkip(stats, child, SkipReason::kSymlink);
      } else if (S_ISDIR(st.st_mode)) {
        if (rules.IgnoredHere(child, true)) {
          NoteSkip(stats, child + "/", SkipReason::kIgnored);
        } else {
          pending.push_back(child);
        }
      } else if (S_ISREG(st.st_mode)) {
        if (rules.IgnoredHere(child, false)) {
          NoteSkip(stats, child, SkipReason::kIgnored);
        } else if (LooksLikeArchive(child)) {
          NoteSkip(stats, child, SkipReason::kNestedArchive);
        } else {
          ++stats->files_seen;
          files->emplace_back(child, static_cast<uint64_t>(st.st_size));
        }
      } else if (S_ISFIFO(st.st_mode)) {
        NoteSkip(stats, child, SkipReason::kFifo);
      } else if (S_ISSOCK(st.st_mode)) {
        NoteSkip(stats, child, SkipReason::kSocket);
      } else {
        NoteSkip(stats, child, SkipReason::kDevice);
      }
    }
    ::closedir(d);
  }
  std::sort(files->begin(), files->end(),
            [](const auto& a, const auto& b) { return PackOrderLess(a.first, b.first); });
  return Status::Ok();
}

// Pass 1 over an archive: names, sizes and .gitignore texts.
class ScanVisitor : public ArchiveVisitor {
 public:
  ScanVisitor(const PackOptions& options, PackStats* stats, const PackProgress& progress)
      : options_(options), stats_(stats), progress_(progress) {}
  bool OnEntry(const ArchiveEntry& e) override {
    if (e.kind != EntryKind::kFile) return false;
    sizes_[e.path] = e.declared_size;
    reading_ignore_ = options_.use_gitignore && BaseName(e.path) == ".gitignore" &&
                      e.declared_size <= kMaxIgnoreFileBytes;
    if (reading_ignore_) {
      ignore_path_ = e.path;
      text_.clear();
    }
    return reading_ignore_;
  }
  Status OnData(std::string_view piece) override {
    if (text_.size() + piece.size() <= kMaxIgnoreFileBytes) text_.append(piece);
    return Status::Ok();
  }
  Status OnEntryEnd() override {
    if (reading_ignore_) ignore_files_.emplace_back(std::string(DirName(ignore_path_)), text_);
    return Status::Ok();
  }
  void OnSkip(std::string_view path, SkipReason reason) override { NoteSkip(stats_, path, reason); }
  bool KeepGoing() override {
    ++seen_;
    if (!progress_ || seen_ % 256 != 0) return true;
    return progress_("unpacking", seen_, 0, "entries");
  }

  std::unordered_map<std::string, uint64_t> sizes_;
  std::vector<std::pair<std::string, std::string>> ignore_files_;

 private:
  const PackOptions& options_;
  PackStats* stats_;
  const PackProgress& progress_;
  bool reading_ignore_ = false;
  std::string ignore_path_;
  std::string text_;
  uint64_t seen_ = 0;
};

// Pass 2: the contents of the files that stay, spooled in archive order.
class SpoolVisitor : public ArchiveVisitor {
 public:
  struct Slot {
    std::optional<std::pair<uint64_t, uint64_t>> spooled;  // offset, length
    std::optional<SkipReason> skipped;
  };
  SpoolVisitor(const PackOptions& options, std::unordered_map<std::string, size_t> index,
               std::FILE* spool, const PackProgress& progress, size_t total)
      : options_(options),
        index_(std::move(index)),
        slots_(total),
        spool_(spool),
        progress_(progress),
        total_(total) {}
  bool OnEntry(const ArchiveEntry& e) override {
    if (e.kind != EntryKind::kFile) return false;
    auto it = index_.find(e.path);
    if (it == index_.end()) return false;
    current_ = it->second;
    slots_[current_] = Slot{};
    if (e.declared_size > options_.max_file_bytes) {
      slots_[current_].skipped = SkipReason::kTooLarge;
      ++done_;
      return false;
    }
    buffer_.clear();
    over_ = false;
    return true;
  }
  Status OnData(std::string_view piece) override {
    if (over_) return Status::Ok();
    if (buffer_.size() + piece.size() > options_.max_file_bytes) {
      over_ = true;  // the archive understated the size; drain the rest unread
      buffer_.clear();
      return Status::Ok();
    }
    buffer_.append(piece);
    return Status::Ok();
  }
  Status OnEntryEnd() override {
    ++done_;
    Slot& slot = slots_[current_];
    if (over_) {
      slot.skipped = SkipReason::kTooLarge;
    } else if (!LooksLikeText(buffer_)) {
      slot.skipped = SkipReason::kBinary;
    } else {
      if (!buffer_.empty() &&
          std::fwrite(buffer_.data(), 1, buffer_.size(), spool_) != buffer_.size()) {
        return Status::IoError(fmt::format("cannot write the spool: {}", std::strerror(errno)));
      }
      slot.spooled = std::make_pair(spool_pos_, static_cast<uint64_t>(buffer_.size()));
      spool_pos_ += buffer_.size();
    }
    return Status::Ok();
  }
  void OnSkip(std::string_view, SkipReason) override {}  // counted in pass 1
  bool KeepGoing() override {
    if (!progress_ || ++ticks_ % 64 != 0) return true;
    return progress_("packing", done_, total_, "files");
  }
  std::vector<Slot>& slots() { return slots_; }

 private:
  const PackOptions& options_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<Slot> slots_;
  std::FILE* spool_;
  const PackProgress& progress_;
  size_t total_;
  size_t current_ = 0;
  std::string buffer_;
  bool over_ = false;
  uint64_t spool_pos_ = 0;
  uint64_t done_ = 0;
  uint64_t ticks_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

uint64_t PackStats::skipped_total() const {
  uint64_t n = 0;
  for (uint64_t s : skipped)
    n += s;
  return n;
}

bool PackOrderLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  for (;;) {
    const size_t ea = a.find('/', i);
    const size_t eb = b.find('/', j);
    const bool a_file = ea == std::string_view::npos;
    const bool b_file = eb == std::string_view::npos;
    const std::string_view ca = a.substr(i, a_file ? std::string_view::npos : ea - i);
    const std::string_view cb = b.substr(j, b_file ? std::string_view::npos : eb - j);
    // The directory first, even under the same name: an archive can hold a file "x" and files
    // under "x/", and ordering those by kind alone keeps this a strict weak ordering (std::sort
    // needs one).
    if (a_file != b_file) return !a_file;
    if (ca != cb) return ca < cb;
    if (a_file) return false;  // equal
    i = ea + 1;
    j = eb + 1;
  }
}

bool LooksLikeText(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Runs of ASCII, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) != 0) break;
      // A zero byte in w: the classic has-zero-byte test.
      if (((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) != 0) return false;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

StatusOr<std::vector<std::pair<std::string, uint64_t>>> ListDirectory(const std::string& dir,
                                                                      const PackOptions& options,
                                                                      PackStats* stats) {
  IgnoreRules rules = BaseRules(options);
  std::vector<std::pair<std::string, uint64_t>> files;
  if (Status s = WalkDirectory(dir, options, rules, &files, stats); !s.ok()) return s;
  return files;
}

Status PackDirectory(const std::string& dir, const PackOptions& options,
                     const std::string& out_path, PackStats* stats, const PackProgress& progress) {
  *stats = PackStats{};
  auto files = ListDirectory(dir, options, stats);
  if (!files.ok()) return files.status();
  OutputFile out;
  if (Status s = out.Open(out_path); !s.ok()) return s;
  std::vector<std::string> tree;
  tree.reserve(files->size());
  for (const auto& [path, size] : *files)
    tree.push_back(path);
  WritePrologue(out, tree, stats);
  tree = {};
  std::string buffer;
  size_t done = 0;
  for (const auto& [path, size] : *files) {
    if (progress && ++done % 64 == 0 && !progress("packing", done, files->size(), "files")) {
      return Status::IoError("cancelled");
    }
    if (size > options.max_file_bytes) {
      NoteSkip(stats, path, SkipReason::kTooLarge);
      continue;
    }
    const std::string full = dir + "/" + path;
    const Status read = ReadSmallFile(AT_FDCWD, full.c_str(), options.max_file_bytes, &buffer);
    if (read.code() == Status::Code::kOutOfRange) {
      NoteSkip(stats, path, SkipReason::kTooLarge);  // grew since the walk
      continue;
    }
    if (!read.ok()) continue;  // vanished or unreadable since the walk: not part of the tree now
    if (!LooksLikeText(buffer)) {
      NoteSkip(stats, path, SkipReason::kBinary);
      continue;
    }
    WriteBlock(out, path, buffer, stats);
  }
  return FinishOutput(out, stats);
}

Status PackArchive(const std::string& archive_path, const ArchiveLimits& limits,
                   const PackOptions& options, const std::string& out_path,
                   const std::string& spool_path, PackStats* stats, const PackProgress& progress) {
  *stats = PackStats{};
  ScanVisitor scan(options, stats, progress);
  if (Status s = ReadArchive(archive_path, limits, scan, &stats->archive); !s.ok()) return s;
  stats->entries = stats->archive.entries;
  IgnoreRules rules = BaseRules(options);
  for (const auto& [base, text] : scan.ignore_files_)
    rules.AddFile(base, text);
  std::vector<std::string> kept;
  for (const auto& [path, size] : scan.sizes_) {
    ++stats->files_seen;
    if (rules.Ignored(path, false)) {
      NoteSkip(stats, path, SkipReason::kIgnored);
    } else {
      kept.push_back(path);
    }
  }
  scan.sizes_.clear();
  std::sort(kept.begin(), kept.end(), PackOrderLess);
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < kept.size(); ++i)
    index.emplace(kept[i], i);

  std::unique_ptr<std::FILE, FileCloser> spool(std::fopen(spool_path.c_str(), "w+b"));
  if (!spool) {
    return Status::IoError(fmt::format("cannot write {}: {}", spool_path, std::strerror(errno)));
  }
  struct Unlink {
    const std::string& p;
    ~Unlink() { ::unlink(p.c_str()); }
  } unlink_spool{spool_path};
  std::setvbuf(spool.get(), nullptr, _IOFBF, 1 << 20);
  SpoolVisitor visitor(options, std::move(index), spool.get(), progress, kept.size());
  ArchiveStats second;
  if (Status s = ReadArchive(archive_path, limits, visitor, &second); !s.ok()) return s;
  if (std::fflush(spool.get()) != 0) {
    return Status::IoError(fmt::format("cannot write {}: {}", spool_path, std::strerror(errno)));
  }

  OutputFile out;
  if (Status s = out.Open(out_path); !s.ok()) return s;
  WritePrologue(out, kept, stats);
  std::string buffer;
  for (size_t i = 0; i < kept.size(); ++i) {
    const SpoolVisitor::Slot& slot = visitor.slots()[i];
    if (slot.skipped) {
      NoteSkip(stats, kept[i], *slot.skipped);
      continue;
    }
    if (!slot.spooled) continue;  // named in pass 1 but not met again: the archive changed
    buffer.resize(slot.spooled->second);
    if (!buffer.empty() &&
        ::pread(::fileno(spool.get()), buffer.data(), buffer.size(),
                static_cast<off_t>(slot.spooled->first)) != static_cast<ssize_t>(buffer.size())) {
      return Status::IoError(fmt::format("cannot read {}: {}", spool_path, std::strerror(errno)));
    }
    WriteBlock(out, kept[i], buffer, stats);
  }
  return FinishOutput(out, stats);
}

}  // namespace cortex::ingest
