#include "model/model_resolver.h"

#include <fmt/format.h>
#include <filesystem>

#include "model/gguf_model.h"
#include "model/hf_config.h"
#include "model/known_models.h"

namespace cortex {

StatusOr<ModelInfo> ResolveModel(const ModelLocation& ref, const std::string& base_dir) {
  namespace fs = std::filesystem;
  if (!ref.path.empty()) {
    fs::path path(ref.path);
    if (path.is_relative() && !base_dir.empty()) path = fs::path(base_dir) / path;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!ec && fs::is_directory(status)) return ReadHfModelDir(path.string());
    // A file is GGUF whichever engine reads it: vLLM's GGUF support reads the same header.
    if (!ec && fs::exists(status)) return ReadGgufModel(path.string());
    if (ref.hf.empty()) {
      return Status::NotFound(fmt::format(
          "model {} does not exist; add `hf: <repo id>` and `quant:` to plan from the built-in "
          "table before the weights are downloaded",
          path.string()));
    }
  }
  if (ref.hf.empty()) return Status::InvalidArgument("model needs a path or an hf repo id");
  auto info = LookupKnownModel(ref.hf, ref.quant);
  if (!info.ok()) return info.status();
  if (!ref.path.empty()) {
    info->provenance = fmt::format("{} (file {} not present)", info->provenance, ref.path);
  }
  return info;
}

}  // namespace cortex
