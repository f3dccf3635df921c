// WriteTar: regular files of a directory as a tar archive (pax), so that `cortex ingest DIR`
// sends a directory through the same upload, unpack and pack path as an uploaded archive.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace cortex::ingest {

// Writes `files` (paths relative to `dir`, as ListDirectory gives them) into the tar file at
// `out_path`. A file that vanished since the listing is left out. `progress(done, total)` after
// each file, in bytes.
Status WriteTar(const std::string& dir, const std::vector<std::pair<std::string, uint64_t>>& files,
                const std::string& out_path,
                const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace cortex::ingest
