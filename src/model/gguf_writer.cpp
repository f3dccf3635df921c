#include "model/gguf_writer.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "model/gguf_file.h"

namespace cortex::testing {
namespace {

constexpr uint32_t kArray = static_cast<uint32_t>(GgufValueType::kArray);

uint32_t TypeId(GgufValueType t) {
  return static_cast<uint32_t>(t);
}

void PadTo(std::vector<uint8_t>* out, uint64_t alignment) {
  while (out->size() % alignment != 0)
    out->push_back(0);
}

}  // namespace

void GgufWriter::PutU8(std::vector<uint8_t>* out, uint8_t v) {
  out->push_back(v);
}

void GgufWriter::PutU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void GgufWriter::PutU64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void GgufWriter::PutF32(std::vector<uint8_t>* out, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  PutU32(out, bits);
}

void GgufWriter::PutString(std::vector<uint8_t>* out, std::string_view s) {
  PutU64(out, s.size());
  out->insert(out->end(), s.begin(), s.end());
}

uint64_t GgufWriter::TensorBytes(GgmlType type, const std::vector<uint64_t>& shape) {
  uint64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    rows *= shape[i];
  return RowBytesUnchecked(type, shape.empty() ? 1 : shape[0]) * rows;
}

void GgufWriter::SetAlignment(uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) std::abort();  // see REQUIRES
  AddUint32("general.alignment", alignment);
  alignment_ = alignment;
}

void GgufWriter::AddEntry(std::string_view key, uint32_t value_type, std::vector<uint8_t> value) {
  PutString(&entries_, key);
  PutU32(&entries_, value_type);
  entries_.insert(entries_.end(), value.begin(), value.end());
  ++entry_count_;
}

void GgufWriter::AddRawEntry(std::string_view key, uint32_t value_type,
                             std::vector<uint8_t> value) {
  AddEntry(key, value_type, std::move(value));
}

void GgufWriter::AddUint8(std::string_view key, uint8_t v) {
  AddEntry(key, TypeId(GgufValueType::kUint8), {v});
}

void GgufWriter::AddInt8(std::string_view key, int8_t v) {
  AddEntry(key, TypeId(GgufValueType::kInt8), {static_cast<uint8_t>(v)});
}

void GgufWriter::AddUint16(std::string_view key, uint16_t v) {
  AddEntry(key, TypeId(GgufValueType::kUint16),
           {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)});
}

void GgufWriter::AddInt16(std::string_view key, int16_t v) {
  const auto u = static_cast<uint16_t>(v);
  AddEntry(key, TypeId(GgufValueType::kInt16),
           {static_cast<uint8_t>(u), static_cast<uint8_t>(u >> 8)});
}

void GgufWriter::AddUint32(std::string_view key, uint32_t v) {
  std::vector<uint8_t> b;
  PutU32(&b, v);
  AddEntry(key, TypeId(GgufValueType::kUint32), std::move(b));
}

void GgufWriter::AddInt32(std::string_view key, int32_t v) {
  std::vector<uint8_t> b;
  PutU32(&b, static_cast<uint32_t>(v));
  AddEntry(key, TypeId(GgufValueType::kInt32), std::move(b));
}

void GgufWriter::AddUint64(std::string_view key, uint64_t v) {
  std::vector<uint8_t> b;
  PutU64(&b, v);
  AddEntry(key, TypeId(GgufValueType::kUint64), std::move(b));
}

void GgufWriter::AddInt64(std::string_view key, int64_t v) {
  std::vector<uint8_t> b;
  PutU64(&b, static_cast<uint64_t>(v));
  AddEntry(key, TypeId(GgufValueType::kInt64), std::move(b));
}

void GgufWriter::AddFloat32(std::string_view key, float v) {
  std::vector<uint8_t> b;
  PutF32(&b, v);
  AddEntry(key, TypeId(GgufValueType::kFloat32), std::move(b));
}

void GgufWriter::AddFloat64(std::string_view key, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  std::vector<uint8_t> b;
  PutU64(&b, bits);
  AddEntry(key, TypeId(GgufValueType::kFloat64), std::move(b));
}

void GgufWriter::AddBool(std::string_view key, bool v) {
  AddEntry(key, TypeId(GgufValueType::kBool), {static_cast<uint8_t>(v ? 1 : 0)});
}

void GgufWriter::AddString(std::string_view key, std::string_view v) {
  std::vector<uint8_t> b;
  PutString(&b, v);
  AddEntry(key, TypeId(GgufValueType::kString), std::move(b));
}

void GgufWriter::AddInt32Array(std::string_view key, std::span<const int32_t> v) {
  std::vector<uint8_t> b;
  PutU32(&b, TypeId(GgufValueType::kInt32));
  PutU64(&b, v.size());
  for (int32_t x : v)
    PutU32(&b, static_cast<uint32_t>(x));
  AddEntry(key, kArray, std::move(b));
}

void GgufWriter::AddUint32Array(std::string_view key, std::span<const uint32_t> v) {
  std::vector<uint8_t> b;
  PutU32(&b, TypeId(GgufValueType::kUint32));
  PutU64(&b, v.size());
  for (uint32_t x : v)
    PutU32(&b, x);
  AddEntry(key, kArray, std::move(b));
}

void GgufWriter::AddFloat32Array(std::string_view key, std::span<const float> v) {
  std::vector<uint8_t> b;
  PutU32(&b, TypeId(GgufValueType::kFloat32));
  PutU64(&b, v.size());
  for (float x : v)
    PutF32(&b, x);
  AddEntry(key, kArray, std::move(b));
}

void GgufWriter::AddStringArray(std::string_view key, std::span<const std::string> v) {
  std::vector<uint8_t> b;
  PutU32(&b, TypeId(GgufValueType::kString));
  PutU64(&b, v.size());
  for (const std::string& s : v)
    PutString(&b, s);
  AddEntry(key, kArray, std::move(b));
}

void GgufWriter::AddTensor(std::string_view name, GgmlType type, std::vector<uint64_t> shape,
                           std::vector<uint8_t> data) {
  Tensor t;
  t.name = std::string(name);
  t.n_dims = static_cast<uint32_t>(shape.size());
  if (data.empty()) data.assign(TensorBytes(type, shape), 0);
  t.ne = std::move(shape);
  t.type_id = static_cast<uint32_t>(type);
  t.data = std::move(data);
  tensors_.push_back(std::move(t));
}

void GgufWriter::AddRawTensorInfo(std::string_view name, uint32_t n_dims, std::vector<uint64_t> ne,
                                  uint32_t type_id, uint64_t offset) {
  Tensor t;
  t.name = std::string(name);
  t.n_dims = n_dims;
  t.ne = std::move(ne);
  t.type_id = type_id;
  t.raw_offset = offset;
  tensors_.push_back(std::move(t));
}

std::vector<uint8_t> GgufWriter::Bytes() const {
  std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
  PutU32(&out, version_);
  const uint64_t tensor_count = tensor_count_override_.value_or(tensors_.size());
  const uint64_t entry_count = metadata_count_override_.value_or(entry_count_);
  if (version_ == 1) {
    PutU32(&out, static_cast<uint32_t>(tensor_count));
    PutU32(&out, static_cast<uint32_t>(entry_count));
  } else {
    PutU64(&out, tensor_count);
    PutU64(&out, entry_count);
  }
  out.insert(out.end(), entries_.begin(), entries_.end());

  uint64_t data_size = 0;
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    PutU32(&out, t.n_dims);
    for (uint64_t e : t.ne)
      PutU64(&out, e);
    PutU32(&out, t.type_id);
    if (t.raw_offset.has_value()) {
      PutU64(&out, *t.raw_offset);
    } else {
      PutU64(&out, data_size);
      data_size += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
    }
  }

  PadTo(&out, alignment_);
  for (const Tensor& t : tensors_) {
    if (t.raw_offset.has_value()) continue;
    out.insert(out.end(), t.data.begin(), t.data.end());
    PadTo(&out, alignment_);
  }
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  const std::vector<uint8_t> bytes = Bytes();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IoError(path + ": cannot create");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Status::IoError(path + ": write failed");
  return Status::Ok();
}

}  // namespace cortex::testing
