#include "supervise/rotating_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex::supervise {
namespace {

namespace fs = std::filesystem;
using cortex::testing::ReadWholeFile;
using cortex::testing::TempDir;

TEST(RotatingLogTest, AppendsToNameDotLogInADirectoryItCreates) {
  TempDir tmp;
  const std::string dir = tmp.File("logs/engines");
  RotatingLog log(dir, "qwen", 1 << 20, 3);
  EXPECT_EQ(log.path(), dir + "/qwen.log");
  log.Append("first line\nsecond ");
  log.Append("line\n");
  EXPECT_EQ(ReadWholeFile(dir + "/qwen.log"), "first line\nsecond line\n");
  EXPECT_FALSE(fs::exists(dir + "/qwen.log.1"));
}

TEST(RotatingLogTest, AppendsAfterWhatAnEarlierRunWrote) {
  TempDir tmp;
  {
    RotatingLog log(tmp.path(), "e", 1 << 20, 3);
    log.Append("run 1\n");
  }
  RotatingLog log(tmp.path(), "e", 1 << 20, 3);
  log.Append("run 2\n");
  EXPECT_EQ(ReadWholeFile(log.path()), "run 1\nrun 2\n");
}

TEST(RotatingLogTest, RotatesBySizeKeepingAtMostFilesOldOnes) {
  TempDir tmp;
  RotatingLog log(tmp.path(), "e", 10, 2);
  const std::string base = tmp.File("e.log");
  log.Append("aaaaaaaaa\n");  // 10 bytes: reaches the limit
  EXPECT_EQ(ReadWholeFile(base + ".1"), "aaaaaaaaa\n");
  EXPECT_EQ(ReadWholeFile(base), "");
  log.Append("bbbb\n");
  EXPECT_EQ(ReadWholeFile(base), "bbbb\n");
  log.Append("bbbb\n");
  EXPECT_EQ(ReadWholeFile(base + ".1"), "bbbb\nbbbb\n");
  EXPECT_EQ(ReadWholeFile(base + ".2"), "aaaaaaaaa\n");
  log.Append("cccccccccc\n");
  EXPECT_EQ(ReadWholeFile(base + ".1"), "cccccccccc\n");
  EXPECT_EQ(ReadWholeFile(base + ".2"), "bbbb\nbbbb\n");
  EXPECT_FALSE(fs::exists(base + ".3")) << "the oldest beyond `files` is deleted";
  log.Append("d\n");
  EXPECT_EQ(ReadWholeFile(base), "d\n");
}

TEST(RotatingLogTest, CountsTheSizeOfAFileItReopens) {
  TempDir tmp;
  { std::ofstream(tmp.File("e.log")) << "12345678"; }
  RotatingLog log(tmp.path(), "e", 10, 1);
  log.Append("9\n");
  EXPECT_EQ(ReadWholeFile(tmp.File("e.log.1")), "123456789\n");
  EXPECT_EQ(ReadWholeFile(tmp.File("e.log")), "");
}

TEST(RotatingLogTest, WithNoOldFilesRotationStartsAfresh) {
  TempDir tmp;
  RotatingLog log(tmp.path(), "e", 5, 0);
  log.Append("old!\n");
  log.Append("new\n");
  EXPECT_EQ(ReadWholeFile(tmp.File("e.log")), "new\n");
  EXPECT_FALSE(fs::exists(tmp.File("e.log.1")));
}

TEST(RotatingLogTest, TailReturnsTheLastCompleteLinesAcrossPartialAppends) {
  TempDir tmp;
  RotatingLog log(tmp.path(), "e", 1 << 20, 1);
  EXPECT_EQ(log.Tail(3), "");
  log.Append("one\ntw");
  log.Append("o\nthr");
  EXPECT_EQ(log.Tail(1), "two\n");
  EXPECT_EQ(log.Tail(2), "one\ntwo\n");
  EXPECT_EQ(log.Tail(10), "one\ntwo\n") << "an unfinished line is not in the tail";
  EXPECT_EQ(log.Tail(0), "");
  log.Append("ee\n\nfour\n");
  EXPECT_EQ(log.Tail(3), "three\n\nfour\n");
}

TEST(RotatingLogTest, TailSurvivesRotation) {
  TempDir tmp;
  RotatingLog log(tmp.path(), "e", 8, 1);
  for (const char* line : {"alpha\n", "beta\n", "gamma\n", "delta\n"})
    log.Append(line);
  EXPECT_EQ(log.Tail(4), "alpha\nbeta\ngamma\ndelta\n");
  EXPECT_FALSE(fs::exists(tmp.File("e.log.2")));
}

TEST(RotatingLogTest, NotePrefixesTheSupervisorsMark) {
  TempDir tmp;
  RotatingLog log(tmp.path(), "e", 1 << 20, 1);
  log.Append("engine says hi\n");
  log.Note("exited with status 1");
  EXPECT_EQ(ReadWholeFile(log.path()), "engine says hi\n[cortex] exited with status 1\n");
  EXPECT_EQ(log.Tail(1), "[cortex] exited with status 1\n");
}

TEST(RotatingLogTest, NoteStartsItsOwnLineAfterAnUnfinishedEngineLine) {
  TempDir tmp;
  RotatingLog log(tmp.path(), "e", 1 << 20, 1);
  log.Append("Segmentation fau");
  log.Note("killed by signal 11");
  EXPECT_EQ(ReadWholeFile(log.path()), "Segmentation fau\n[cortex] killed by signal 11\n");
  EXPECT_EQ(log.Tail(2), "Segmentation fau\n[cortex] killed by signal 11\n");
}

}  // namespace
}  // namespace cortex::supervise
