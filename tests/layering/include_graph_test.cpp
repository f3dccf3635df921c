// The layering of docs/ARCHITECTURE.md, checked against the code on every run. Three things
// must name the same edges between modules (folders of src/):
//   - the modules table's "depends on" column,
//   - each library's cortex_* link dependencies in src/CMakeLists.txt,
//   - the `#include "module/..."` lines of the module's sources.
// A static link hides a cycle or an undeclared edge (the linker finds the symbols anyway), so
// only a check of the includes keeps the pure core from leaning on the edges again.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace cortex {
namespace {

namespace fs = std::filesystem;
using Edges = std::map<std::string, std::set<std::string>>;

struct Include {
  std::string file;  // relative to the root, "src/model/model_resolver.h"
  int line = 0;
  std::string header;  // "config/config.h"
  std::string from;    // module of the file
  std::string to;      // module of the header
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> ModuleFolders(const fs::path& root) {
  std::set<std::string> modules;
  for (const auto& entry : fs::directory_iterator(root / "src")) {
    if (entry.is_directory()) modules.insert(entry.path().filename().string());
  }
  return modules;
}

// Every quoted include in src/<module>/ that names another module's header.
std::vector<Include> CrossModuleIncludes(const fs::path& root,
                                         const std::set<std::string>& modules) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([A-Za-z0-9_]+)/[^"]+")re");
  std::vector<Include> out;
  for (const std::string& module : modules) {
    for (const auto& entry : fs::recursive_directory_iterator(root / "src" / module)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      std::ifstream in(entry.path());
      std::string text;
      for (int line = 1; std::getline(in, text); ++line) {
        std::smatch m;
        if (!std::regex_search(text, m, kInclude)) continue;
        const std::string to = m[1].str();
        if (to == module || modules.count(to) == 0) continue;
        const std::string header = text.substr(text.find('"') + 1);
        out.push_back({fs::relative(entry.path(), root).string(), line,
                       header.substr(0, header.find('"')), module, to});
      }
    }
  }
  return out;
}

// The table's rows: "| `model/` | holds | util, Boost.JSON |". Each comma-separated item of the
// last column whose first word is a module is an edge; the rest (libraries, remarks) is not.
Edges LayeringTable(const fs::path& architecture_md, const std::set<std::string>& modules) {
  static const std::regex kRow(R"re(^\| `([A-Za-z0-9_]+)/` \|.*\| ([^|]*) \|\s*$)re");
  static const std::regex kFirstWord(R"re(^\s*`?([A-Za-z0-9_]+))re");
  Edges table;
  std::ifstream in(architecture_md);
  for (std::string line; std::getline(in, line);) {
    std::smatch row;
    if (!std::regex_match(line, row, kRow)) continue;
    std::set<std::string>& deps = table[row[1].str()];
    std::stringstream items(row[2].str());
    for (std::string item; std::getline(items, item, ',');) {
      std::smatch word;
      if (std::regex_search(item, word, kFirstWord) && modules.count(word[1].str()) != 0) {
        deps.insert(word[1].str());
      }
    }
  }
  return table;
}

// cortex_module(NAME dep dep ...) lines; only the cortex_* dependencies are edges.
Edges CmakeLinkEdges(const fs::path& cmakelists) {
  static const std::regex kModule(R"re(cortex_module\(\s*([A-Za-z0-9_]+)([^)]*)\))re");
  static const std::regex kDep(R"re(\bcortex_([A-Za-z0-9_]+))re");
  Edges edges;
  const std::string text = ReadText(cmakelists);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kModule);
       it != std::sregex_iterator(); ++it) {
    if ((*it)[1].str() == "name") continue;  // the function's own definition
    std::set<std::string>& deps = edges[(*it)[1].str()];
    const std::string args = (*it)[2].str();
    for (auto d = std::sregex_iterator(args.begin(), args.end(), kDep); d != std::sregex_iterator();
         ++d) {
      deps.insert((*d)[1].str());
    }
  }
  return edges;
}

std::string Join(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "nothing" : out;
}

// One message per include the table does not allow.
std::vector<std::string> DisallowedIncludes(const fs::path& root) {
  const std::set<std::string> modules = ModuleFolders(root);
  const Edges table = LayeringTable(root / "docs/ARCHITECTURE.md", modules);
  std::vector<std::string> problems;
  for (const Include& inc : CrossModuleIncludes(root, modules)) {
    auto row = table.find(inc.from);
    const std::set<std::string> allowed =
        row == table.end() ? std::set<std::string>{} : row->second;
    if (allowed.count(inc.to) != 0) continue;
    problems.push_back(inc.file + ":" + std::to_string(inc.line) + " includes \"" + inc.header +
                       "\", but " + inc.from + "/ may depend only on " + Join(allowed) +
                       " (docs/ARCHITECTURE.md, modules table)");
  }
  return problems;
}

const fs::path kRoot = CORTEX_SOURCE_DIR;

TEST(IncludeGraphTest, EveryIncludeAcrossModulesIsAnEdgeOfTheLayeringTable) {
  for (const std::string& problem : DisallowedIncludes(kRoot))
    ADD_FAILURE() << problem;
}

TEST(IncludeGraphTest, EveryEdgeOfTheTableIsUsedByAnInclude) {
  const std::set<std::string> modules = ModuleFolders(kRoot);
  const Edges table = LayeringTable(kRoot / "docs/ARCHITECTURE.md", modules);
  Edges used;
  for (const Include& inc : CrossModuleIncludes(kRoot, modules))
    used[inc.from].insert(inc.to);
  for (const auto& [module, deps] : table) {
    for (const std::string& dep : deps) {
      EXPECT_EQ(used[module].count(dep), 1u)
          << "the table lets " << module << "/ depend on " << dep << "/, but nothing in src/"
          << module << "/ includes it: drop the edge";
    }
  }
}

TEST(IncludeGraphTest, EveryModuleFolderHasATableRowAndALibrary) {
  const std::set<std::string> modules = ModuleFolders(kRoot);
  const Edges table = LayeringTable(kRoot / "docs/ARCHITECTURE.md", modules);
  const Edges cmake = CmakeLinkEdges(kRoot / "src/CMakeLists.txt");
  for (const std::string& m : modules) {
    EXPECT_EQ(table.count(m), 1u) << "src/" << m << "/ has no row in docs/ARCHITECTURE.md";
    EXPECT_EQ(cmake.count(m), 1u) << "src/" << m << "/ has no cortex_module() line";
  }
}

TEST(IncludeGraphTest, CmakeLinkDependenciesAreTheLayeringTable) {
  const std::set<std::string> modules = ModuleFolders(kRoot);
  const Edges table = LayeringTable(kRoot / "docs/ARCHITECTURE.md", modules);
  const Edges cmake = CmakeLinkEdges(kRoot / "src/CMakeLists.txt");
  ASSERT_FALSE(cmake.empty());
  for (const auto& [module, deps] : cmake) {
    auto row = table.find(module);
    ASSERT_NE(row, table.end()) << module;
    EXPECT_EQ(Join(deps), Join(row->second))
        << "cortex_" << module << " links other modules than its row in docs/ARCHITECTURE.md";
  }
}

TEST(IncludeGraphTest, TheLayeringHasNoCycle) {
  const Edges table = LayeringTable(kRoot / "docs/ARCHITECTURE.md", ModuleFolders(kRoot));
  // Depth-first search; a module met again while still on the path closes a cycle.
  std::map<std::string, int> state;  // 0 unseen, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<void(const std::string&)> visit = [&](const std::string& m) {
    state[m] = 1;
    path.push_back(m);
    auto row = table.find(m);
    if (row != table.end()) {
      for (const std::string& dep : row->second) {
        if (state[dep] == 1) {
          std::string cycle;
          for (const std::string& p : path)
            cycle += p + " -> ";
          ADD_FAILURE() << "cycle: " << cycle << dep;
        } else if (state[dep] == 0) {
          visit(dep);
        }
      }
    }
    path.pop_back();
    state[m] = 2;
  };
  for (const auto& [module, deps] : table) {
    if (state[module] == 0) visit(module);
  }
}

// The pure core (docs/ARCHITECTURE.md: "touches no sockets, clocks or processes").
TEST(IncludeGraphTest, ThePureCoreIncludesNoIoHeaders) {
  static const std::regex kIo(
      R"re(^\s*#\s*include\s*<(fstream|iostream|filesystem|thread|mutex|chrono|unistd\.h|sys/|boost/asio|boost/beast|sqlite3|archive|spdlog)[^>]*>)re");
  for (const char* module : {"plan", "sched"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / "src" / module)) {
      std::ifstream in(entry.path());
      std::string text;
      for (int line = 1; std::getline(in, text); ++line) {
        EXPECT_FALSE(std::regex_search(text, kIo))
            << fs::relative(entry.path(), kRoot).string() << ":" << line << ": " << text;
      }
    }
  }
}

// The checker itself, on a tree made for the purpose: it must see an include the table forbids.
TEST(IncludeGraphTest, ReportsAnIncludeTheTableDoesNotAllowWithFileAndLine) {
  testing::TempDir dir;
  const fs::path root = dir.path();
  fs::create_directories(root / "src/low");
  fs::create_directories(root / "src/high");
  fs::create_directories(root / "docs");
  std::ofstream(root / "docs/ARCHITECTURE.md") << "| folder | holds | depends on |\n"
                                                  "|---|---|---|\n"
                                                  "| `low/` | the bottom | fmt |\n"
                                                  "| `high/` | the top | low, Boost.JSON |\n";
  std::ofstream(root / "src/high/ok.h") << "#include \"low/base.h\"\n";
  std::ofstream(root / "src/low/base.h") << "#pragma once\n"
                                            "#include <string>\n"
                                            "#include \"low/other.h\"\n"
                                            "#include \"high/ok.h\"\n";
  const std::vector<std::string> problems = DisallowedIncludes(root);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "src/low/base.h:4 includes \"high/ok.h\", but low/ may depend only on nothing "
            "(docs/ARCHITECTURE.md, modules table)");
}

}  // namespace
}  // namespace cortex
