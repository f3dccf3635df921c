// libFuzzer target for the archive reader and the packer over libarchive: any bytes must give
// entries with safe names or a Status, never a crash, a sanitizer report, a broken visitor
// contract, a packed output that contradicts its stats, or memory beyond what the limits bound.
// Run it with scripts/fuzz.sh 60 archive; seeds are in fuzz/corpus/archive/ (how to remake them
// is in fuzz/corpus/archive/README.md).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "ingest/archive_reader.h"
#include "ingest/packer.h"

namespace {

using cortex::Status;
using namespace cortex::ingest;

// Small limits make every limit path reachable with small inputs.
ArchiveLimits FuzzLimits() {
  ArchiveLimits limits;
  limits.max_total_bytes = 4 << 20;
  limits.max_entries = 2000;
  limits.max_entry_bytes = 1 << 20;
  limits.max_ratio = 100;
  limits.ratio_floor_bytes = 64 << 10;
  return limits;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Checks the visitor contract as ReadArchive drives it.
class CheckingVisitor : public ArchiveVisitor {
 public:
  explicit CheckingVisitor(const ArchiveLimits& limits) : limits_(limits) {}
  bool OnEntry(const ArchiveEntry& e) override {
    Check(!in_entry_);
    // A handed-out path is already clean: normalising it again changes nothing.
    SkipReason why{};
    Check(!e.path.empty() && NormaliseEntryPath(e.path, &why) == e.path);
    Check(!LooksLikeArchive(e.path) || e.kind == EntryKind::kDirectory);
    ++entries_;
    Check(entries_ <= limits_.max_entries);
    // Read every other file, skip the rest: both paths of the reader get explored.
    in_entry_ = e.kind == EntryKind::kFile && (entries_ % 2 == 1);
    entry_bytes_ = 0;
    return in_entry_;
  }
  Status OnData(std::string_view piece) override {
    Check(in_entry_ && !piece.empty());
    entry_bytes_ += piece.size();
    Check(entry_bytes_ <= limits_.max_entry_bytes);
    return Status::Ok();
  }
  Status OnEntryEnd() override {
    Check(in_entry_);
    in_entry_ = false;
    return Status::Ok();
  }
  void OnSkip(std::string_view path, SkipReason reason) override {
    Check(static_cast<int>(reason) >= 0 && static_cast<int>(reason) < kSkipReasonCount);
    Check(path.size() <= 4096 + 512);
  }

 private:
  const ArchiveLimits& limits_;
  bool in_entry_ = false;
  uint64_t entries_ = 0;
  uint64_t entry_bytes_ = 0;
};

// A scratch directory for the packer's input copy, output and spool, made once per process and
// removed at exit (each run removes its own files).
std::string* scratch_dir = nullptr;

const std::string& ScratchDir() {
  if (scratch_dir == nullptr) {
    std::string templ =
        std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/cortex-archive-fuzz-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) __builtin_trap();
    scratch_dir = new std::string(templ);
    atexit([] { ::rmdir(scratch_dir->c_str()); });
  }
  return *scratch_dir;
}

void CheckPackOutput(const std::string& out_path, const PackStats& stats) {
  struct stat st {};
  Check(::stat(out_path.c_str(), &st) == 0);
  Check(static_cast<uint64_t>(st.st_size) == stats.output_bytes);
  Check(stats.files.size() == stats.files_packed);
  uint64_t at = stats.prologue_bytes;
  for (size_t i = 0; i < stats.files.size(); ++i) {
    const PackedFile& f = stats.files[i];
    Check(f.offset == at && f.length > 0);
    at += f.length;
    if (i > 0) Check(PackOrderLess(stats.files[i - 1].path, f.path));
  }
  Check(at + stats.epilogue_bytes == stats.output_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ArchiveLimits limits = FuzzLimits();

  // The reader, straight from memory.
  {
    CheckingVisitor visitor(limits);
    ArchiveStats stats;
    const Status s = ReadArchiveFromMemory(bytes, "input", limits, visitor, &stats);
    if (!s.ok()) {
      Check(!s.message().empty());
      Check((s.code() == Status::Code::kOutOfRange) == !stats.limit.empty());
    }
  }

  // The packer, which reads a file twice: through a copy in the scratch directory.
  const std::string& dir = ScratchDir();
  const std::string in_path = dir + "/input";
  const std::string out_path = dir + "/packed";
  const std::string spool_path = dir + "/spool";
  if (std::FILE* f = std::fopen(in_path.c_str(), "wb")) {
    const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
    std::fclose(f);
    if (!written) return 0;
  } else {
    __builtin_trap();
  }
  PackOptions options;
  options.max_file_bytes = 64 << 10;
  PackStats stats;
  const Status s = PackArchive(in_path, limits, options, out_path, spool_path, &stats);
  Check(::access(spool_path.c_str(), F_OK) != 0);  // the spool never outlives the call
  if (s.ok()) {
    CheckPackOutput(out_path, stats);
  } else {
    Check(!s.message().empty());
  }
  ::unlink(out_path.c_str());
  ::unlink(in_path.c_str());
  return 0;
}
