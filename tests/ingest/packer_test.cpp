#include "ingest/packer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "ingest/archive_test_util.h"
#include "support/temp_dir.h"

namespace cortex::ingest {
namespace {

using cortex::testing::TempDir;
using testing::PathExists;
using testing::ReadFileAt;
using testing::TestArchiveWriter;
using testing::TestFormat;
using testing::WriteFileAt;

using Tree = std::map<std::string, std::string>;  // path -> content

void WriteTree(const std::string& root, const Tree& tree) {
  for (const auto& [path, content] : tree)
    ASSERT_TRUE(WriteFileAt(root + "/" + path, content));
}

uint64_t Skipped(const PackStats& stats, SkipReason reason) {
  return stats.skipped[static_cast<size_t>(reason)];
}

// What a pack produced: the output text and the stats.
struct Packed {
  Status status;
  std::string text;
  PackStats stats;
};

Packed PackDir(const TempDir& tmp, const Tree& tree, const PackOptions& options = {}) {
  const std::string root = tmp.File("tree");
  ::mkdir(root.c_str(), 0755);
  WriteTree(root, tree);
  Packed p;
  p.status = PackDirectory(root, options, tmp.File("dir.out"), &p.stats);
  p.text = ReadFileAt(tmp.File("dir.out"));
  return p;
}

// Packs an archive of `tree` written in the map's reverse order (so the archive's order is not
// the pack's), with a directory entry before each file's parent is used.
Packed PackTree(const TempDir& tmp, const Tree& tree, TestFormat format = TestFormat::kTar,
                const PackOptions& options = {}, const std::string& name = "tree.tar") {
  const std::string path = tmp.File(name);
  {
    TestArchiveWriter w(path, format);
    for (auto it = tree.rbegin(); it != tree.rend(); ++it) {
      const size_t slash = it->first.rfind('/');
      if (slash != std::string::npos) w.Dir(it->first.substr(0, slash) + "/");
      w.File(it->first, it->second);
    }
    EXPECT_TRUE(w.Close()) << w.error();
  }
  Packed p;
  p.status = PackArchive(path, ArchiveLimits{}, options, tmp.File(name + ".out"),
                         tmp.File(name + ".spool"), &p.stats);
  p.text = ReadFileAt(tmp.File(name + ".out"));
  EXPECT_FALSE(PathExists(tmp.File(name + ".spool"))) << "the spool outlives the pack";
  return p;
}

// The paths that got a <file> section, in output order.
std::vector<std::string> PackedPaths(const PackStats& stats) {
  std::vector<std::string> out;
  for (const PackedFile& f : stats.files)
    out.push_back(f.path);
  return out;
}

// The directory tree part of the output.
std::string TreeSection(const std::string& text) {
  const std::string open = "<directory_structure>\n";
  const size_t a = text.find(open);
  const size_t b = text.find("</directory_structure>\n");
  if (a == std::string::npos || b == std::string::npos) return "<no tree>";
  return text.substr(a + open.size(), b - a - open.size());
}

// ---------------------------------------------------------------------------------------------
// Order and format.

TEST(PackOrderLessTest, DirectoriesFirstThenFilesByteOrderPerLevel) {
  std::vector<std::string> paths = {"b.txt",     "README.md", "src/main.cpp", "src/util/a.h",
                                    "docs/x.md", "a/z",       "Z/a",          "src/Main.cpp"};
  std::sort(paths.begin(), paths.end(), PackOrderLess);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"Z/a", "a/z", "docs/x.md", "src/util/a.h", "src/Main.cpp",
                                      "src/main.cpp", "README.md", "b.txt"}));
}

// std::sort needs a strict weak ordering, and an archive may hold both a file `b` and files
// under `b/` (tar does not forbid it).
TEST(PackOrderLessTest, IsAStrictWeakOrderingEvenWhenAFileAndADirectoryShareAName) {
  const std::vector<std::string> paths = {"a",   "b",     "b/x",  "a/b", "a/b/c", "B",
                                          "a.b", "a b/c", "ab/c", "c",   "c/c/c", "c/c"};
  for (const std::string& x : paths) {
    EXPECT_FALSE(PackOrderLess(x, x)) << x;
    for (const std::string& y : paths) {
      if (x != y) {
        EXPECT_NE(PackOrderLess(x, y), PackOrderLess(y, x)) << x << " vs " << y;
      }
      for (const std::string& z : paths) {
        if (PackOrderLess(x, y) && PackOrderLess(y, z)) {
          EXPECT_TRUE(PackOrderLess(x, z)) << x << " < " << y << " < " << z;
        }
      }
    }
  }
}

TEST(PackerFormatTest, TreeComesFirstThenEveryFileUnderItsHeaderInPackOrder) {
  TempDir tmp;
  const Tree tree = {{"README.md", "# r\n"},
                     {"b.txt", "b\n"},
                     {"src/main.cpp", "int main() {}"},  // no final newline: one is added
                     {"src/util/a.h", "a\n"},
                     {"docs/x.md", "x\n"}};
  const Packed p = PackDir(tmp, tree);
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  const std::string body =
      "<directory_structure>\n"
      "docs/\n"
      "  x.md\n"
      "src/\n"
      "  util/\n"
      "    a.h\n"
      "  main.cpp\n"
      "README.md\n"
      "b.txt\n"
      "</directory_structure>\n"
      "\n"
      "<files>\n"
      "<file path=\"docs/x.md\">\nx\n</file>\n"
      "<file path=\"src/util/a.h\">\na\n</file>\n"
      "<file path=\"src/main.cpp\">\nint main() {}\n</file>\n"
      "<file path=\"README.md\">\n# r\n</file>\n"
      "<file path=\"b.txt\">\nb\n</file>\n"
      "</files>\n";
  const size_t start = p.text.find("<directory_structure>\n");
  ASSERT_NE(start, std::string::npos) << p.text;
  EXPECT_EQ(p.text.substr(start), body);
  // A short preamble says what the text is.
  EXPECT_GT(start, 0u);
  EXPECT_EQ(p.text.substr(start - 2, 2), "\n\n");
}

TEST(PackerFormatTest, StatsDescribeTheOutputExactly) {
  TempDir tmp;
  const Tree tree = {{"a.txt", "alpha\n"},
                     {"b/c.txt", "gamma"},
                     {"bin.dat", std::string("x\0y", 3)},
                     {"big.txt", "0123456789"},
                     {"x.log", "ignored\n"}};
  PackOptions options;
  options.max_file_bytes = 9;
  const Packed p = PackDir(tmp, tree, options);
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  const PackStats& s = p.stats;
  EXPECT_EQ(s.files_seen, 4u);  // a directory walk counts x.log as ignored, not as seen
  EXPECT_EQ(s.files_packed, 2u);
  EXPECT_EQ(Skipped(s, SkipReason::kIgnored), 1u);
  EXPECT_EQ(Skipped(s, SkipReason::kBinary), 1u);
  EXPECT_EQ(Skipped(s, SkipReason::kTooLarge), 1u);
  EXPECT_EQ(s.skipped_total(), 3u);
  EXPECT_EQ(s.content_bytes, 6u + 5u);
  EXPECT_EQ(s.output_bytes, p.text.size());
  ASSERT_EQ(PackedPaths(s), (std::vector<std::string>{"b/c.txt", "a.txt"}));
  // Each PackedFile is its exact block; the blocks tile the output between prologue and
  // epilogue.
  uint64_t at = s.prologue_bytes;
  for (const PackedFile& f : s.files) {
    EXPECT_EQ(f.offset, at) << f.path;
    const std::string block = p.text.substr(f.offset, f.length);
    EXPECT_EQ(block.rfind("<file path=\"" + f.path + "\">\n", 0), 0u) << block;
    EXPECT_TRUE(block.ends_with("\n</file>\n")) << block;
    at += f.length;
  }
  EXPECT_EQ(at + s.epilogue_bytes, s.output_bytes);
  EXPECT_EQ(p.text.substr(at), "</files>\n");
  EXPECT_TRUE(p.text.substr(0, s.prologue_bytes).ends_with("<files>\n"));
  // Left-out files that are not ignored stay in the tree.
  EXPECT_NE(TreeSection(p.text).find("big.txt"), std::string::npos);
  EXPECT_EQ(TreeSection(p.text).find("x.log"), std::string::npos);
}

TEST(PackerFormatTest, PathsInHeadersAreAttributeEscaped) {
  TempDir tmp;
  const Packed p = PackDir(tmp, {{"q\"&<>.txt", "x\n"}});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_NE(p.text.find("<file path=\"q&quot;&amp;&lt;&gt;.txt\">\nx\n</file>\n"),
            std::string::npos)
      << p.text;
}

TEST(PackerFormatTest, AnEmptyTreeStillHasTheWholeFrame) {
  TempDir tmp;
  const Packed p = PackDir(tmp, {});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_TRUE(
      p.text.ends_with("<directory_structure>\n</directory_structure>\n\n<files>\n</files>\n"))
      << p.text;
  EXPECT_EQ(p.stats.files_packed, 0u);
}

// ---------------------------------------------------------------------------------------------
// Ignore rules, as the packer applies them to a directory and to an archive alike.

// Runs `check` on the pack of `tree` from a directory and from a tar of it.
template <typename Check>
void BothWays(const Tree& tree, const PackOptions& options, Check check) {
  {
    SCOPED_TRACE("PackDirectory");
    TempDir tmp;
    const Packed p = PackDir(tmp, tree, options);
    ASSERT_TRUE(p.status.ok()) << p.status.ToString();
    check(p);
  }
  {
    SCOPED_TRACE("PackArchive");
    TempDir tmp;
    const Packed p = PackTree(tmp, tree, TestFormat::kTar, options);
    ASSERT_TRUE(p.status.ok()) << p.status.ToString();
    check(p);
  }
}

TEST(PackerIgnoreTest, NestedGitignoreNegatesAParentPattern) {
  const Tree tree = {{".gitignore", "*.log\nlogs/\n!logs/important.log\n"},
                     {"sub/.gitignore", "!keep.log\n"},
                     {"a.log", "x\n"},
                     {"main.c", "int x;\n"},
                     {"sub/keep.log", "kept\n"},
                     {"sub/deep/keep.log", "kept too\n"},
                     {"sub/other.log", "x\n"},
                     {"other/keep.log", "x\n"},
                     {"logs/important.log", "inside an ignored dir: stays out\n"}};
  BothWays(tree, {}, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats),
              (std::vector<std::string>{"sub/deep/keep.log", "sub/.gitignore", "sub/keep.log",
                                        ".gitignore", "main.c"}));
  });
}

TEST(PackerIgnoreTest, DirectoryRulesMatchDirectoriesAtAnyDepthButNotFiles) {
  const Tree tree = {{".gitignore", "gen/\n"},
                     {"gen/out.txt", "x\n"},
                     {"lib/gen/deep/y.txt", "x\n"},
                     {"docs/gen", "a file named gen\n"},
                     {"lib/main.c", "int x;\n"}};
  PackOptions options;
  options.default_ignores = false;
  BothWays(tree, options, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats),
              (std::vector<std::string>{"docs/gen", "lib/main.c", ".gitignore"}));
  });
}

TEST(PackerIgnoreTest, BuildDirectoryIsIgnoredByGitignoreAndByDefault) {
  const Tree tree = {{".gitignore", "build/\n"}, {"build/x.txt", "x\n"}, {"src/a.c", "a\n"}};
  for (bool defaults : {true, false}) {
    SCOPED_TRACE(defaults ? "defaults" : "no defaults");
    PackOptions options;
    options.default_ignores = defaults;
    BothWays(tree, options, [](const Packed& p) {
      EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{"src/a.c", ".gitignore"}));
    });
  }
}

TEST(PackerIgnoreTest, LeadingSlashAnchorsToTheGitignoreDirectory) {
  const Tree tree = {{".gitignore", "/x.txt\n/gen\n"},
                     {"x.txt", "x\n"},
                     {"sub/x.txt", "kept\n"},
                     {"gen/a.txt", "x\n"},
                     {"sub/gen/a.txt", "kept\n"},
                     {"sub/.gitignore", "/y.txt\n"},
                     {"sub/y.txt", "x\n"},
                     {"sub/deeper/y.txt", "kept\n"},
                     {"y.txt", "kept\n"}};
  PackOptions options;
  options.default_ignores = false;
  BothWays(tree, options, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats),
              (std::vector<std::string>{"sub/deeper/y.txt", "sub/gen/a.txt", "sub/.gitignore",
                                        "sub/x.txt", ".gitignore", "y.txt"}));
  });
}

TEST(PackerIgnoreTest, DefaultIgnoresLeaveOutVcsDependenciesLocksMinifiedAndImages) {
  const Tree tree = {{".git/config", "[core]\n"},
                     {"node_modules/left-pad/index.js", "module.exports = 1;\n"},
                     {"web/node_modules/x.js", "x\n"},
                     {"package-lock.json", "{}\n"},
                     {"yarn.lock", "# lock\n"},
                     {"Cargo.lock", "# lock\n"},
                     {"dist/app.js", "x\n"},
                     {"web/app.min.js", "x\n"},
                     {"web/app.js", "let a = 1;\n"},
                     {"logo.png", "not really a png\n"},
                     {"photo.JPG.txt", "a text file\n"},
                     {"icon.svg", "<svg/>\n"},
                     {".env", "SECRET=1\n"},
                     {".env.example", "SECRET=\n"},
                     {"debug.log", "x\n"}};
  BothWays(tree, {}, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{"web/app.js", ".env.example",
                                                              "icon.svg", "photo.JPG.txt"}));
    EXPECT_EQ(TreeSection(p.text), "web/\n  app.js\n.env.example\nicon.svg\nphoto.JPG.txt\n");
    EXPECT_GE(Skipped(p.stats, SkipReason::kIgnored), 8u);
  });
  PackOptions options;
  options.default_ignores = false;
  BothWays(tree, options, [&](const Packed& p) {
    EXPECT_EQ(p.stats.files_packed, tree.size());
    EXPECT_EQ(p.stats.skipped_total(), 0u);
  });
}

TEST(PackerIgnoreTest, GitignoreNegationBringsBackADefault) {
  const Tree tree = {{".gitignore", "!yarn.lock\n"}, {"yarn.lock", "# lock\n"}};
  BothWays(tree, {}, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{".gitignore", "yarn.lock"}));
  });
}

TEST(PackerIgnoreTest, UseGitignoreFalseIgnoresTheFiles) {
  const Tree tree = {{".gitignore", "*.txt\n"}, {"a.txt", "a\n"}};
  PackOptions options;
  options.use_gitignore = false;
  BothWays(tree, options, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{".gitignore", "a.txt"}));
  });
}

// ---------------------------------------------------------------------------------------------
// Content checks.

TEST(LooksLikeTextTest, AcceptsUtf8AndRefusesNulAndMalformedSequences) {
  EXPECT_TRUE(LooksLikeText(""));
  EXPECT_TRUE(LooksLikeText("plain ascii, long enough to use the word-at-a-time path\n"));
  EXPECT_TRUE(LooksLikeText("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x8e\x89"));  // é ✓ 🎉
  EXPECT_TRUE(LooksLikeText("\xf4\x8f\xbf\xbf"));                            // U+10FFFF
  EXPECT_FALSE(LooksLikeText(std::string("abcdefgh\0abcdefgh", 17)));
  EXPECT_FALSE(LooksLikeText(std::string("ab\0", 3)));
  EXPECT_FALSE(LooksLikeText("\xff\xfe"));          // a UTF-16 BOM
  EXPECT_FALSE(LooksLikeText("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(LooksLikeText("\xe0\x80\xaf"));      // overlong, three bytes
  EXPECT_FALSE(LooksLikeText("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(LooksLikeText("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(LooksLikeText("\x80"));              // a lone continuation byte
  EXPECT_FALSE(LooksLikeText("abc\xe2\x9c"));       // cut short
  EXPECT_FALSE(LooksLikeText("\xc3("));             // not a continuation byte
}

TEST(PackerContentTest, BinaryFilesAreSkippedAsBinaryButStayInTheTree) {
  const Tree tree = {{"nul.dat", std::string("text\0more", 9)},
                     {"latin1.txt", "caf\xe9\n"},
                     {"utf16.txt", std::string("\xff\xfeh\0i\0", 6)},
                     {"ok.txt", "caf\xc3\xa9\n"}};
  BothWays(tree, {}, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{"ok.txt"}));
    EXPECT_EQ(Skipped(p.stats, SkipReason::kBinary), 3u);
    EXPECT_EQ(TreeSection(p.text), "latin1.txt\nnul.dat\nok.txt\nutf16.txt\n");
    std::vector<std::pair<std::string, SkipReason>> binary;
    for (const auto& e : p.stats.skip_examples) {
      if (e.second == SkipReason::kBinary) binary.push_back(e);
    }
    EXPECT_EQ(binary.size(), 3u);
  });
}

TEST(PackerContentTest, FilesOverMaxFileBytesAreSkippedAsTooLarge) {
  const Tree tree = {{"fits.txt", std::string(100, 'a')}, {"over.txt", std::string(101, 'b')}};
  PackOptions options;
  options.max_file_bytes = 100;
  BothWays(tree, options, [](const Packed& p) {
    EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{"fits.txt"}));
    EXPECT_EQ(Skipped(p.stats, SkipReason::kTooLarge), 1u);
    EXPECT_EQ(TreeSection(p.text), "fits.txt\nover.txt\n");
    ASSERT_EQ(p.stats.skip_examples.size(), 1u);
    EXPECT_EQ(p.stats.skip_examples[0].first, "over.txt");
  });
}

// ---------------------------------------------------------------------------------------------
// The same tree packs to the same bytes, whatever it came in.

TEST(PackerDeterminismTest, ArchiveAndDirectoryOfOneTreePackIdentically) {
  const Tree tree = {{".gitignore", "*.tmp\nout/\n"},
                     {"README.md", "# project\n"},
                     {"src/main.cpp", "int main() {}\n"},
                     {"src/util/strings.h", "#pragma once\n"},
                     {"src/util/strings.cpp", "// strings\n"},
                     {"src/.gitignore", "!keep.tmp\n"},
                     {"src/keep.tmp", "kept\n"},
                     {"scratch.tmp", "x\n"},
                     {"out/build.txt", "x\n"},
                     {"node_modules/x/index.js", "x\n"},
                     {"assets/blob.dat", std::string("\x00\x01\x02", 3)},
                     {"assets/big.txt", std::string(5000, 'z')},
                     {"Zeta.txt", "upper case sorts first\n"},
                     {"a b/c d.txt", "spaces\n"}};
  PackOptions options;
  options.max_file_bytes = 4096;
  TempDir tmp;
  const Packed dir = PackDir(tmp, tree, options);
  ASSERT_TRUE(dir.status.ok()) << dir.status.ToString();
  const Packed tar = PackTree(tmp, tree, TestFormat::kTar, options, "t.tar");
  ASSERT_TRUE(tar.status.ok()) << tar.status.ToString();
  const Packed zip = PackTree(tmp, tree, TestFormat::kZip, options, "t.zip");
  ASSERT_TRUE(zip.status.ok()) << zip.status.ToString();
  const Packed tgz = PackTree(tmp, tree, TestFormat::kTarGz, options, "t.tar.gz");
  ASSERT_TRUE(tgz.status.ok()) << tgz.status.ToString();
  EXPECT_EQ(tar.text, dir.text);
  EXPECT_EQ(zip.text, dir.text);
  EXPECT_EQ(tgz.text, dir.text);
  for (const Packed* p : {&tar, &zip, &tgz}) {
    EXPECT_EQ(p->stats.files_packed, dir.stats.files_packed);
    EXPECT_EQ(p->stats.content_bytes, dir.stats.content_bytes);
    EXPECT_EQ(p->stats.output_bytes, dir.stats.output_bytes);
    EXPECT_EQ(p->stats.prologue_bytes, dir.stats.prologue_bytes);
    EXPECT_EQ(Skipped(p->stats, SkipReason::kBinary), 1u);
    EXPECT_EQ(Skipped(p->stats, SkipReason::kTooLarge), 1u);
    EXPECT_EQ(PackedPaths(p->stats), PackedPaths(dir.stats));
  }
  EXPECT_EQ(PackedPaths(dir.stats),
            (std::vector<std::string>{"a b/c d.txt", "src/util/strings.cpp", "src/util/strings.h",
                                      "src/.gitignore", "src/keep.tmp", "src/main.cpp",
                                      ".gitignore", "README.md", "Zeta.txt"}));
}

TEST(PackerDeterminismTest, ArchiveEntryOrderDoesNotMatter) {
  TempDir tmp;
  const std::vector<std::pair<std::string, std::string>> files = {
      {"b", "file b\n"}, {"b/x", "under b\n"}, {"a", "a\n"},    {"c/d/e", "e\n"},
      {"c/d", "d\n"},    {"c/a", "ca\n"},      {"B/z", "Bz\n"}, {"a.b", "ab\n"}};
  std::string first;
  for (int round = 0; round < 8; ++round) {
    std::vector<std::pair<std::string, std::string>> order = files;
    std::rotate(order.begin(), order.begin() + round, order.end());
    if (round % 2 == 1) std::reverse(order.begin(), order.end());
    const std::string path = tmp.File("r" + std::to_string(round) + ".tar");
    TestArchiveWriter w(path, TestFormat::kTar);
    for (const auto& [name, content] : order)
      w.File(name, content);
    ASSERT_TRUE(w.Close()) << w.error();
    PackStats stats;
    ASSERT_TRUE(
        PackArchive(path, ArchiveLimits{}, PackOptions{}, path + ".out", path + ".spool", &stats)
            .ok());
    const std::string text = ReadFileAt(path + ".out");
    if (round == 0) {
      first = text;
    } else {
      EXPECT_EQ(text, first) << "round " << round;
    }
    EXPECT_EQ(stats.files_packed, files.size());
  }
}

// ---------------------------------------------------------------------------------------------
// What a directory walk refuses.

TEST(PackDirectoryTest, SymlinksAndFifosAreNeverFollowedOrRead) {
  TempDir tmp;
  const std::string root = tmp.File("tree");
  ::mkdir(root.c_str(), 0755);
  ASSERT_TRUE(WriteFileAt(root + "/ok.txt", "ok\n"));
  ASSERT_EQ(::symlink("/etc", (root + "/etc").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (root + "/passwd").c_str()), 0);
  ASSERT_EQ(::mkfifo((root + "/pipe").c_str(), 0644), 0);
  PackStats stats;
  ASSERT_TRUE(PackDirectory(root, PackOptions{}, tmp.File("out"), &stats).ok());
  EXPECT_EQ(PackedPaths(stats), (std::vector<std::string>{"ok.txt"}));
  EXPECT_EQ(Skipped(stats, SkipReason::kSymlink), 2u);
  EXPECT_EQ(Skipped(stats, SkipReason::kFifo), 1u);
  const std::string out = ReadFileAt(tmp.File("out"));
  EXPECT_EQ(out.find("root:"), std::string::npos);
  EXPECT_EQ(TreeSection(out), "ok.txt\n");
}

TEST(PackDirectoryTest, AMissingDirectoryIsAnIoError) {
  TempDir tmp;
  PackStats stats;
  const Status s = PackDirectory(tmp.File("absent"), PackOptions{}, tmp.File("out"), &stats);
  EXPECT_EQ(s.code(), Status::Code::kIoError) << s.ToString();
}

TEST(PackDirectoryTest, ProgressCanCancel) {
  TempDir tmp;
  Tree tree;
  for (int i = 0; i < 200; ++i)
    tree["f" + std::to_string(1000 + i) + ".txt"] = "x\n";
  const std::string root = tmp.File("tree");
  ::mkdir(root.c_str(), 0755);
  WriteTree(root, tree);
  int calls = 0;
  PackStats stats;
  const Status s = PackDirectory(root, PackOptions{}, tmp.File("out"), &stats,
                                 [&](std::string_view, uint64_t, uint64_t, std::string_view) {
                                   ++calls;
                                   return false;
                                 });
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(s.message(), "cancelled");
  EXPECT_EQ(calls, 1);
}

// The packer's first pass declines every file but .gitignore files, so this is the path every
// upload takes.
TEST(PackArchiveTest, ALargeOrdinaryTextFilePacksFromEveryFormat) {
  std::string big;
  uint32_t x = 7;
  while (big.size() < (2u << 20)) {
    x = x * 1103515245u + 12345u;
    big += "abcdefghijklmnopqrstuvwxyz0123456789 "[(x >> 16) % 37];
    if ((x >> 8) % 61 == 0) big += '\n';
  }
  const Tree tree = {{"a.txt", "a\n"}, {"big.txt", big}, {"z.txt", "z\n"}};
  for (TestFormat format : {TestFormat::kZip, TestFormat::k7z, TestFormat::kTarGz}) {
    SCOPED_TRACE(testing::TestFormatName(format));
    TempDir tmp;
    const Packed p =
        PackTree(tmp, tree, format, {}, std::string("t") + testing::TestFormatSuffix(format));
    ASSERT_TRUE(p.status.ok()) << p.status.ToString();
    EXPECT_EQ(PackedPaths(p.stats), (std::vector<std::string>{"a.txt", "big.txt", "z.txt"}));
    EXPECT_NE(p.text.find("<file path=\"big.txt\">\n" + big), std::string::npos);
  }
}

TEST(PackArchiveTest, AnUnreadableArchiveIsAnErrorAndLeavesNoSpool) {
  TempDir tmp;
  ASSERT_TRUE(WriteFileAt(tmp.File("x.zip"), "not a zip at all"));
  PackStats stats;
  const Status s = PackArchive(tmp.File("x.zip"), ArchiveLimits{}, PackOptions{}, tmp.File("out"),
                               tmp.File("spool"), &stats);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_FALSE(PathExists(tmp.File("spool")));
}

}  // namespace
}  // namespace cortex::ingest
