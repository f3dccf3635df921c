// IgnoreRules: which paths of a source tree a packer leaves out, the way git and the repo packers
// users know (repomix, gitingest) decide it.
//
// Patterns follow gitignore(5): blank lines and `#` comments are skipped, `\#` and `\!` escape,
// trailing unescaped spaces are dropped, `!` negates, a trailing `/` matches directories only, a
// `/` at the start or in the middle anchors the pattern to the directory of the file it came
// from, otherwise it matches a name at any depth below that directory; `*` and `?` do not match
// `/`, `[...]` is a character class (`[!...]` negated), `**/`, `/**/` and `/**` span directories.
//
// Precedence is git's: a path is decided by the last pattern that matches it, patterns from a
// deeper directory's file coming after those of its parents (and the built-in defaults before
// everything), and a path inside an ignored directory stays ignored whatever a later pattern
// says, because git never looks inside an excluded directory.
//
// Pure: no I/O. The packer reads the .gitignore files (from the archive or the directory) and
// hands their text in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cortex::ingest {

class IgnoreRules {
 public:
  // Adds the lines of a .gitignore file found in directory `base` (relative to the root,
  // '/'-separated, no leading or trailing slash; "" for the root).
  void AddFile(std::string_view base, std::string_view text);
  // Adds one pattern line as if it were in a .gitignore file in `base`.
  void AddPattern(std::string_view base, std::string_view line);

  // Whether `path` (relative to the root, '/'-separated, no leading slash) is ignored. `is_dir`
  // says whether the path is a directory (directory-only patterns match only those). A file is
  // also ignored when any directory above it is.
  bool Ignored(std::string_view path, bool is_dir) const;

  // Whether the path's own patterns exclude it, without looking at its parent directories (the
  // packer uses this while walking top-down, where parents were already checked).
  bool IgnoredHere(std::string_view path, bool is_dir) const;

  size_t size() const { return patterns_.size(); }

 private:
  struct Pattern {
    std::string base;  // directory of the file it came from ("" root)
    std::string glob;  // without `!`, leading and trailing `/`
    bool negate = false;
    bool dir_only = false;
    bool anchored = false;  // matches relative to base only (had a `/` before its end)
    int depth = 0;          // components in base, for precedence
    size_t order = 0;       // insertion order, for precedence within one depth
  };
  std::vector<Pattern> patterns_;  // kept sorted by (depth, order)
  size_t next_order_ = 0;
};

// Whether `glob` (gitignore syntax, no `!`/trailing-`/` handling) matches `path` exactly,
// both '/'-separated. Exposed for tests.
bool GlobMatch(std::string_view glob, std::string_view path);

// The built-in ignores, applied at the root before any .gitignore file: version-control
// folders, dependency and build folders, caches, lock files, minified bundles, logs, editor
// files, and media/binary extensions (repomix's and gitingest's defaults, see
// docs/INGEST.md). A .gitignore `!pattern` can bring any of them back.
const std::vector<std::string>& DefaultIgnorePatterns();

}  // namespace cortex::ingest
