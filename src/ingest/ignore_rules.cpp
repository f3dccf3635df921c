#include "ingest/ignore_rules.h"

#include <algorithm>
#include <bitset>

namespace cortex::ingest {
namespace {

// A compiled glob is a list of steps run as an NFA over the path's bytes: the set of live states
// is at most twice the step count, so matching is O(glob * path) whatever the pattern, where the
// textbook recursive matcher goes exponential on `*a*a*a*...b`.
enum class StepKind {
  kByte,      // one byte out of `set`
  kStar,      // `*`: any run of bytes without '/'
  kAnyAll,    // `**` as a whole last component (or the whole glob): anything, '/' included
  kDirsThen,  // `**/` as a whole component: empty, or anything that ends in '/'
};

using ByteSet = std::bitset<256>;

struct Step {
  StepKind kind = StepKind::kByte;
  ByteSet set;  // for kByte
};

// The POSIX class names git's wildmatch accepts inside `[...]`; an unknown name makes the
// bracket expression malformed, as in git.
bool AddPosixClass(std::string_view name, ByteSet* set) {
  static constexpr struct {
    const char* name;
    bool (*test)(unsigned char);
  } kClasses[] = {
      {"alnum",
       [](unsigned char c) {
         return ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9');
       }},
      {"alpha", [](unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }},
      {"blank", [](unsigned char c) { return c == ' ' || c == '\t'; }},
      {"cntrl", [](unsigned char c) { return c < 32 || c == 127; }},
      {"digit", [](unsigned char c) { return c >= '0' && c <= '9'; }},
      {"graph", [](unsigned char c) { return c > 32 && c < 127; }},
      {"lower", [](unsigned char c) { return c >= 'a' && c <= 'z'; }},
      {"print", [](unsigned char c) { return c >= 32 && c < 127; }},
      {"punct",
       [](unsigned char c) {
         return c > 32 && c < 127 && !((c | 32) >= 'a' && (c | 32) <= 'z') &&
                !(c >= '0' && c <= '9');
       }},
      {"space", [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }},
      {"upper", [](unsigned char c) { return c >= 'A' && c <= 'Z'; }},
      {"xdigit",
       [](unsigned char c) {
         return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
       }},
  };
  for (const auto& cls : kClasses) {
    if (name != cls.name) continue;
    for (int c = 0; c < 256; ++c)
      if (cls.test(static_cast<unsigned char>(c))) set->set(c);
    return true;
  }
  return false;
}

// Parses the bracket expression whose `[` is at glob[i]. On success fills `set` (never with '/':
// a class does not cross directories, like `*` and `?`) and returns the index just past `]`;
// returns npos when the expression is malformed.
size_t ParseClass(std::string_view glob, size_t i, ByteSet* set) {
  size_t j = i + 1;
  bool negate = false;
  if (j < glob.size() && (glob[j] == '!' || glob[j] == '^')) {
    negate = true;
    ++j;
  }
  ByteSet members;
  bool first = true;
  for (;; first = false) {
    if (j >= glob.size()) return std::string_view::npos;
    unsigned char c = static_cast<unsigned char>(glob[j]);
    if (c == ']' && !first) {
      ++j;
      break;
    }
    if (c == '[' && j + 1 < glob.size() && glob[j + 1] == ':') {
      const size_t end = glob.find(":]", j + 2);
      if (end == std::string_view::npos) return std::string_view::npos;
      if (!AddPosixClass(glob.substr(j + 2, end - j - 2), &members)) return std::string_view::npos;
      j = end + 2;
      continue;
    }
    if (c == '\\') {
      if (++j >= glob.size()) return std::string_view::npos;
      c = static_cast<unsigned char>(glob[j]);
    }
    ++j;
    // A `-` right before `]` is a literal, not a range.
    if (j + 1 < glob.size() && glob[j] == '-' && glob[j + 1] != ']') {
      size_t k = j + 1;
      unsigned char hi = static_cast<unsigned char>(glob[k]);
      if (hi == '\\') {
        if (++k >= glob.size()) return std::string_view::npos;
        hi = static_cast<unsigned char>(glob[k]);
      }
      j = k + 1;
      for (int b = c; b <= hi; ++b)
        members.set(b);  // a reversed range is empty, as in git
      continue;
    }
    members.set(c);
  }
  if (negate) members.flip();
  members.reset('/');
  *set = members;
  return j;
}

// Whether glob[i] starts a run of two or more `*` that is a whole path component; sets `end`
// to the index past the run.
bool IsDoubleStarComponent(std::string_view glob, size_t i, size_t* end) {
  size_t j = i;
  while (j < glob.size() && glob[j] == '*')
    ++j;
  *end = j;
  if (j - i < 2) return false;
  return (i == 0 || glob[i - 1] == '/') && (j == glob.size() || glob[j] == '/');
}

// Returns false when the glob can never match (a malformed bracket expression), mirroring git,
// which drops such patterns rather than guessing what they meant.
bool Compile(std::string_view glob, std::vector<Step>* steps) {
  steps->clear();
  for (size_t i = 0; i < glob.size();) {
    Step step;
    const char c = glob[i];
    size_t end = 0;
    if (c == '*' && IsDoubleStarComponent(glob, i, &end)) {
      if (end == glob.size()) {
        step.kind = StepKind::kAnyAll;
        i = end;
      } else {
        step.kind = StepKind::kDirsThen;  // swallows the '/' after the stars
        i = end + 1;
      }
    } else if (c == '*') {
      step.kind = StepKind::kStar;
      while (i < glob.size() && glob[i] == '*')
        ++i;
    } else if (c == '?') {
      step.set.set();
      step.set.reset('/');
      ++i;
    } else if (c == '[') {
      i = ParseClass(glob, i, &step.set);
      if (i == std::string_view::npos) return false;
    } else if (c == '\\' && i + 1 < glob.size()) {
      step.set.set(static_cast<unsigned char>(glob[i + 1]));
      i += 2;
    } else {
      step.set.set(static_cast<unsigned char>(c));  // a lone trailing '\' is taken literally
      ++i;
    }
    steps->push_back(step);
  }
  return true;
}

bool RunSteps(const std::vector<Step>& steps, std::string_view path) {
  const size_t n = steps.size();
  // State 2*i: about to run step i (2*n: done). State 2*i+1: inside a kDirsThen that has eaten
  // bytes since its last '/', so it may not finish yet.
  std::vector<char> cur(2 * n + 2, 0);
  std::vector<char> next(2 * n + 2, 0);
  // Epsilon moves only go from step i to i+1, so one forward pass closes the set.
  auto close = [&](std::vector<char>& s) {
    for (size_t i = 0; i < n; ++i) {
      if (s[2 * i] && steps[i].kind != StepKind::kByte) s[2 * (i + 1)] = 1;
    }
  };
  cur[0] = 1;
  close(cur);
  for (const char ch : path) {
    const unsigned char c = static_cast<unsigned char>(ch);
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
      const bool at = cur[2 * i];
      const bool mid = cur[2 * i + 1];
      if (!at && !mid) continue;
      const Step& step = steps[i];
      switch (step.kind) {
        case StepKind::kByte:
          if (at && step.set.test(c)) next[2 * (i + 1)] = any = true;
          break;
        case StepKind::kStar:
          if (at && c != '/') next[2 * i] = any = true;
          break;
        case StepKind::kAnyAll:
          if (at) next[2 * i] = any = true;
          break;
        case StepKind::kDirsThen:
          next[2 * i + (c == '/' ? 0 : 1)] = any = true;
          break;
      }
    }
    if (!any) return false;
    close(next);
    cur.swap(next);
  }
  return cur[2 * n] != 0;
}

std::string_view StripSlashes(std::string_view s) {
  while (!s.empty() && s.front() == '/')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == '/')
    s.remove_suffix(1);
  return s;
}

// A space is escaped when an odd number of backslashes stands right before it.
std::string_view TrimTrailingSpaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') {
    size_t slashes = 0;
    for (size_t k = s.size() - 1; k > 0 && s[k - 1] == '\\'; --k)
      ++slashes;
    if (slashes % 2 == 1) break;
    s.remove_suffix(1);
  }
  return s;
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view path) {
  std::vector<Step> steps;
  return Compile(glob, &steps) && RunSteps(steps, path);
}

void IgnoreRules::AddFile(std::string_view base, std::string_view text) {
  // Editors on Windows save .gitignore with a BOM, which git skips too.
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // Archives built on Windows keep CRLF endings; a stray '\r' would otherwise end the glob.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    AddPattern(base, line);
  }
}

void IgnoreRules::AddPattern(std::string_view base, std::string_view line) {
  if (line.empty() || line.front() == '#') return;
  line = TrimTrailingSpaces(line);
  Pattern p;
  if (!line.empty() && line.front() == '!') {
    p.negate = true;
    line.remove_prefix(1);
  }
  // `\#` and `\!` need no work here: the glob reads `\x` as a literal x.
  if (!line.empty() && line.back() == '/') {
    p.dir_only = true;
    while (!line.empty() && line.back() == '/')
      line.remove_suffix(1);
  }
  if (!line.empty() && line.front() == '/') {
    p.anchored = true;
    while (!line.empty() && line.front() == '/')
      line.remove_prefix(1);
  }
  if (line.empty()) return;
  if (line.find('/') != std::string_view::npos) p.anchored = true;
  p.glob = std::string(line);

  base = StripSlashes(base);
  if (base == ".") base = {};
  p.base = std::string(base);
  p.depth = base.empty() ? 0 : static_cast<int>(std::count(base.begin(), base.end(), '/')) + 1;
  p.order = next_order_++;
  // Orders are increasing, so placing it after every pattern of its depth or shallower keeps
  // the (depth, order) sort even when deeper files arrive first (archive order is arbitrary).
  const auto at = std::upper_bound(patterns_.begin(), patterns_.end(), p.depth,
                                   [](int depth, const Pattern& q) { return depth < q.depth; });
  patterns_.insert(at, std::move(p));
}

bool IgnoreRules::IgnoredHere(std::string_view path, bool is_dir) const {
  if (path.empty()) return false;
  for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it) {
    const Pattern& p = *it;
    if (p.dir_only && !is_dir) continue;
    std::string_view rel = path;
    if (!p.base.empty()) {
      // A .gitignore speaks for what is below its directory, not for the directory itself.
      if (rel.size() <= p.base.size() || rel.compare(0, p.base.size(), p.base) != 0 ||
          rel[p.base.size()] != '/')
        continue;
      rel.remove_prefix(p.base.size() + 1);
    }
    if (GlobMatch(p.glob, p.anchored ? rel : BaseName(rel))) return !p.negate;
  }
  return false;
}

bool IgnoreRules::Ignored(std::string_view path, bool is_dir) const {
  // Top-down, because git stops at the first excluded directory and never reads below it, so
  // nothing deeper (a negation included) gets a say.
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (IgnoredHere(path.substr(0, slash), true)) return true;
  }
  return IgnoredHere(path, is_dir);
}

const std::vector<std::string>& DefaultIgnorePatterns() {
  // Drawn from repomix's src/config/defaultIgnore.ts and gitingest's default ignore list: what
  // either packer leaves out and a reader of a packed repo would not miss. docs/INGEST.md lists
  // them for users; a .gitignore `!pattern` brings any back.
  static const std::vector<std::string> kPatterns = {
      // Version control.
      ".git/",
      ".hg/",
      ".svn/",
      // Dependencies. vendor/ only at the root: deeper vendor/ folders are often first-party
      // code, and a Go or PHP project keeps its vendored modules there.
      "node_modules/",
      "bower_components/",
      "jspm_packages/",
      "/vendor/",
      ".bundle/",
      ".yarn/",
      // Python.
      "__pycache__/",
      "*.py[cod]",
      ".venv/",
      "venv/",
      ".tox/",
      ".pytest_cache/",
      ".mypy_cache/",
      ".ruff_cache/",
      ".ipynb_checkpoints/",
      "*.egg-info/",
      // Build outputs and caches.
      "target/",
      "build/",
      "dist/",
      "out/",
      ".next/",
      ".nuxt/",
      ".svelte-kit/",
      ".parcel-cache/",
      ".gradle/",
      ".terraform/",
      ".cache/",
      "coverage/",
      ".nyc_output/",
      "*.tsbuildinfo",
      // Editors and operating systems.
      ".idea/",
      ".vscode/",
      "*.swp",
      "*.swo",
      ".DS_Store",
      "Thumbs.db",
      // Lock files: large, generated, and of no use to a reader.
      "package-lock.json",
      "yarn.lock",
      "pnpm-lock.yaml",
      "bun.lockb",
      "Cargo.lock",
      "poetry.lock",
      "Pipfile.lock",
      "uv.lock",
      "Gemfile.lock",
      "composer.lock",
      "go.sum",
      "mix.lock",
      // Minified bundles, source maps, logs.
      "*.min.js",
      "*.min.css",
      "*.map",
      "*.log",
      // Secrets; the checked-in templates are kept because they document the variables.
      ".env",
      ".env.*",
      "!.env.example",
      "!.env.sample",
      "!.env.template",
      // Images (svg is text and often worth reading, so it stays), audio, video, documents.
      "*.png",
      "*.jpg",
      "*.jpeg",
      "*.gif",
      "*.bmp",
      "*.ico",
      "*.webp",
      "*.tiff",
      "*.psd",
      "*.mp3",
      "*.wav",
      "*.flac",
      "*.ogg",
      "*.mp4",
      "*.avi",
      "*.mov",
      "*.mkv",
      "*.webm",
      "*.pdf",
      // Archives.
      "*.zip",
      "*.tar",
      "*.gz",
      "*.tgz",
      "*.bz2",
      "*.xz",
      "*.zst",
      "*.7z",
      "*.rar",
      "*.jar",
      "*.war",
      // Compiled code and fonts.
      "*.class",
      "*.so",
      "*.dll",
      "*.dylib",
      "*.exe",
      "*.o",
      "*.a",
      "*.obj",
      "*.lib",
      "*.wasm",
      "*.woff",
      "*.woff2",
      "*.ttf",
      "*.otf",
      "*.eot",
      // Model weights and data.
      "*.gguf",
      "*.safetensors",
      "*.bin",
      "*.pt",
      "*.pth",
      "*.ckpt",
      "*.onnx",
      "*.h5",
      "*.npy",
      "*.npz",
      "*.pkl",
      "*.parquet",
      "*.sqlite",
      "*.sqlite3",
      "*.db",
  };
  return kPatterns;
}

}  // namespace cortex::ingest
