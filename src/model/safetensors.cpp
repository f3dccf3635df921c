#include "model/safetensors.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "model/json_util.h"

namespace cortex {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct DtypeBits {
  std::string_view name;
  uint32_t bits;
};

// The dtypes the safetensors format defines (its Dtype enum), with their element widths.
// Sub-byte types (F4, F6) pack elements, so sizes are computed in bits.
constexpr std::array<DtypeBits, 20> kDtypes = {{
    {"BOOL", 8},    {"U8", 8},   {"I8", 8},   {"F8_E4M3", 8}, {"F8_E5M2", 8},
    {"F8_E8M0", 8}, {"I16", 16}, {"U16", 16}, {"F16", 16},    {"BF16", 16},
    {"I32", 32},    {"U32", 32}, {"F32", 32}, {"I64", 64},    {"U64", 64},
    {"F64", 64},    {"C64", 64}, {"F4", 4},   {"F6_E2M3", 6}, {"F6_E3M2", 6},
}};

// An index file this large would describe millions of tensors; real ones are well under 1 MiB.
constexpr uint64_t kMaxIndexBytes = 64 * kMiB;

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

// Checked a*b for the element and bit counts of a shape; false on overflow.
bool MulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

Status ParseTensor(std::string_view label, const std::string& name, const json::value& entry,
                   uint64_t data_size, SafetensorsTensor* out) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption(fmt::format("{}: tensor '{}': {}", label, name, why));
  };
  if (!entry.is_object()) {
    return corrupt(fmt::format("expected an object, got {}", json_util::Describe(entry)));
  }
  const json::object& obj = entry.get_object();
  out->name = name;

  const json::value* dtype = obj.if_contains("dtype");
  if (dtype == nullptr || !dtype->is_string()) {
    return corrupt(dtype == nullptr ? "no \"dtype\""
                                    : fmt::format("\"dtype\" must be a string, got {}",
                                                  json_util::Describe(*dtype)));
  }
  out->dtype = std::string(dtype->get_string().data(), dtype->get_string().size());

  const json::value* shape = obj.if_contains("shape");
  if (shape == nullptr || !shape->is_array()) {
    return corrupt(shape == nullptr ? "no \"shape\""
                                    : fmt::format("\"shape\" must be an array, got {}",
                                                  json_util::Describe(*shape)));
  }
  uint64_t n_elements = 1;
  bool elements_overflow = false;
  for (const json::value& dim : shape->get_array()) {
    uint64_t d = 0;
    const std::string why = json_util::ToUint(dim, UINT64_MAX, &d);
    if (!why.empty()) return corrupt("shape entry " + why);
    out->shape.push_back(d);
    if (!elements_overflow && MulOverflows(n_elements, d, &n_elements)) elements_overflow = true;
  }

  const json::value* offsets = obj.if_contains("data_offsets");
  if (offsets == nullptr || !offsets->is_array() || offsets->get_array().size() != 2) {
    return corrupt("\"data_offsets\" must be an array [begin, end]");
  }
  for (int i = 0; i < 2; ++i) {
    uint64_t v = 0;
    const std::string why = json_util::ToUint(offsets->get_array()[i], UINT64_MAX, &v);
    if (!why.empty()) return corrupt("data_offsets " + why);
    (i == 0 ? out->data_begin : out->data_end) = v;
  }
  if (out->data_begin > out->data_end) {
    return corrupt(
        fmt::format("data_offsets [{}, {}] end before they begin", out->data_begin, out->data_end));
  }
  if (out->data_end > data_size) {
    return corrupt(fmt::format(
        "data_offsets [{}, {}] end past the data section, which holds {} bytes (file truncated?)",
        out->data_begin, out->data_end, data_size));
  }

  // Known dtypes must agree with the offsets; unknown ones are trusted by their offsets.
  if (const std::optional<uint32_t> bits = SafetensorsDtypeBits(out->dtype)) {
    uint64_t total_bits = 0;
    if (elements_overflow || MulOverflows(n_elements, *bits, &total_bits)) {
      return corrupt("shape has more elements than 64 bits can count");
    }
    if (total_bits % 8 != 0) {
      return corrupt(
          fmt::format("{} elements of {} do not fill whole bytes", n_elements, out->dtype));
    }
    if (total_bits / 8 != out->n_bytes()) {
      return corrupt(fmt::format(
          "shape holds {} elements of {} = {} bytes, but data_offsets [{}, {}] span {} bytes",
          n_elements, out->dtype, total_bits / 8, out->data_begin, out->data_end, out->n_bytes()));
    }
  }
  return Status::Ok();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads a shard list from model.safetensors.index.json. `total_size` is set when the index
// states a usable metadata.total_size.
Status ReadIndex(const std::string& path, std::vector<std::string>* shards,
                 std::optional<uint64_t>* total_size) {
  StatusOr<std::string> text = json_util::ReadSmallFile(path, kMaxIndexBytes);
  if (!text.ok()) return text.status();
  StatusOr<json::value> root = json_util::Parse(*text, path, Status::Code::kCorruption);
  if (!root.ok()) return root.status();
  if (!root->is_object()) return Status::Corruption(path + ": expected a JSON object");
  const json::object& obj = root->get_object();

  const json::value* map = obj.if_contains("weight_map");
  if (map == nullptr || !map->is_object()) {
    return Status::Corruption(path + ": no \"weight_map\" object");
  }
  std::set<std::string> unique;
  for (const auto& [tensor, file] : map->get_object()) {
    if (!file.is_string()) {
      return Status::Corruption(fmt::format("{}: weight_map[\"{}\"] must be a file name, got {}",
                                            path, std::string_view(tensor.data(), tensor.size()),
                                            json_util::Describe(file)));
    }
    std::string name(file.get_string().data(), file.get_string().size());
    // Shards live beside the index; a name that leaves the directory is not a checkpoint.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\\') != std::string::npos) {
      return Status::Corruption(fmt::format(
          "{}: weight_map names \"{}\", which is not a file in this directory", path, name));
    }
    unique.insert(std::move(name));
  }
  if (unique.empty()) return Status::Corruption(path + ": weight_map is empty");
  shards->assign(unique.begin(), unique.end());

  if (const json::value* meta = obj.if_contains("metadata"); meta && meta->is_object()) {
    if (const json::value* total = meta->get_object().if_contains("total_size")) {
      uint64_t v = 0;
      if (json_util::ToUint(*total, UINT64_MAX, &v).empty()) *total_size = v;
    }
  }
  return Status::Ok();
}

}  // namespace

uint64_t SafetensorsHeader::TensorBytes() const {
  uint64_t sum = 0;
  for (const SafetensorsTensor& t : tensors)
    sum += t.n_bytes();
  return sum;
}

std::optional<uint32_t> SafetensorsDtypeBits(std::string_view dtype) {
  for (const DtypeBits& d : kDtypes) {
    if (d.name == dtype) return d.bits;
  }
  return std::nullopt;
}

StatusOr<SafetensorsHeader> ParseSafetensorsHeader(std::span<const uint8_t> prefix,
                                                   uint64_t file_size, std::string_view label) {
  if (file_size < 8 || prefix.size() < 8) {
    return Status::Corruption(fmt::format(
        "{}: {} bytes is too short for a safetensors file (the header length alone takes 8)", label,
        file_size));
  }
  SafetensorsHeader header;
  header.file_size = file_size;
  header.header_bytes = ReadLe64(prefix.data());
  const uint64_t n = header.header_bytes;
  if (n > kMaxSafetensorsHeaderBytes) {
    return Status::Corruption(
        fmt::format("{}: header length {} is larger than the {} bytes we accept (not a "
                    "safetensors file?)",
                    label, n, kMaxSafetensorsHeaderBytes));
  }
  if (n > file_size - 8) {
    return Status::Corruption(fmt::format(
        "{}: header length {} runs past the end of the file ({} bytes; truncated download?)", label,
        n, file_size));
  }
  if (prefix.size() < 8 + n) {
    return Status::Corruption(
        fmt::format("{}: only {} of the {} header bytes are present", label, prefix.size() - 8, n));
  }
  const uint64_t data_size = file_size - 8 - n;

  const std::string_view text(reinterpret_cast<const char*>(prefix.data() + 8), n);
  StatusOr<json::value> root = json_util::Parse(text, label, Status::Code::kCorruption);
  if (!root.ok()) return root.status();
  if (!root->is_object()) {
    return Status::Corruption(
        fmt::format("{}: header must be a JSON object, got {}", label, json_util::Describe(*root)));
  }
  for (const auto& [key, value] : root->get_object()) {
    const std::string name(key.data(), key.size());
    if (name == "__metadata__") {
      if (!value.is_object()) {
        return Status::Corruption(fmt::format("{}: \"__metadata__\" must be an object, got {}",
                                              label, json_util::Describe(value)));
      }
      for (const auto& [mk, mv] : value.get_object()) {
        if (!mv.is_string()) continue;  // the format says strings; others carry nothing we use
        header.metadata[std::string(mk.data(), mk.size())] =
            std::string(mv.get_string().data(), mv.get_string().size());
      }
      continue;
    }
    SafetensorsTensor tensor;
    Status s = ParseTensor(label, name, value, data_size, &tensor);
    if (!s.ok()) return s;
    header.tensors.push_back(std::move(tensor));
  }

  // Overlapping tensors would make the byte sum count the same bytes twice.
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              return a.data_begin != b.data_begin ? a.data_begin < b.data_begin
                                                  : a.data_end < b.data_end;
            });
  for (size_t i = 1; i < header.tensors.size(); ++i) {
    const SafetensorsTensor& prev = header.tensors[i - 1];
    const SafetensorsTensor& cur = header.tensors[i];
    if (cur.data_begin < prev.data_end) {
      return Status::Corruption(fmt::format("{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap",
                                            label, prev.name, prev.data_begin, prev.data_end,
                                            cur.name, cur.data_begin, cur.data_end));
    }
  }
  return header;
}

StatusOr<SafetensorsHeader> ReadSafetensorsHeader(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file");
  if (!fs::is_regular_file(st)) return Status::IoError(path + ": not a regular file");
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot get its size: {}", path, ec.message()));

  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  std::vector<uint8_t> bytes(std::min<uint64_t>(file_size, 8));
  if (std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::fclose(f);
    return Status::IoError(path + ": read failed");
  }
  if (bytes.size() == 8) {
    const uint64_t n = ReadLe64(bytes.data());
    // Read the header only once its length has passed the checks that bound the allocation;
    // otherwise let the parser report the bad length.
    if (n <= kMaxSafetensorsHeaderBytes && n <= file_size - 8) {
      bytes.resize(8 + n);
      if (std::fread(bytes.data() + 8, 1, n, f) != n) {
        std::fclose(f);
        return Status::IoError(path + ": read of the header failed");
      }
    }
  }
  std::fclose(f);
  return ParseSafetensorsHeader(bytes, file_size, path);
}

StatusOr<SafetensorsCheckpoint> ReadSafetensorsDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir + ": no such directory");

  SafetensorsCheckpoint ckpt;
  const fs::path base(dir);
  const fs::path index_path = base / "model.safetensors.index.json";
  std::optional<uint64_t> total_size;
  if (fs::exists(index_path, ec)) {
    Status s = ReadIndex(index_path.string(), &ckpt.files, &total_size);
    if (!s.ok()) return s;
    for (const std::string& shard : ckpt.files) {
      if (fs::exists(base / shard, ec)) continue;
      if (!total_size.has_value()) {
        return Status::NotFound(fmt::format(
            "{}: shard {} named by model.safetensors.index.json is missing, and the index has no "
            "metadata.total_size to size the checkpoint by",
            dir, shard));
      }
      ckpt.exact = false;
      ckpt.total_bytes = *total_size;
      ckpt.note = fmt::format(
          "shard {} is missing (download incomplete?); weights are the index's "
          "metadata.total_size",
          shard);
      return ckpt;
    }
  } else {
    bool has_bin = false;
    for (const fs::directory_entry& e : fs::directory_iterator(base, ec)) {
      const std::string name = e.path().filename().string();
      if (EndsWith(name, ".safetensors")) ckpt.files.push_back(name);
      if (EndsWith(name, ".bin") || EndsWith(name, ".pt")) has_bin = true;
    }
    if (ec) return Status::IoError(fmt::format("{}: cannot list: {}", dir, ec.message()));
    std::sort(ckpt.files.begin(), ckpt.files.end());
    if (ckpt.files.empty()) {
      if (has_bin) {
        return Status::Unsupported(dir +
                                   ": only PyTorch .bin/.pt weights found; Cortex sizes "
                                   "checkpoints from safetensors headers");
      }
      return Status::NotFound(dir + ": no *.safetensors files and no model.safetensors.index.json");
    }
  }

  for (const std::string& file : ckpt.files) {
    StatusOr<SafetensorsHeader> header = ReadSafetensorsHeader((base / file).string());
    if (!header.ok()) return header.status();
    for (const SafetensorsTensor& t : header->tensors) {
      ckpt.tensor_bytes.emplace_back(t.name, t.n_bytes());
      ckpt.total_bytes += t.n_bytes();
    }
  }
  return ckpt;
}

}  // namespace cortex
