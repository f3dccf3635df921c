// Test helper: writes small .safetensors files, well-formed or deliberately broken.
//
// WriteSafetensors lays tensors out back to back with offsets that match their shapes, so a
// test states only names, dtypes and shapes; WriteRawSafetensors writes an arbitrary header
// (and length prefix) for the hostile cases.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace cortex::testing {

struct TensorSpec {
  std::string name;
  std::string dtype;  // "BF16", "F32", ...
  std::vector<uint64_t> shape;
};

inline uint64_t SpecBytes(const TensorSpec& t) {
  uint64_t bits = 8;
  if (t.dtype == "F32" || t.dtype == "I32") bits = 32;
  if (t.dtype == "BF16" || t.dtype == "F16") bits = 16;
  if (t.dtype == "F64" || t.dtype == "I64") bits = 64;
  uint64_t n = 1;
  for (uint64_t d : t.shape)
    n *= d;
  return n * bits / 8;
}

// Writes `length` as the 8-byte little-endian prefix, then `header`, then `data_bytes` zeros.
inline void WriteRawSafetensors(const std::string& path, uint64_t length, const std::string& header,
                                uint64_t data_bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out.good()) << path;
  for (int i = 0; i < 8; ++i)
    out.put(static_cast<char>((length >> (8 * i)) & 0xff));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  const std::string zeros(data_bytes, '\0');
  out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Writes a valid file holding `tensors` in order; returns the sum of their bytes.
inline uint64_t WriteSafetensors(const std::string& path, const std::vector<TensorSpec>& tensors,
                                 const std::string& metadata_json = "") {
  std::string header = "{";
  if (!metadata_json.empty()) header += "\"__metadata__\":" + metadata_json;
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    if (header.size() > 1) header += ",";
    std::string shape;
    for (uint64_t d : t.shape)
      shape += (shape.empty() ? "" : ",") + std::to_string(d);
    const uint64_t bytes = SpecBytes(t);
    header += fmt::format(R"("{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", t.name,
                          t.dtype, shape, offset, offset + bytes);
    offset += bytes;
  }
  header += "}";
  WriteRawSafetensors(path, header.size(), header, offset);
  return offset;
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out.good()) << path;
  out << text;
}

}  // namespace cortex::testing
