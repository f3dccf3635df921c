#include "ingest/ignore_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace cortex::ingest {
namespace {

IgnoreRules RootRules(std::string_view text) {
  IgnoreRules rules;
  rules.AddFile("", text);
  return rules;
}

IgnoreRules Defaults() {
  IgnoreRules rules;
  for (const std::string& p : DefaultIgnorePatterns())
    rules.AddPattern("", p);
  return rules;
}

TEST(IgnoreRulesTest, BlankLinesAndCommentsAddNoPatterns) {
  IgnoreRules rules = RootRules("\n# a comment\n   \n#*.cpp\n\n");
  // A line of spaces trims to nothing, so it is blank too.
  EXPECT_EQ(rules.size(), 0u);
  EXPECT_FALSE(rules.Ignored("main.cpp", false));
  EXPECT_FALSE(rules.Ignored("# a comment", false));
}

TEST(IgnoreRulesTest, EscapedHashAndBangAreLiteralNames) {
  IgnoreRules rules = RootRules("\\#notes\n\\!important\n");
  EXPECT_EQ(rules.size(), 2u);
  EXPECT_TRUE(rules.Ignored("#notes", false));
  EXPECT_TRUE(rules.Ignored("!important", false));
  EXPECT_FALSE(rules.Ignored("important", false));
  EXPECT_FALSE(rules.Ignored("notes", false));
}

TEST(IgnoreRulesTest, TrailingSpacesAreTrimmedUnlessEscaped) {
  IgnoreRules rules = RootRules("foo   \nbar\\ \nbaz\\  \n");
  EXPECT_TRUE(rules.Ignored("foo", false));
  EXPECT_FALSE(rules.Ignored("foo ", false));
  EXPECT_TRUE(rules.Ignored("bar ", false));
  EXPECT_FALSE(rules.Ignored("bar", false));
  EXPECT_TRUE(rules.Ignored("baz ", false));
  EXPECT_FALSE(rules.Ignored("baz  ", false));
}

TEST(IgnoreRulesTest, CrlfLineEndingsAreAccepted) {
  IgnoreRules rules = RootRules("*.tmp\r\n!keep.tmp\r\n");
  EXPECT_TRUE(rules.Ignored("a.tmp", false));
  EXPECT_FALSE(rules.Ignored("keep.tmp", false));
}

TEST(IgnoreRulesTest, NegationReincludesAFileIgnoredByAnEarlierPattern) {
  IgnoreRules rules = RootRules("*.log\n!keep.log\n");
  EXPECT_TRUE(rules.Ignored("debug.log", false));
  EXPECT_FALSE(rules.Ignored("keep.log", false));
  EXPECT_FALSE(rules.Ignored("deep/dir/keep.log", false));
}

TEST(IgnoreRulesTest, LastMatchingPatternWins) {
  IgnoreRules rules = RootRules("!keep.log\n*.log\n");
  EXPECT_TRUE(rules.Ignored("keep.log", false));
}

TEST(IgnoreRulesTest, TrailingSlashMatchesDirectoriesOnly) {
  IgnoreRules rules = RootRules("build/\n");
  EXPECT_TRUE(rules.Ignored("build", true));
  EXPECT_FALSE(rules.Ignored("build", false));
  EXPECT_TRUE(rules.Ignored("build/out.o", false));
  EXPECT_TRUE(rules.Ignored("src/build", true));
  EXPECT_FALSE(rules.Ignored("src/build", false));
  EXPECT_TRUE(rules.Ignored("src/build/x/y.o", false));
}

TEST(IgnoreRulesTest, LeadingSlashAnchorsToTheBaseDirectory) {
  IgnoreRules rules = RootRules("/foo\n");
  EXPECT_TRUE(rules.Ignored("foo", false));
  EXPECT_TRUE(rules.Ignored("foo/bar.c", false));
  EXPECT_FALSE(rules.Ignored("src/foo", false));
  EXPECT_FALSE(rules.Ignored("foobar", false));
}

TEST(IgnoreRulesTest, MiddleSlashAnchorsToTheBaseDirectory) {
  IgnoreRules rules = RootRules("doc/frotz\n");
  EXPECT_TRUE(rules.Ignored("doc/frotz", true));
  EXPECT_TRUE(rules.Ignored("doc/frotz/a.txt", false));
  EXPECT_FALSE(rules.Ignored("a/doc/frotz", true));
  EXPECT_FALSE(rules.Ignored("frotz", false));
}

TEST(IgnoreRulesTest, PatternWithoutSlashMatchesTheNameAtAnyDepth) {
  IgnoreRules rules = RootRules("*.o\nfrotz\n");
  EXPECT_TRUE(rules.Ignored("a.o", false));
  EXPECT_TRUE(rules.Ignored("src/lib/a.o", false));
  EXPECT_TRUE(rules.Ignored("x/y/frotz", false));
  EXPECT_TRUE(rules.Ignored("x/frotz/inside.c", false));
  EXPECT_FALSE(rules.Ignored("a.o.c", false));
  EXPECT_FALSE(rules.Ignored("x/frotzy", false));
}

TEST(IgnoreRulesTest, NestedFileAppliesOnlyBelowItsDirectoryAndOverridesTheParent) {
  IgnoreRules rules;
  rules.AddFile("", "*.txt\n");
  rules.AddFile("sub", "!keep.txt\n/local\n");
  EXPECT_TRUE(rules.Ignored("keep.txt", false));
  EXPECT_TRUE(rules.Ignored("sub/other.txt", false));
  EXPECT_FALSE(rules.Ignored("sub/keep.txt", false));
  EXPECT_FALSE(rules.Ignored("sub/deeper/keep.txt", false));
  EXPECT_TRUE(rules.Ignored("other/keep.txt", false));
  // An anchored pattern in sub/.gitignore is anchored to sub, not to the root.
  EXPECT_TRUE(rules.Ignored("sub/local", false));
  EXPECT_FALSE(rules.Ignored("local", false));
  EXPECT_FALSE(rules.Ignored("sub/x/local", false));
}

TEST(IgnoreRulesTest, DeeperFileWinsEvenWhenAddedBeforeItsParent) {
  IgnoreRules rules;
  rules.AddFile("sub", "!keep.txt\n");
  rules.AddFile("", "*.txt\n");
  EXPECT_FALSE(rules.Ignored("sub/keep.txt", false));
  EXPECT_TRUE(rules.Ignored("sub/other.txt", false));
}

TEST(IgnoreRulesTest, NestedFileDoesNotApplyToItsOwnDirectory) {
  IgnoreRules rules;
  rules.AddFile("sub", "sub\n");
  EXPECT_FALSE(rules.Ignored("sub", true));
  EXPECT_TRUE(rules.Ignored("sub/sub", true));
}

TEST(IgnoreRulesTest, SiblingDirectoryNameSharingAPrefixIsNotBelowTheBase) {
  IgnoreRules rules;
  rules.AddFile("lib", "*.c\n");
  EXPECT_TRUE(rules.Ignored("lib/a.c", false));
  EXPECT_FALSE(rules.Ignored("library/a.c", false));
}

TEST(IgnoreRulesTest, NegationCannotReincludeAFileInsideAnExcludedDirectory) {
  IgnoreRules rules = RootRules("logs/\n!logs/important.log\n");
  EXPECT_TRUE(rules.Ignored("logs/important.log", false));
  EXPECT_TRUE(rules.Ignored("logs/other.log", false));
  // On its own the negation does match; the parent directory is what keeps it out.
  EXPECT_FALSE(rules.IgnoredHere("logs/important.log", false));
}

TEST(IgnoreRulesTest, NestedNegationCannotReincludeInsideAnExcludedDirectory) {
  IgnoreRules rules;
  rules.AddFile("", "generated/\n");
  rules.AddFile("generated", "!keep.c\n");
  EXPECT_TRUE(rules.Ignored("generated/keep.c", false));
}

TEST(IgnoreRulesTest, IgnoredHereLooksOnlyAtThePathItself) {
  IgnoreRules rules = RootRules("vendor/\n");
  EXPECT_TRUE(rules.IgnoredHere("vendor", true));
  EXPECT_FALSE(rules.IgnoredHere("vendor/lib.c", false));
  EXPECT_TRUE(rules.Ignored("vendor/lib.c", false));
}

TEST(IgnoreRulesTest, LeadingDoubleStarMatchesInEveryDirectoryIncludingTheBase) {
  IgnoreRules rules = RootRules("**/foo\n**/a/b\n");
  EXPECT_TRUE(rules.Ignored("foo", false));
  EXPECT_TRUE(rules.Ignored("x/y/foo", false));
  EXPECT_FALSE(rules.Ignored("xfoo", false));
  EXPECT_TRUE(rules.Ignored("a/b", false));
  EXPECT_TRUE(rules.Ignored("x/a/b", false));
  EXPECT_FALSE(rules.Ignored("xa/b", false));
}

TEST(IgnoreRulesTest, MiddleDoubleStarMatchesZeroOrMoreDirectories) {
  IgnoreRules rules = RootRules("a/**/b\n");
  EXPECT_TRUE(rules.Ignored("a/b", false));
  EXPECT_TRUE(rules.Ignored("a/x/b", false));
  EXPECT_TRUE(rules.Ignored("a/x/y/b", false));
  EXPECT_FALSE(rules.Ignored("a/xb", false));
  EXPECT_FALSE(rules.Ignored("a/x/yb", false));
  EXPECT_FALSE(rules.Ignored("c/a/b", false));
}

TEST(IgnoreRulesTest, TrailingDoubleStarMatchesEverythingInsideButNotTheDirectory) {
  IgnoreRules rules = RootRules("abc/**\n");
  EXPECT_FALSE(rules.Ignored("abc", true));
  EXPECT_TRUE(rules.Ignored("abc/x", false));
  EXPECT_TRUE(rules.Ignored("abc/x/y/z", false));
  EXPECT_FALSE(rules.Ignored("abcd/x", false));
}

TEST(GlobMatchTest, DoubleStarNotAWholeComponentActsAsSingleStar) {
  EXPECT_TRUE(GlobMatch("foo**bar", "fooXbar"));
  EXPECT_FALSE(GlobMatch("foo**bar", "foo/bar"));
  EXPECT_FALSE(GlobMatch("**x", "a/x"));
  EXPECT_TRUE(GlobMatch("**", "a/b/c"));
}

TEST(GlobMatchTest, StarAndQuestionMarkDoNotCrossSlashes) {
  EXPECT_TRUE(GlobMatch("a/*.c", "a/x.c"));
  EXPECT_FALSE(GlobMatch("a/*.c", "a/b/x.c"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("file?.txt", "file1.txt"));
  EXPECT_FALSE(GlobMatch("file?.txt", "file.txt"));
  EXPECT_FALSE(GlobMatch("file?.txt", "file12.txt"));
  EXPECT_FALSE(GlobMatch("a?b", "a/b"));
}

TEST(GlobMatchTest, CharacterClassesSupportRangesAndNegation) {
  EXPECT_TRUE(GlobMatch("[abc].c", "b.c"));
  EXPECT_FALSE(GlobMatch("[abc].c", "d.c"));
  EXPECT_TRUE(GlobMatch("v[0-9].txt", "v7.txt"));
  EXPECT_FALSE(GlobMatch("v[0-9].txt", "vx.txt"));
  EXPECT_TRUE(GlobMatch("[!a-c]x", "dx"));
  EXPECT_FALSE(GlobMatch("[!a-c]x", "bx"));
  EXPECT_TRUE(GlobMatch("[^a-c]x", "dx"));
  EXPECT_FALSE(GlobMatch("[^a-c]x", "ax"));
  EXPECT_TRUE(GlobMatch("[]]", "]"));
  EXPECT_TRUE(GlobMatch("[a-]", "-"));
  EXPECT_TRUE(GlobMatch("[[:digit:]]x", "5x"));
  EXPECT_FALSE(GlobMatch("a[!x]b", "a/b"));
}

TEST(GlobMatchTest, MatchingIsCaseSensitive) {
  EXPECT_FALSE(GlobMatch("*.PNG", "logo.png"));
  EXPECT_FALSE(GlobMatch("readme", "README"));
}

TEST(GlobMatchTest, MalformedClassMatchesNothing) {
  EXPECT_FALSE(GlobMatch("foo[", "foo["));
  EXPECT_FALSE(GlobMatch("[[:nope:]]", "a"));
}

TEST(GlobMatchTest, BackslashMakesTheNextCharacterLiteral) {
  EXPECT_TRUE(GlobMatch("\\*", "*"));
  EXPECT_FALSE(GlobMatch("\\*", "x"));
  EXPECT_TRUE(GlobMatch("\\[a]", "[a]"));
}

TEST(GlobMatchTest, PathologicalPatternFinishesWithoutBacktracking) {
  const std::string as(20000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*a*a*b", as));
  EXPECT_TRUE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*a*a*", as));
  std::string deep;
  for (int i = 0; i < 2000; ++i)
    deep += "a/";
  EXPECT_FALSE(GlobMatch("**/a/**/a/**/a/**/a/**/a/**/b", deep + "c"));
  EXPECT_TRUE(GlobMatch("**/a/**/a/**/a/**/a/**/a/**/b", deep + "b"));
}

TEST(DefaultIgnorePatternsTest, IgnoresDependenciesVcsLocksBundlesAndMediaButKeepsSource) {
  IgnoreRules rules = Defaults();
  EXPECT_GE(DefaultIgnorePatterns().size(), 60u);
  EXPECT_LE(DefaultIgnorePatterns().size(), 120u);
  EXPECT_TRUE(rules.Ignored("node_modules/x/y.js", false));
  EXPECT_TRUE(rules.Ignored("web/node_modules/x/y.js", false));
  EXPECT_TRUE(rules.Ignored(".git/config", false));
  EXPECT_TRUE(rules.Ignored("package-lock.json", false));
  EXPECT_TRUE(rules.Ignored("dist/app.min.js", false));
  EXPECT_TRUE(rules.Ignored("static/app.min.js", false));
  EXPECT_TRUE(rules.Ignored("img/logo.png", false));
  EXPECT_TRUE(rules.Ignored("pkg/__pycache__/m.cpython-312.pyc", false));
  EXPECT_TRUE(rules.Ignored(".env", false));
  EXPECT_TRUE(rules.Ignored(".env.production", false));
  EXPECT_FALSE(rules.Ignored(".env.example", false));
  EXPECT_FALSE(rules.Ignored("src/main.cpp", false));
  EXPECT_FALSE(rules.Ignored("img/logo.svg", false));
  EXPECT_FALSE(rules.Ignored("README.md", false));
  EXPECT_FALSE(rules.Ignored("CMakeLists.txt", false));
}

TEST(DefaultIgnorePatternsTest, ARootGitignoreNegationBringsADefaultBack) {
  IgnoreRules rules = Defaults();
  rules.AddFile("", "!*.png\n");
  EXPECT_FALSE(rules.Ignored("img/logo.png", false));
  EXPECT_TRUE(rules.Ignored("img/photo.jpg", false));
}

TEST(DefaultIgnorePatternsTest, EveryDefaultIsAUsablePattern) {
  IgnoreRules rules = Defaults();
  EXPECT_EQ(rules.size(), DefaultIgnorePatterns().size());
}

}  // namespace
}  // namespace cortex::ingest
