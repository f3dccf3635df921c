#include "ingest/archive_reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

#include "ingest/archive_test_util.h"
#include "ingest/packer.h"
#include "support/temp_dir.h"

namespace cortex::ingest {
namespace {

using cortex::testing::TempDir;
using testing::ListTree;
using testing::NamesContaining;
using testing::PathExists;
using testing::ReadFileAt;
using testing::RecordingVisitor;
using testing::TestArchiveWriter;
using testing::TestFormat;
using testing::TestFormatName;
using testing::TestFormatSuffix;
using testing::WriteFileAt;

using Skip = std::pair<std::string, SkipReason>;

// The limits production uses, except where a test narrows one.
ArchiveLimits Defaults() {
  return ArchiveLimits{};
}

Status Read(const std::string& path, RecordingVisitor& visitor, ArchiveStats* stats,
            const ArchiveLimits& limits = Defaults()) {
  return ReadArchive(path, limits, visitor, stats);
}

// ---------------------------------------------------------------------------------------------
// Names.

TEST(NormaliseEntryPathTest, CleansDotsDoubleSlashesAndTrailingSlash) {
  SkipReason why{};
  EXPECT_EQ(NormaliseEntryPath("src/main.cpp", &why), "src/main.cpp");
  EXPECT_EQ(NormaliseEntryPath("./src//./main.cpp", &why), "src/main.cpp");
  EXPECT_EQ(NormaliseEntryPath("src/dir/", &why), "src/dir");
  EXPECT_EQ(NormaliseEntryPath("a..b/..c/d..", &why), "a..b/..c/d..");  // not `..` components
}

TEST(NormaliseEntryPathTest, RefusesEachUnsafeShapeWithItsReason) {
  const std::vector<std::pair<std::string, SkipReason>> cases = {
      {"/etc/passwd", SkipReason::kAbsolutePath},
      {"//server/share", SkipReason::kAbsolutePath},
      {"C:/Windows/win.ini", SkipReason::kAbsolutePath},
      {"c:evil", SkipReason::kAbsolutePath},
      {"../evil.txt", SkipReason::kParentPath},
      {"a/../../evil.txt", SkipReason::kParentPath},
      {"a/b/..", SkipReason::kParentPath},
      {"a\\..\\evil.txt", SkipReason::kUnsafeName},
      {"a\nb", SkipReason::kUnsafeName},
      {std::string("a\0b", 3), SkipReason::kUnsafeName},
      {"tab\there", SkipReason::kUnsafeName},
      {"del\x7f", SkipReason::kUnsafeName},
      {"", SkipReason::kUnsafeName},
      {".", SkipReason::kUnsafeName},
      {"./", SkipReason::kUnsafeName},
      {std::string(5000, 'a'), SkipReason::kUnsafeName},
  };
  for (const auto& [name, reason] : cases) {
    SkipReason why = SkipReason::kIgnored;
    EXPECT_EQ(NormaliseEntryPath(name, &why), "") << name;
    EXPECT_EQ(why, reason) << name << " gave " << SkipReasonName(why);
  }
}

TEST(LooksLikeArchiveTest, KnowsArchiveAndCompressedSuffixesInAnyCase) {
  EXPECT_TRUE(LooksLikeArchive("inner.zip"));
  EXPECT_TRUE(LooksLikeArchive("dir/INNER.ZIP"));
  EXPECT_TRUE(LooksLikeArchive("x.tar.gz"));
  EXPECT_TRUE(LooksLikeArchive("x.tgz"));
  EXPECT_TRUE(LooksLikeArchive("x.tar.zst"));
  EXPECT_TRUE(LooksLikeArchive("x.7z"));
  EXPECT_TRUE(LooksLikeArchive("wheel.whl"));
  EXPECT_FALSE(LooksLikeArchive("main.cpp"));
  EXPECT_FALSE(LooksLikeArchive("zip"));
  EXPECT_FALSE(LooksLikeArchive("gz.txt"));
}

TEST(SkipReasonNameTest, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (int i = 0; i < kSkipReasonCount; ++i) {
    const std::string_view name = SkipReasonName(static_cast<SkipReason>(i));
    EXPECT_NE(name, "unknown") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kSkipReasonCount));
  EXPECT_EQ(SkipReasonName(SkipReason::kParentPath), "parent_path");
  EXPECT_EQ(SkipReasonName(SkipReason::kTooLarge), "too_large");
}

// ---------------------------------------------------------------------------------------------
// Formats: the same small tree comes out of every container and compression.

class ArchiveFormatTest : public ::testing::TestWithParam<TestFormat> {};

TEST_P(ArchiveFormatTest, ReadsEveryFileWithItsBytes) {
  TempDir tmp;
  const std::string path = tmp.File(std::string("tree") + TestFormatSuffix(GetParam()));
  {
    TestArchiveWriter w(path, GetParam());
    w.Dir("src/")
        .File("src/main.cpp", "int main() { return 0; }\n")
        .File("README.md", "# hello\n")
        .File("a/b/c.txt", std::string(200'000, 'x'))  // spans several read blocks
        .File("empty.txt", "");
    if (!w.Close()) {
      GTEST_SKIP() << "this libarchive cannot write " << TestFormatName(GetParam()) << ": "
                   << w.error();
    }
  }
  RecordingVisitor v;
  ArchiveStats stats;
  ASSERT_TRUE(Read(path, v, &stats).ok());
  EXPECT_TRUE(v.skips.empty());
  ASSERT_NE(v.DataOf("src/main.cpp"), nullptr);
  EXPECT_EQ(*v.DataOf("src/main.cpp"), "int main() { return 0; }\n");
  ASSERT_NE(v.DataOf("README.md"), nullptr);
  EXPECT_EQ(*v.DataOf("README.md"), "# hello\n");
  ASSERT_NE(v.DataOf("a/b/c.txt"), nullptr);
  EXPECT_EQ(*v.DataOf("a/b/c.txt"), std::string(200'000, 'x'));
  ASSERT_NE(v.DataOf("empty.txt"), nullptr);
  EXPECT_EQ(*v.DataOf("empty.txt"), "");
  EXPECT_EQ(v.ends, static_cast<int>(v.files.size()));
  EXPECT_FALSE(stats.format.empty());
  EXPECT_GE(stats.entries, 4u);
  EXPECT_GE(stats.uncompressed_bytes, 200'000u);
  EXPECT_GT(stats.compressed_bytes, 0u);
  EXPECT_TRUE(stats.limit.empty());
}

TEST_P(ArchiveFormatTest, ReadingFromMemoryGivesWhatReadingTheFileGives) {
  TempDir tmp;
  const std::string path = tmp.File(std::string("tree") + TestFormatSuffix(GetParam()));
  {
    TestArchiveWriter w(path, GetParam());
    w.File("b.txt", "bee\n").Symlink("link", "/etc").File("../up.txt", "x").File("a/c.txt", "c");
    if (!w.Close()) {
      GTEST_SKIP() << "this libarchive cannot write " << TestFormatName(GetParam()) << ": "
                   << w.error();
    }
  }
  RecordingVisitor from_file;
  ArchiveStats file_stats;
  const Status file_status = Read(path, from_file, &file_stats);
  const std::string bytes = ReadFileAt(path);
  RecordingVisitor from_memory;
  ArchiveStats memory_stats;
  const Status memory_status =
      ReadArchiveFromMemory(bytes, "upload", Defaults(), from_memory, &memory_stats);
  EXPECT_EQ(memory_status.ToString(), file_status.ToString());
  ASSERT_EQ(memory_status.ok(), true) << memory_status.ToString();
  ASSERT_EQ(from_memory.files.size(), from_file.files.size());
  for (size_t i = 0; i < from_file.files.size(); ++i) {
    EXPECT_EQ(from_memory.files[i].path, from_file.files[i].path);
    EXPECT_EQ(from_memory.files[i].data, from_file.files[i].data);
  }
  EXPECT_EQ(from_memory.skips, from_file.skips);
  EXPECT_EQ(memory_stats.entries, file_stats.entries);
  EXPECT_EQ(memory_stats.format, file_stats.format);
}

TEST(ReadArchiveFromMemoryTest, NamesTheInputInErrors) {
  RecordingVisitor v;
  ArchiveStats stats;
  const Status s = ReadArchiveFromMemory("plain text", "upload-7", Defaults(), v, &stats);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("upload-7"), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(Formats, ArchiveFormatTest,
                         ::testing::Values(TestFormat::kZip, TestFormat::kTar, TestFormat::kTarGz,
                                           TestFormat::kTarZst, TestFormat::kTarXz,
                                           TestFormat::kTarBz2, TestFormat::k7z),
                         [](const auto& info) { return TestFormatName(info.param); });

// ---------------------------------------------------------------------------------------------
// Hostile entries: each is reported as skipped with its name and reason, and nothing about it
// reaches the disk.

// A sandbox for one hostile archive: the archive sits three levels deep in a fresh TempDir, so
// that `../../evil.txt`, resolved the way an extractor would resolve it, lands inside the
// sandbox, whose whole tree is compared before and after. Outside it, the places an escape
// would write to are checked by name (other test processes create files in /tmp meanwhile).
class Sandbox {
 public:
  Sandbox() : work_(tmp_.path() + "/a/b/work") {
    ::mkdir((tmp_.path() + "/a").c_str(), 0755);
    ::mkdir((tmp_.path() + "/a/b").c_str(), 0755);
    ::mkdir(work_.c_str(), 0755);
    evil_abs_ = "/tmp/cortex-evil-" + std::to_string(::getpid());
  }
  std::string Work(std::string_view name) const { return work_ + "/" + std::string(name); }
  const std::string& evil_abs() const { return evil_abs_; }
  const std::string& root() const { return tmp_.path(); }

  void Snapshot() {
    tree_ = ListTree(tmp_.path());
    parent_evil_ = NamesContaining(Parent(), "evil");
    tmp_evil_ = NamesContaining("/tmp", "evil");
    etc_ = NamesContaining("/etc", "");
    ::lstat("/etc/passwd", &passwd_);
  }
  // Checks that only `added` (sandbox-relative paths) appeared since Snapshot().
  void ExpectUnchangedExcept(const std::set<std::string>& added) const {
    std::set<std::string> want = tree_;
    want.insert(added.begin(), added.end());
    EXPECT_EQ(ListTree(tmp_.path()), want);
    EXPECT_FALSE(PathExists(tmp_.path() + "/a/evil.txt"));
    EXPECT_FALSE(PathExists(Parent() + "/evil.txt"));
    EXPECT_FALSE(PathExists(evil_abs_));
    EXPECT_EQ(NamesContaining(Parent(), "evil"), parent_evil_);
    EXPECT_EQ(NamesContaining("/tmp", "evil"), tmp_evil_);
    EXPECT_EQ(NamesContaining("/etc", ""), etc_);
    struct stat now {};
    ::lstat("/etc/passwd", &now);
    EXPECT_EQ(now.st_size, passwd_.st_size);
    EXPECT_EQ(now.st_mtim.tv_sec, passwd_.st_mtim.tv_sec);
    EXPECT_EQ(now.st_mtim.tv_nsec, passwd_.st_mtim.tv_nsec);
    EXPECT_EQ(now.st_nlink, passwd_.st_nlink);
  }

 private:
  std::string Parent() const { return tmp_.path().substr(0, tmp_.path().rfind('/')); }

  TempDir tmp_;
  std::string work_;
  std::string evil_abs_;
  std::set<std::string> tree_, parent_evil_, tmp_evil_, etc_;
  struct stat passwd_ {};
};

// Reads `path` with a data-wanting visitor and checks the archive read cleanly.
RecordingVisitor ReadAll(const std::string& path) {
  RecordingVisitor v;
  ArchiveStats stats;
  const Status s = Read(path, v, &stats);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

TEST(ArchiveReaderHostileTest, ZipSlipNameIsSkippedAsParentPathAndWritesNothing) {
  for (TestFormat format : {TestFormat::kTar, TestFormat::kZip}) {
    SCOPED_TRACE(TestFormatName(format));
    Sandbox box;
    const std::string path = box.Work(std::string("slip") + TestFormatSuffix(format));
    TestArchiveWriter w(path, format);
    w.File("../../evil.txt", "pwned\n").File("ok.txt", "fine\n");
    ASSERT_TRUE(w.Close()) << w.error();
    box.Snapshot();
    RecordingVisitor v = ReadAll(path);
    EXPECT_EQ(v.skips, (std::vector<Skip>{{"../../evil.txt", SkipReason::kParentPath}}));
    ASSERT_EQ(v.files.size(), 1u);
    EXPECT_EQ(v.files[0].path, "ok.txt");
    box.ExpectUnchangedExcept({});
  }
}

TEST(ArchiveReaderHostileTest, AbsolutePathIsSkippedAndWritesNothing) {
  Sandbox box;
  const std::string path = box.Work("abs.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.File(box.evil_abs(), "pwned\n").File(box.root() + "/abs-evil.txt", "pwned\n");
  ASSERT_TRUE(w.Close()) << w.error();
  box.Snapshot();
  RecordingVisitor v = ReadAll(path);
  EXPECT_EQ(v.skips,
            (std::vector<Skip>{{box.evil_abs(), SkipReason::kAbsolutePath},
                               {box.root() + "/abs-evil.txt", SkipReason::kAbsolutePath}}));
  EXPECT_TRUE(v.files.empty());
  box.ExpectUnchangedExcept({});
}

TEST(ArchiveReaderHostileTest, SymlinkIsSkippedAndAFileThroughItIsOnlyALabel) {
  for (TestFormat format : {TestFormat::kTar, TestFormat::kZip}) {
    SCOPED_TRACE(TestFormatName(format));
    Sandbox box;
    const std::string path = box.Work(std::string("link") + TestFormatSuffix(format));
    TestArchiveWriter w(path, format);
    w.Symlink("link", "/etc").File("link/passwd", "root::0:0::/:/bin/sh\n");
    ASSERT_TRUE(w.Close()) << w.error();
    box.Snapshot();
    RecordingVisitor v = ReadAll(path);
    EXPECT_EQ(v.skips, (std::vector<Skip>{{"link", SkipReason::kSymlink}}));
    // The file behind the link is handed out under its archive name with the archive's bytes:
    // nothing resolves the link, so /etc is neither read nor written.
    ASSERT_EQ(v.files.size(), 1u);
    EXPECT_EQ(v.files[0].path, "link/passwd");
    EXPECT_EQ(v.files[0].data, "root::0:0::/:/bin/sh\n");
    box.ExpectUnchangedExcept({});
  }
}

TEST(ArchiveReaderHostileTest, HardlinkEscapeIsSkippedAndWritesNothing) {
  Sandbox box;
  const std::string path = box.Work("hard.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.Hardlink("passwd", "/etc/passwd").Hardlink("up", "../../../etc/shadow").File("ok.txt", "x");
  ASSERT_TRUE(w.Close()) << w.error();
  box.Snapshot();
  RecordingVisitor v = ReadAll(path);
  EXPECT_EQ(v.skips,
            (std::vector<Skip>{{"passwd", SkipReason::kHardlink}, {"up", SkipReason::kHardlink}}));
  ASSERT_EQ(v.files.size(), 1u);
  EXPECT_EQ(v.files[0].path, "ok.txt");
  box.ExpectUnchangedExcept({});
}

TEST(ArchiveReaderHostileTest, DevicesAndFifosAreSkippedByType) {
  Sandbox box;
  const std::string path = box.Work("special.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.Special("dev/null2", AE_IFCHR).Special("dev/sda9", AE_IFBLK).Special("pipe", AE_IFIFO);
  ASSERT_TRUE(w.Close()) << w.error();
  box.Snapshot();
  RecordingVisitor v = ReadAll(path);
  EXPECT_EQ(v.skips, (std::vector<Skip>{{"dev/null2", SkipReason::kDevice},
                                        {"dev/sda9", SkipReason::kDevice},
                                        {"pipe", SkipReason::kFifo}}));
  EXPECT_TRUE(v.entries.empty());
  box.ExpectUnchangedExcept({});
}

TEST(ArchiveReaderHostileTest, TypeIsJudgedBeforeTheName) {
  TempDir tmp;
  const std::string path = tmp.File("types.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.Symlink("../up", "/").Special("/dev/evil", AE_IFCHR);
  ASSERT_TRUE(w.Close()) << w.error();
  RecordingVisitor v = ReadAll(path);
  // Unsafe names are reported as written (there is no clean form of them).
  EXPECT_EQ(v.skips, (std::vector<Skip>{{"../up", SkipReason::kSymlink},
                                        {"/dev/evil", SkipReason::kDevice}}));
}

TEST(ArchiveReaderHostileTest, UnsafeNamesAndNestedArchivesAreSkipped) {
  TempDir tmp;
  const std::string path = tmp.File("names.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.File("a\n<file path=\"x\">", "fake header")
      .File("dir\\evil.txt", "x")
      .File("C:/Windows/evil.txt", "x")
      .File("inner.zip", "PK\x03\x04")
      .File("deep/inner.tar.gz", "x")
      .File("./fine/./name.txt", "ok");
  ASSERT_TRUE(w.Close()) << w.error();
  RecordingVisitor v = ReadAll(path);
  EXPECT_EQ(v.skips, (std::vector<Skip>{{"a\n<file path=\"x\">", SkipReason::kUnsafeName},
                                        {"dir\\evil.txt", SkipReason::kUnsafeName},
                                        {"C:/Windows/evil.txt", SkipReason::kAbsolutePath},
                                        {"inner.zip", SkipReason::kNestedArchive},
                                        {"deep/inner.tar.gz", SkipReason::kNestedArchive}}));
  ASSERT_EQ(v.files.size(), 1u);
  EXPECT_EQ(v.files[0].path, "fine/name.txt");
}

// Every hostile shape in one archive, read and then packed: the only file that appears anywhere
// is the packer's own output.
TEST(ArchiveReaderHostileTest, PackingAHostileArchiveCreatesOnlyTheOutput) {
  Sandbox box;
  const std::string path = box.Work("all.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.File("../../evil.txt", "pwned\n")
      .File(box.evil_abs(), "pwned\n")
      .Symlink("link", "/etc")
      .File("link/passwd", "pwned\n")
      .Hardlink("passwd", "/etc/passwd")
      .Special("null", AE_IFCHR)
      .Special("fifo", AE_IFIFO)
      .File("ok.txt", "fine\n");
  ASSERT_TRUE(w.Close()) << w.error();
  box.Snapshot();
  PackStats stats;
  const Status s =
      PackArchive(path, Defaults(), PackOptions{}, box.Work("out.txt"), box.Work("spool"), &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  box.ExpectUnchangedExcept({"a/b/work/out.txt"});  // the spool is removed
  EXPECT_EQ(stats.skipped[static_cast<size_t>(SkipReason::kParentPath)], 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(SkipReason::kAbsolutePath)], 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(SkipReason::kSymlink)], 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(SkipReason::kHardlink)], 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(SkipReason::kDevice)], 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(SkipReason::kFifo)], 1u);
  EXPECT_EQ(stats.files_packed, 2u);  // link/passwd (a label only) and ok.txt
  const std::string out = ReadFileAt(box.Work("out.txt"));
  EXPECT_EQ(out.find("evil"), std::string::npos);
  EXPECT_NE(out.find("<file path=\"ok.txt\">\nfine\n</file>\n"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Limits.

// 100 MB of zeros deflates about 1000:1; built once for the bomb tests.
class ZipBombTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    path_ = dir_->File("bomb.zip");
    TestArchiveWriter w(path_, TestFormat::kZip);
    w.File("readme.txt", "not a bomb\n").Zeros("zeros.bin", 100ull << 20);
    ASSERT_TRUE(w.Close()) << w.error();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string path_;
};
TempDir* ZipBombTest::dir_ = nullptr;
std::string ZipBombTest::path_;

TEST_F(ZipBombTest, ItIsAboutAThousandToOne) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_LT(st.st_size, 200 << 10) << "100 MB of zeros should deflate to ~100 KB";
}

TEST_F(ZipBombTest, ReadingItStopsAtMaxRatioEarly) {
  RecordingVisitor v;
  ArchiveStats stats;
  const Status s = Read(path_, v, &stats);
  EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
  EXPECT_EQ(stats.limit, "max_ratio");
  EXPECT_NE(s.message().find("zeros.bin"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ingest.max_ratio"), std::string::npos) << s.message();
  // Stopped soon after the ratio floor, long before the 100 MB.
  ASSERT_NE(v.DataOf("zeros.bin"), nullptr);
  EXPECT_LT(v.DataOf("zeros.bin")->size(), 4u << 20);
  ASSERT_NE(v.DataOf("readme.txt"), nullptr);
}

TEST_F(ZipBombTest, SkippingItsDataStillTripsMaxRatioOnTheDeclaredSize) {
  RecordingVisitor v(/*want_data=*/false);
  ArchiveStats stats;
  const Status s = Read(path_, v, &stats);
  EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
  EXPECT_EQ(stats.limit, "max_ratio");
}

TEST_F(ZipBombTest, AHigherMaxRatioLetsItThrough) {
  ArchiveLimits limits;
  limits.max_ratio = 1e6;
  RecordingVisitor v(/*want_data=*/false);
  ArchiveStats stats;
  const Status s = Read(path_, v, &stats, limits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(stats.limit.empty());
}

TEST_F(ZipBombTest, PackArchiveRefusesIt) {
  PackStats stats;
  const Status s =
      PackArchive(path_, Defaults(), PackOptions{}, dir_->File("out"), dir_->File("spool"), &stats);
  EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
  EXPECT_EQ(stats.archive.limit, "max_ratio");
  EXPECT_FALSE(PathExists(dir_->File("spool")));
}

TEST(ArchiveLimitsTest, TarGzBombTripsMaxRatioWithASmallerFloor) {
  TempDir tmp;
  const std::string path = tmp.File("bomb.tar.gz");
  TestArchiveWriter w(path, TestFormat::kTarGz);
  w.Zeros("zeros.bin", 8u << 20);
  ASSERT_TRUE(w.Close()) << w.error();
  ArchiveLimits limits;
  limits.ratio_floor_bytes = 64 << 10;
  for (bool want : {true, false}) {
    SCOPED_TRACE(want ? "reading" : "skipping");
    RecordingVisitor v(want);
    ArchiveStats stats;
    const Status s = Read(path, v, &stats, limits);
    EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
    EXPECT_EQ(stats.limit, "max_ratio");
  }
}

// Text that compresses only a little (about 1.5:1), as source code and logs do at worst.
std::string OrdinaryText(size_t n) {
  std::string text;
  uint32_t x = 1;
  while (text.size() < n) {
    x = x * 1103515245u + 12345u;
    text += "abcdefghijklmnopqrstuvwxyz0123456789 "[(x >> 16) % 37];
    if ((x >> 8) % 61 == 0) text += '\n';
  }
  return text;
}

// Zip streams and 7z skip a declined entry's data lazily or read it all up front, so the bytes
// an entry occupies are not consumed while it is being skipped; that must not make an
// ordinary large file look like a bomb.
TEST(ArchiveLimitsTest, ALargeOrdinaryFileIsNoBombWhetherReadOrSkipped) {
  const std::string big = OrdinaryText(3 << 19);  // past the 1 MiB ratio floor
  for (TestFormat format : {TestFormat::kZip, TestFormat::k7z, TestFormat::kTarGz,
                            TestFormat::kTarXz, TestFormat::kTar}) {
    SCOPED_TRACE(TestFormatName(format));
    TempDir tmp;
    const std::string path = tmp.File(std::string("big") + TestFormatSuffix(format));
    {
      TestArchiveWriter w(path, format);
      w.File("a.txt", "small\n").File("big.txt", big).File("c.txt", "small\n");
      if (!w.Close()) {
        ADD_FAILURE() << "cannot write " << TestFormatName(format) << ": " << w.error();
        continue;
      }
    }
    for (bool want : {true, false}) {
      SCOPED_TRACE(want ? "reading" : "skipping");
      RecordingVisitor v(want);
      ArchiveStats stats;
      const Status s = Read(path, v, &stats);
      EXPECT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(v.entries.size(), 3u);
      if (want) {
        ASSERT_NE(v.DataOf("big.txt"), nullptr);
        EXPECT_EQ(*v.DataOf("big.txt"), big);
      }
    }
  }
}

// Each entry stays under the ratio floor, so only the whole-archive ratio can catch them.
TEST(ArchiveLimitsTest, ManySmallBombsTripTheWholeArchiveRatio) {
  TempDir tmp;
  const std::string path = tmp.File("many.zip");
  TestArchiveWriter w(path, TestFormat::kZip);
  for (int i = 0; i < 40; ++i)
    w.Zeros("z" + std::to_string(i), 60 << 10);
  ASSERT_TRUE(w.Close()) << w.error();
  ArchiveLimits limits;
  limits.ratio_floor_bytes = 64 << 10;  // the archive check starts at 16x this: 1 MiB
  RecordingVisitor v;
  ArchiveStats stats;
  const Status s = Read(path, v, &stats, limits);
  EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
  EXPECT_EQ(stats.limit, "max_ratio");
  EXPECT_NE(s.message().find("the archive expands"), std::string::npos) << s.message();
}

TEST(ArchiveLimitsTest, TwoHundredThousandEmptyEntriesTripMaxEntries) {
  TempDir tmp;
  const std::string path = tmp.File("many.tar.gz");
  {
    TestArchiveWriter w(path, TestFormat::kTarGz);
    for (int i = 0; i < 200'000 && w.ok(); ++i)
      w.File(std::to_string(i), "");
    ASSERT_TRUE(w.Close()) << w.error();
  }
  ArchiveLimits limits;     // max_entries stays at its default, 100,000
  limits.max_ratio = 1e12;  // empty tar headers gzip far beyond 100:1; not what this tests
  RecordingVisitor v(/*want_data=*/false);
  ArchiveStats stats;
  const Status s = Read(path, v, &stats, limits);
  EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
  EXPECT_EQ(stats.limit, "max_entries");
  EXPECT_EQ(stats.entries, limits.max_entries + 1);
  EXPECT_EQ(v.entries.size(), limits.max_entries);
  EXPECT_NE(s.message().find("ingest.max_entries"), std::string::npos) << s.message();
}

TEST(ArchiveLimitsTest, TotalUnpackedBytesTripMaxUnpacked) {
  TempDir tmp;
  const std::string path = tmp.File("total.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.File("a", std::string(4000, 'a')).File("b", std::string(4000, 'b'));
  w.File("c", std::string(4000, 'c'));
  ASSERT_TRUE(w.Close()) << w.error();
  ArchiveLimits limits;
  limits.max_total_bytes = 10'000;
  for (bool want : {true, false}) {
    SCOPED_TRACE(want ? "reading" : "skipping");
    RecordingVisitor v(want);
    ArchiveStats stats;
    const Status s = Read(path, v, &stats, limits);
    EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
    EXPECT_EQ(stats.limit, "max_unpacked");
    EXPECT_NE(s.message().find("ingest.max_unpacked"), std::string::npos) << s.message();
  }
  limits.max_total_bytes = 1 << 20;
  RecordingVisitor v;
  ArchiveStats stats;
  EXPECT_TRUE(Read(path, v, &stats, limits).ok());
}

TEST(ArchiveLimitsTest, OneLargeEntryTripsMaxEntrySize) {
  for (TestFormat format : {TestFormat::kTar, TestFormat::kZip}) {
    SCOPED_TRACE(TestFormatName(format));
    TempDir tmp;
    const std::string path = tmp.File(std::string("big") + TestFormatSuffix(format));
    TestArchiveWriter w(path, format);
    w.File("small.txt", "x").File("big.txt", std::string(300'000, 'b'));
    ASSERT_TRUE(w.Close()) << w.error();
    ArchiveLimits limits;
    limits.max_entry_bytes = 100'000;
    RecordingVisitor v;
    ArchiveStats stats;
    const Status s = Read(path, v, &stats, limits);
    EXPECT_EQ(s.code(), Status::Code::kOutOfRange) << s.ToString();
    EXPECT_EQ(stats.limit, "max_entry_size");
    EXPECT_NE(s.message().find("big.txt"), std::string::npos) << s.message();
  }
}

// ---------------------------------------------------------------------------------------------
// Broken input: a clear error, never a crash.

std::string SmallTarGz(const std::string& path) {
  TestArchiveWriter w(path, TestFormat::kTarGz);
  std::string text;
  for (int i = 0; i < 20'000; ++i)
    text += "line " + std::to_string(i * 7919 % 10007) + "\n";
  w.File("a.txt", text).File("b.txt", text + "b");
  EXPECT_TRUE(w.Close()) << w.error();
  return ReadFileAt(path);
}

TEST(ArchiveReaderBrokenTest, TruncatedArchivesGiveCorruptionNamingTheFile) {
  TempDir tmp;
  const std::string whole = SmallTarGz(tmp.File("whole.tar.gz"));
  ASSERT_GT(whole.size(), 1000u);
  for (size_t keep : {whole.size() / 2, whole.size() - 30, size_t{200}}) {
    SCOPED_TRACE(keep);
    const std::string path = tmp.File("cut.tar.gz");
    ASSERT_TRUE(WriteFileAt(path, whole.substr(0, keep)));
    RecordingVisitor v;
    ArchiveStats stats;
    const Status s = Read(path, v, &stats);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  }
}

TEST(ArchiveReaderBrokenTest, TruncatedZipIsAnErrorNotACrash) {
  TempDir tmp;
  const std::string path = tmp.File("whole.zip");
  {
    TestArchiveWriter w(path, TestFormat::kZip);
    w.File("a.txt", std::string(50'000, 'a')).File("b.txt", std::string(50'000, 'b'));
    ASSERT_TRUE(w.Close()) << w.error();
  }
  const std::string whole = ReadFileAt(path);
  for (size_t keep : {whole.size() / 2, size_t{40}}) {
    SCOPED_TRACE(keep);
    ASSERT_TRUE(WriteFileAt(tmp.File("cut.zip"), whole.substr(0, keep)));
    RecordingVisitor v;
    ArchiveStats stats;
    const Status s = Read(tmp.File("cut.zip"), v, &stats);
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(ArchiveReaderBrokenTest, CorruptedTarHeaderIsCorruption) {
  TempDir tmp;
  const std::string path = tmp.File("x.tar");
  {
    TestArchiveWriter w(path, TestFormat::kTar);
    w.File("a.txt", "first\n").File("b.txt", "second\n");
    ASSERT_TRUE(w.Close()) << w.error();
  }
  std::string bytes = ReadFileAt(path);
  // The second header starts at 1024 (one header and one data block before it); scribbling
  // over its checksum field makes it invalid.
  ASSERT_GT(bytes.size(), 2048u);
  for (size_t i = 1024 + 148; i < 1024 + 156; ++i)
    bytes[i] = 'Z';
  ASSERT_TRUE(WriteFileAt(path, bytes));
  RecordingVisitor v;
  ArchiveStats stats;
  const Status s = Read(path, v, &stats);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  ASSERT_NE(v.DataOf("a.txt"), nullptr);  // what came before is delivered
}

TEST(ArchiveReaderBrokenTest, NonArchiveBytesAreCorruption) {
  TempDir tmp;
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245u + 12345u;
    noise += static_cast<char>(x >> 24);
  }
  for (const std::string& bytes :
       {std::string("just some text, not an archive\n"), noise, std::string(10, '\0') + "x"}) {
    const std::string path = tmp.File("not-an-archive");
    ASSERT_TRUE(WriteFileAt(path, bytes));
    RecordingVisitor v;
    ArchiveStats stats;
    const Status s = Read(path, v, &stats);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
    EXPECT_FALSE(s.message().empty());
    EXPECT_TRUE(v.entries.empty());
  }
}

// lrzip and lzop streams would make libarchive run the `lrzip` or `lzop` program on the upload;
// they are not archives we read.
TEST(ArchiveReaderBrokenTest, StreamsNeedingAnExternalProgramAreRefusedWithoutRunningIt) {
  const std::string lrzip = std::string("LRZI\x00\x06", 6) + std::string(40, '\0');
  const std::string lzop =
      std::string("\x89LZO\x00\r\n\x1a\n\x10\x30\x20\xa0\x09\x40", 15) + std::string(40, '\0');
  for (const std::string& bytes : {lrzip, lzop}) {
    RecordingVisitor v;
    ArchiveStats stats;
    const Status s = ReadArchiveFromMemory(bytes, "upload", Defaults(), v, &stats);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
    EXPECT_EQ(s.message().find("program"), std::string::npos) << s.message();
  }
}

TEST(ArchiveReaderBrokenTest, MissingFileIsAnError) {
  RecordingVisitor v;
  ArchiveStats stats;
  const Status s = Read("/nonexistent/cortex/archive.zip", v, &stats);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/cortex/archive.zip"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The visitor's say.

TEST(ArchiveVisitorTest, KeepGoingFalseCancelsTheRead) {
  TempDir tmp;
  const std::string path = tmp.File("x.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.File("a", "1").File("b", "2").File("c", "3");
  ASSERT_TRUE(w.Close()) << w.error();
  struct Cancelling : RecordingVisitor {
    bool KeepGoing() override { return files.size() < 2; }
  } v;
  ArchiveStats stats;
  const Status s = ReadArchive(path, Defaults(), v, &stats);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(s.message(), "cancelled");
  EXPECT_TRUE(stats.cancelled);
  EXPECT_EQ(v.files.size(), 2u);
}

TEST(ArchiveVisitorTest, AnOnDataErrorStopsTheReadWithIt) {
  TempDir tmp;
  const std::string path = tmp.File("x.zip");
  TestArchiveWriter w(path, TestFormat::kZip);
  w.File("a", "1").File("b", "2");
  ASSERT_TRUE(w.Close()) << w.error();
  struct Failing : RecordingVisitor {
    Status OnData(std::string_view) override { return Status::IoError("disk full"); }
  } v;
  ArchiveStats stats;
  const Status s = ReadArchive(path, Defaults(), v, &stats);
  EXPECT_EQ(s.ToString(), Status::IoError("disk full").ToString());
  EXPECT_EQ(v.entries.size(), 1u);
}

TEST(ArchiveVisitorTest, DirectoriesAreReportedWithCleanPathsAndNoData) {
  TempDir tmp;
  const std::string path = tmp.File("x.tar");
  TestArchiveWriter w(path, TestFormat::kTar);
  w.Dir("src/").Dir("./src/sub//").File("src/sub/x.txt", "x");
  ASSERT_TRUE(w.Close()) << w.error();
  RecordingVisitor v = ReadAll(path);
  EXPECT_EQ(v.dirs, (std::vector<std::string>{"src", "src/sub"}));
  ASSERT_EQ(v.entries.size(), 3u);
  EXPECT_EQ(v.entries[2].kind, EntryKind::kFile);
  EXPECT_EQ(v.entries[2].declared_size, 1u);
}

}  // namespace
}  // namespace cortex::ingest
