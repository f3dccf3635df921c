#include "model/gguf_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <utility>

namespace cortex {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kMaxDims = 4;
constexpr std::string_view kAlignmentKey = "general.alignment";
// The format allows arrays of arrays, ggml reads none. Two levels are skipped so that such a
// file is still described; deeper nesting is refused so that recursion stays bounded.
constexpr int kMaxArrayDepth = 2;
// Big enough that a tokenizer's 150,000 strings take a handful of reads, small enough that the
// buffer never matters next to a model.
constexpr size_t kReadChunk = size_t{1} << 20;
// Most elements reserved up front for a kept array; see ReadArray.
constexpr uint64_t kMaxReserve = 1 << 16;
// Lower bounds on what one entry occupies, used to refuse counts the remaining bytes cannot
// hold before anything is allocated for them.
// A metadata entry: key length, value type, a 1-byte value.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
// A tensor info: name length, n_dims, one dimension, ggml type, offset.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Random access to the bytes of a GGUF file, wherever they live. The parser never sees whether
// it reads a file or a buffer, so ReadGgufFile and ParseGguf perform identical checks.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Returns the bytes starting at `offset`: at least min(want, size() - offset) of them and
  // valid until the next call. REQUIRES: offset < size().
  virtual StatusOr<std::span<const uint8_t>> View(uint64_t offset, size_t want) = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  StatusOr<std::span<const uint8_t>> View(uint64_t offset, size_t) override {
    return bytes_.subspan(offset);
  }

 private:
  std::span<const uint8_t> bytes_;
};

// Reads a file in kReadChunk pieces with pread, so that skipping a long string array costs
// nothing and the tensor data after the header is never touched.
class FileSource final : public ByteSource {
 public:
  FileSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }

  StatusOr<std::span<const uint8_t>> View(uint64_t offset, size_t want) override {
    if (offset >= buffer_start_ && offset - buffer_start_ < buffer_.size() &&
        buffer_.size() - (offset - buffer_start_) >= std::min<uint64_t>(want, size_ - offset)) {
      return std::span<const uint8_t>(buffer_).subspan(offset - buffer_start_);
    }
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(std::max(want, kReadChunk), size_ - offset));
    buffer_.resize(n);
    size_t done = 0;
    while (done < n) {
      const ssize_t r =
          ::pread(fd_, buffer_.data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        buffer_.clear();
        return Status::IoError(
            fmt::format("read failed at byte {}: {}", offset + done, std::strerror(errno)));
      }
      if (r == 0) {
        buffer_.clear();
        return Status::IoError(fmt::format(
            "the file shrank while it was read: it ended at byte {}, {} bytes were expected",
            offset + done, size_));
      }
      done += static_cast<size_t>(r);
    }
    buffer_start_ = offset;
    return std::span<const uint8_t>(buffer_);
  }

 private:
  int fd_;
  uint64_t size_;
  uint64_t buffer_start_ = 0;
  std::vector<uint8_t> buffer_;
};

// A cursor over a ByteSource. Every read names what it reads so that a truncated file is
// reported as what was missing, not merely as "unexpected end of file".
class Reader {
 public:
  explicit Reader(ByteSource* source) : source_(source), size_(source->size()) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }

  // Copies the next n bytes into dst. Returns Corruption when fewer than n remain.
  Status Read(void* dst, size_t n, std::string_view what) {
    if (n > remaining()) return Truncated(n, what);
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
      StatusOr<std::span<const uint8_t>> view = source_->View(pos_, n);
      if (!view.ok()) return view.status();
      const size_t take = std::min(n, view->size());
      std::memcpy(out, view->data(), take);
      out += take;
      pos_ += take;
      n -= take;
    }
    return Status::Ok();
  }

  Status Skip(uint64_t n, std::string_view what) {
    if (n > remaining()) return Truncated(n, what);
    pos_ += n;
    return Status::Ok();
  }

  template <typename T>
  Status ReadLittleEndian(T* value, std::string_view what) {
    uint8_t bytes[sizeof(T)];
    Status s = Read(bytes, sizeof(T), what);
    if (!s.ok()) return s;
    std::make_unsigned_t<T> v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<std::make_unsigned_t<T>>(bytes[i]) << (8 * i);
    }
    *value = static_cast<T>(v);
    return Status::Ok();
  }

 private:
  Status Truncated(uint64_t n, std::string_view what) const {
    return Status::Corruption(
        fmt::format("at byte {}: the {} needs {} bytes but the file ends after {} bytes", pos_,
                    what, n, size_));
  }

  ByteSource* source_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

uint32_t ByteSwap32(uint32_t v) {
  return ((v & 0xffu) << 24) | ((v & 0xff00u) << 8) | ((v >> 8) & 0xff00u) | (v >> 24);
}

bool IsValueType(uint32_t t) {
  return t <= static_cast<uint32_t>(GgufValueType::kFloat64);
}

// Bytes one value of a type occupies at least (strings and arrays: their length fields).
uint64_t MinValueBytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
    case GgufValueType::kString:
      return 8;
    case GgufValueType::kArray:
      return 4 + 8;
  }
  return 1;
}

bool IsFixedSize(GgufValueType type) {
  return type != GgufValueType::kString && type != GgufValueType::kArray;
}

bool IsIntegerType(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}

// ggml's names for the type ids it no longer reads, so that an old file gets a useful message.
std::string_view RemovedGgmlTypeName(uint32_t id) {
  static constexpr std::pair<uint32_t, std::string_view> kRemoved[] = {
      {4, "q4_2"},      {5, "q4_3"},        {31, "q4_0_4_4"},   {32, "q4_0_4_8"},
      {33, "q4_0_8_8"}, {36, "iq4_nl_4_4"}, {37, "iq4_nl_4_8"}, {38, "iq4_nl_8_8"},
  };
  for (const auto& [removed, name] : kRemoved) {
    if (removed == id) return name;
  }
  return {};
}

// Prints at most 64 bytes of a name read from the file; hostile names can be megabytes long.
std::string Quoted(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (size_t i = 0; i < std::min(s.size(), kMax); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  out += s.size() > kMax ? "'..." : "'";
  return out;
}

class Parser {
 public:
  Parser(ByteSource* source, const GgufReadOptions& options) : in_(source), options_(options) {}

  StatusOr<GgufFile> Parse() {
    Status s = ReadHeader();
    if (s.ok()) s = ReadMetadata();
    if (s.ok()) s = ReadTensorInfos();
    if (s.ok()) s = CheckTensorExtents();
    if (!s.ok()) return s;
    return std::move(file_);
  }

 private:
  // Where in the file the parser is, for messages. Names are copied only when an error is
  // built, so describing the position costs nothing on the success path.
  enum class Section { kHeader, kKey, kValue, kTensor };

  std::string Where() const {
    switch (section_) {
      case Section::kHeader:
        return "";
      case Section::kKey:
        return fmt::format(" (metadata entry {} of {}, its key)", index_, count_);
      case Section::kValue:
        return fmt::format(" (metadata entry {} of {}, key {})", index_, count_, Quoted(*name_));
      case Section::kTensor:
        return name_ == nullptr ? fmt::format(" (tensor info {} of {}, its name)", index_, count_)
                                : fmt::format(" (tensor info {} of {}, tensor {})", index_, count_,
                                              Quoted(*name_));
    }
    return "";
  }

  Status Corrupt(uint64_t at, std::string_view what) const {
    return Status::Corruption(fmt::format("at byte {}: {}{}", at, what, Where()));
  }
  Status Unsupported(uint64_t at, std::string_view what) const {
    return Status::Unsupported(fmt::format("at byte {}: {}{}", at, what, Where()));
  }
  Status Limit(uint64_t at, std::string_view what) const {
    return Status::OutOfRange(fmt::format("at byte {}: {}{}", at, what, Where()));
  }
  // Adds the position to a Reader error (truncation already names its byte).
  Status WithWhere(Status s) const {
    if (s.ok() || s.code() != Status::Code::kCorruption) return s;
    return Status::Corruption(s.message() + Where());
  }

  Status ReadHeader() {
    if (in_.size() < sizeof(kMagic)) {
      return Corrupt(
          0, fmt::format("the file is {} bytes long, too short to be a GGUF file", in_.size()));
    }
    char magic[4];
    Status s = in_.Read(magic, sizeof(magic), "magic");
    if (!s.ok()) return s;
    if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
      std::string shown;
      for (char c : magic) {
        shown += fmt::format("{:02x} ", static_cast<unsigned char>(c));
      }
      shown.pop_back();
      return Corrupt(0,
                     fmt::format("not a GGUF file: it starts with bytes {}, not \"GGUF\"", shown));
    }
    const uint64_t version_at = in_.pos();
    s = in_.ReadLittleEndian(&file_.version, "version");
    if (!s.ok()) return s;
    if (file_.version == 1) {
      return Status::Unsupported(
          "GGUF version 1 is not supported (re-convert the model with a current llama.cpp)");
    }
    if (file_.version != 2 && file_.version != 3) {
      const uint32_t swapped = ByteSwap32(file_.version);
      if (swapped >= 1 && swapped <= 3) {
        return Status::Unsupported(fmt::format(
            "this GGUF file is big-endian (its version field reads {:#010x}, version {} "
            "byte-swapped); only little-endian GGUF files are supported",
            file_.version, swapped));
      }
      return Unsupported(version_at, fmt::format("GGUF version {} is not supported (versions 2 "
                                                 "and 3 are)",
                                                 file_.version));
    }

    const uint64_t tensor_count_at = in_.pos();
    s = in_.ReadLittleEndian(&tensor_count_, "tensor count");
    if (!s.ok()) return s;
    const uint64_t kv_count_at = in_.pos();
    s = in_.ReadLittleEndian(&kv_count_, "metadata entry count");
    if (!s.ok()) return s;

    if (tensor_count_ > in_.remaining() / kMinTensorInfoBytes) {
      return Corrupt(tensor_count_at,
                     fmt::format("the header claims {} tensors, but a tensor info takes at "
                                 "least {} bytes and only {} bytes remain",
                                 tensor_count_, kMinTensorInfoBytes, in_.remaining()));
    }
    if (kv_count_ > in_.remaining() / kMinKvBytes) {
      return Corrupt(kv_count_at,
                     fmt::format("the header claims {} metadata entries, but an entry takes "
                                 "at least {} bytes and only {} bytes remain",
                                 kv_count_, kMinKvBytes, in_.remaining()));
    }
    if (tensor_count_ > options_.max_tensor_count) {
      return Limit(tensor_count_at, fmt::format("{} tensors exceed the limit of {}", tensor_count_,
                                                options_.max_tensor_count));
    }
    if (kv_count_ > options_.max_metadata_count) {
      return Limit(kv_count_at, fmt::format("{} metadata entries exceed the limit of {}", kv_count_,
                                            options_.max_metadata_count));
    }
    return Status::Ok();
  }

  // Reads a string into *out, or skips it when out is null (skipped strings are not subject
  // to max_string_bytes: they cost no memory).
  Status ReadString(std::string* out, std::string_view what) {
    const uint64_t at = in_.pos();
    uint64_t length = 0;
    Status s = in_.ReadLittleEndian(&length, "string length");
    if (!s.ok()) return WithWhere(s);
    if (length > in_.remaining()) {
      return Corrupt(
          at, fmt::format("{} claims {} bytes but only {} remain", what, length, in_.remaining()));
    }
    if (out == nullptr) return in_.Skip(length, what);
    if (length > options_.max_string_bytes) {
      return Limit(at, fmt::format("{} of {} bytes exceeds the limit of {} bytes", what, length,
                                   options_.max_string_bytes));
    }
    out->resize(static_cast<size_t>(length));
    return WithWhere(in_.Read(out->data(), out->size(), what));
  }

  Status ReadType(GgufValueType* type, std::string_view what) {
    const uint64_t at = in_.pos();
    uint32_t raw = 0;
    Status s = in_.ReadLittleEndian(&raw, what);
    if (!s.ok()) return WithWhere(s);
    if (!IsValueType(raw)) {
      return Corrupt(at, fmt::format("unknown {} {} (GGUF value types are 0 to 12)", what, raw));
    }
    *type = static_cast<GgufValueType>(raw);
    return Status::Ok();
  }

  // Reads a `Raw` from the file and stores it as GgufValue does: widened to `Stored`.
  template <typename Raw, typename Stored>
  Status ReadWidened(GgufValue* out) {
    Raw v{};
    Status s = in_.ReadLittleEndian(&v, "value");
    out->scalar = static_cast<Stored>(v);
    return WithWhere(s);
  }

  // Same for a float of the same size as the unsigned integer `Bits`.
  template <typename Bits, typename Float>
  Status ReadFloat(GgufValue* out) {
    Bits bits = 0;
    Status s = in_.ReadLittleEndian(&bits, "value");
    out->scalar = static_cast<double>(std::bit_cast<Float>(bits));
    return WithWhere(s);
  }

  // Reads one fixed-size scalar. REQUIRES: IsFixedSize(type).
  Status ReadScalar(GgufValueType type, GgufValue* out) {
    switch (type) {
      case GgufValueType::kUint8:
        return ReadWidened<uint8_t, uint64_t>(out);
      case GgufValueType::kInt8:
        return ReadWidened<int8_t, int64_t>(out);
      case GgufValueType::kUint16:
        return ReadWidened<uint16_t, uint64_t>(out);
      case GgufValueType::kInt16:
        return ReadWidened<int16_t, int64_t>(out);
      case GgufValueType::kUint32:
        return ReadWidened<uint32_t, uint64_t>(out);
      case GgufValueType::kInt32:
        return ReadWidened<int32_t, int64_t>(out);
      case GgufValueType::kUint64:
        return ReadWidened<uint64_t, uint64_t>(out);
      case GgufValueType::kInt64:
        return ReadWidened<int64_t, int64_t>(out);
      case GgufValueType::kBool:
        return ReadWidened<uint8_t, bool>(out);
      case GgufValueType::kFloat32:
        return ReadFloat<uint32_t, float>(out);
      case GgufValueType::kFloat64:
        return ReadFloat<uint64_t, double>(out);
      case GgufValueType::kString:
      case GgufValueType::kArray:
        break;
    }
    std::abort();  // see REQUIRES; callers dispatch strings and arrays elsewhere
  }

  Status ReadValue(GgufValueType type, GgufValue* out) {
    out->type = type;
    if (type == GgufValueType::kString) {
      std::string v;
      Status s = ReadString(&v, "string");
      if (!s.ok()) return s;
      out->scalar = std::move(v);
      return Status::Ok();
    }
    if (type == GgufValueType::kArray) return ReadArray(out, 1);
    return ReadScalar(type, out);
  }

  // Reads an array's header and elements at nesting `depth` (1 for a metadata value). Elements
  // are stored in `out` when it is non-null and the options keep them, else skipped.
  Status ReadArray(GgufValue* out, int depth) {
    const uint64_t type_at = in_.pos();
    GgufValueType element_type = GgufValueType::kUint8;
    Status s = ReadType(&element_type, "array element type");
    if (!s.ok()) return s;
    if (element_type == GgufValueType::kArray && depth >= kMaxArrayDepth) {
      return Unsupported(type_at, fmt::format("arrays nested more than {} deep are not supported",
                                              kMaxArrayDepth));
    }
    const uint64_t count_at = in_.pos();
    uint64_t count = 0;
    s = in_.ReadLittleEndian(&count, "array element count");
    if (!s.ok()) return WithWhere(s);
    const uint64_t min_bytes = MinValueBytes(element_type);
    if (count > in_.remaining() / min_bytes) {
      return Corrupt(
          count_at,
          fmt::format("array claims {} {} elements (at least {} bytes each) but only "
                      "{} bytes remain",
                      count, GgufValueTypeName(element_type), min_bytes, in_.remaining()));
    }
    if (out != nullptr) {
      out->array_type = element_type;
      out->array_count = count;
    }

    const bool keep = out != nullptr && (element_type == GgufValueType::kString
                                             ? options_.keep_string_arrays
                                             : element_type != GgufValueType::kArray &&
                                                   count <= options_.max_kept_numeric_array);
    if (!keep) {
      if (IsFixedSize(element_type)) return in_.Skip(count * min_bytes, "array elements");
      for (uint64_t i = 0; i < count; ++i) {
        s = element_type == GgufValueType::kString ? ReadString(nullptr, "array string")
                                                   : ReadArray(nullptr, depth + 1);
        if (!s.ok()) return s;
      }
      return Status::Ok();
    }

    // The count is bounded by the remaining bytes, but a sparse file's remaining bytes can be
    // gigabytes of zeros; reserve modestly and let what is actually read grow the vectors.
    const auto reserve = static_cast<size_t>(std::min<uint64_t>(count, kMaxReserve));
    if (element_type == GgufValueType::kString) {
      out->array_strings.reserve(reserve);
      for (uint64_t i = 0; i < count; ++i) {
        std::string v;
        s = ReadString(&v, "array string");
        if (!s.ok()) return s;
        out->array_strings.push_back(std::move(v));
      }
    } else {
      const bool is_float =
          element_type == GgufValueType::kFloat32 || element_type == GgufValueType::kFloat64;
      if (is_float) {
        out->array_floats.reserve(reserve);
      } else {
        out->array_ints.reserve(reserve);
      }
      bool representable = true;
      GgufValue element;
      for (uint64_t i = 0; i < count; ++i) {
        s = ReadScalar(element_type, &element);
        if (!s.ok()) return s;
        if (const auto* d = std::get_if<double>(&element.scalar)) {
          out->array_floats.push_back(*d);
        } else if (const auto* u = std::get_if<uint64_t>(&element.scalar)) {
          if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            representable = false;
          }
          out->array_ints.push_back(static_cast<int64_t>(*u));
        } else if (const auto* v = std::get_if<int64_t>(&element.scalar)) {
          out->array_ints.push_back(*v);
        } else if (const auto* b = std::get_if<bool>(&element.scalar)) {
          out->array_ints.push_back(*b ? 1 : 0);
        }
      }
      // A uint64 array with values past INT64_MAX cannot be held in array_ints; report it as
      // not kept rather than hand out wrapped values.
      if (!representable) out->array_ints.clear();
      out->array_kept = representable;
      return Status::Ok();
    }
    out->array_kept = true;
    return Status::Ok();
  }

  Status ReadMetadata() {
    count_ = kv_count_;
    for (uint64_t i = 0; i < kv_count_; ++i) {
      index_ = i;
      section_ = Section::kKey;
      const uint64_t key_at = in_.pos();
      std::string key;
      Status s = ReadString(&key, "key");
      if (!s.ok()) return s;
      if (key.empty()) return Corrupt(key_at, "metadata key is empty");
      name_ = &key;
      section_ = Section::kValue;
      if (file_.metadata.find(key) != file_.metadata.end()) {
        return Corrupt(key_at, fmt::format("duplicate metadata key {}", Quoted(key)));
      }
      GgufValueType type = GgufValueType::kUint8;
      s = ReadType(&type, "value type");
      if (!s.ok()) return s;
      const uint64_t value_at = in_.pos();
      GgufValue value;
      s = ReadValue(type, &value);
      if (!s.ok()) return s;
      if (key == kAlignmentKey) {
        s = SetAlignment(value, value_at);
        if (!s.ok()) return s;
      }
      name_ = nullptr;
      file_.metadata.emplace(std::move(key), std::move(value));
    }
    section_ = Section::kHeader;
    return Status::Ok();
  }

  Status SetAlignment(const GgufValue& value, uint64_t at) {
    if (value.type != GgufValueType::kUint32) {
      return Corrupt(at, fmt::format("general.alignment is a {}; GGUF requires a uint32",
                                     GgufValueTypeName(value.type)));
    }
    const uint64_t a = std::get<uint64_t>(value.scalar);
    if (a == 0 || (a & (a - 1)) != 0) {
      return Corrupt(at,
                     fmt::format("general.alignment is {}; it must be a non-zero power of two", a));
    }
    file_.alignment = a;
    return Status::Ok();
  }

  Status ReadTensorInfos() {
    count_ = tensor_count_;
    section_ = Section::kTensor;
    std::set<std::string, std::less<>> names;
    // Reserving for a count read from the file would let a lying header allocate; the vector
    // grows with what is actually parsed instead.
    offset_fields_.clear();
    for (uint64_t i = 0; i < tensor_count_; ++i) {
      index_ = i;
      name_ = nullptr;
      GgufTensorInfo t;
      const uint64_t name_at = in_.pos();
      Status s = ReadString(&t.name, "tensor name");
      if (!s.ok()) return s;
      if (t.name.empty()) return Corrupt(name_at, "tensor name is empty");
      // ggml keeps names in a 64-byte field and refuses the file otherwise (GGML_MAX_NAME).
      if (t.name.size() >= 64) {
        return Corrupt(name_at, fmt::format("tensor name {} is {} bytes; ggml allows at most 63",
                                            Quoted(t.name.substr(0, 64) + "..."), t.name.size()));
      }
      name_ = &t.name;
      if (!names.insert(t.name).second) {
        return Corrupt(name_at, fmt::format("duplicate tensor name {}", Quoted(t.name)));
      }

      const uint64_t dims_at = in_.pos();
      s = in_.ReadLittleEndian(&t.n_dims, "dimension count");
      if (!s.ok()) return WithWhere(s);
      if (t.n_dims == 0 || t.n_dims > kMaxDims) {
        return Corrupt(dims_at, fmt::format("tensor has {} dimensions; GGUF allows 1 to {}",
                                            t.n_dims, kMaxDims));
      }
      const uint64_t shape_at = in_.pos();
      for (uint32_t d = 0; d < t.n_dims; ++d) {
        s = in_.ReadLittleEndian(&t.ne[d], "dimension");
        if (!s.ok()) return WithWhere(s);
      }

      const uint64_t type_at = in_.pos();
      uint32_t type_id = 0;
      s = in_.ReadLittleEndian(&type_id, "ggml type");
      if (!s.ok()) return WithWhere(s);
      const GgmlTypeTraits* traits = FindGgmlType(type_id);
      if (traits == nullptr) {
        const std::string_view removed = RemovedGgmlTypeName(type_id);
        return Unsupported(
            type_at,
            removed.empty()
                ? fmt::format("unknown ggml type {} (newer than this build of Cortex?)", type_id)
                : fmt::format("ggml type {} ({}) was removed from ggml; re-convert or "
                              "re-quantize the model with a current llama.cpp",
                              type_id, removed));
      }
      t.type = traits->type;

      s = SizeTensor(&t, *traits, shape_at);
      if (!s.ok()) return s;

      const uint64_t offset_at = in_.pos();
      s = in_.ReadLittleEndian(&t.offset, "data offset");
      if (!s.ok()) return WithWhere(s);
      if (t.offset % file_.alignment != 0) {
        return Corrupt(offset_at,
                       fmt::format("tensor data offset {} is not a multiple of the alignment {}",
                                   t.offset, file_.alignment));
      }
      offset_fields_.push_back(offset_at);
      file_.tensors.push_back(std::move(t));
    }
    name_ = nullptr;
    section_ = Section::kHeader;

    // The data section starts at the first aligned offset after the tensor infos. pos() is at
    // most the file size and the alignment at most 2^31, so this cannot overflow.
    const uint64_t pos = in_.pos();
    file_.data_offset = (pos + file_.alignment - 1) / file_.alignment * file_.alignment;
    file_.file_size = in_.size();
    return Status::Ok();
  }

  // Computes n_elements and n_bytes, refusing shapes ggml cannot represent: more than
  // INT64_MAX elements (ggml counts in int64_t), byte counts past 64 bits, and rows that are not
  // whole blocks.
  Status SizeTensor(GgufTensorInfo* t, const GgmlTypeTraits& traits, uint64_t shape_at) const {
    const auto shape = [&] {
      std::string out = "[";
      for (uint32_t d = 0; d < t->n_dims; ++d) {
        out += fmt::format("{}{}", d == 0 ? "" : ", ", t->ne[d]);
      }
      return out + "]";
    };
    const bool any_zero = std::find(t->ne.begin(), t->ne.end(), 0) != t->ne.end();
    uint64_t n = any_zero ? 0 : 1;
    if (!any_zero) {
      constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      for (uint64_t e : t->ne) {
        if (e > kMax / n) {
          return Corrupt(shape_at,
                         fmt::format("tensor shape {} has more than 2^63-1 elements", shape()));
        }
        n *= e;
      }
    }
    if (t->ne[0] % traits.block_size != 0) {
      return Corrupt(shape_at,
                     fmt::format("tensor rows have {} elements, not a multiple of the {} block "
                                 "size {}",
                                 t->ne[0], traits.name, traits.block_size));
    }
    const uint64_t blocks = n / traits.block_size;
    if (blocks != 0 && traits.type_size > std::numeric_limits<uint64_t>::max() / blocks) {
      return Corrupt(shape_at, fmt::format("tensor shape {} of type {} takes more than 2^64-1 "
                                           "bytes",
                                           shape(), traits.name));
    }
    t->n_elements = n;
    t->n_bytes = blocks * traits.type_size;
    return Status::Ok();
  }

  Status CheckTensorExtents() {
    const uint64_t size = file_.file_size;
    uint64_t expected_offset = 0;
    for (size_t i = 0; i < file_.tensors.size(); ++i) {
      const GgufTensorInfo& t = file_.tensors[i];
      // Overflow past 2^64 is past the end of any file.
      const uint64_t start = file_.data_offset + t.offset;
      const bool overflow = t.offset > std::numeric_limits<uint64_t>::max() - file_.data_offset ||
                            t.n_bytes > std::numeric_limits<uint64_t>::max() - start;
      if (overflow || start + t.n_bytes > size) {
        const std::string end =
            overflow ? std::string("past byte 2^64") : fmt::format("at byte {}", start + t.n_bytes);
        return Status::Corruption(fmt::format(
            "at byte {}: tensor {} ({} bytes at data offset {}) ends {}, past the end of the "
            "file ({} bytes)",
            offset_fields_[i], Quoted(t.name), t.n_bytes, t.offset, end, size));
      }
      // ggml requires the tensors back to back in file order, each padded to the alignment;
      // anything else (overlaps, gaps) makes llama.cpp refuse the file, and overlapping tensors
      // would make the weights look larger than the file.
      if (t.offset != expected_offset) {
        return Status::Corruption(fmt::format(
            "at byte {}: tensor {} has data offset {}, expected {} (ggml requires tensors in file "
            "order, back to back, each padded to {} bytes)",
            offset_fields_[i], Quoted(t.name), t.offset, expected_offset, file_.alignment));
      }
      expected_offset =
          t.offset + (t.n_bytes + file_.alignment - 1) / file_.alignment * file_.alignment;
    }
    return Status::Ok();
  }

  Reader in_;
  const GgufReadOptions& options_;
  GgufFile file_;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  std::vector<uint64_t> offset_fields_;  // file position of each tensor's offset field

  Section section_ = Section::kHeader;
  uint64_t index_ = 0;
  uint64_t count_ = 0;
  const std::string* name_ = nullptr;
};

}  // namespace

std::string_view GgufValueTypeName(GgufValueType type) {
  // Indexed by the file format's numbering.
  static constexpr std::string_view kNames[] = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64",
  };
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

std::optional<uint64_t> GgufFile::GetUint(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || !IsIntegerType(v->type)) return std::nullopt;
  if (const auto* u = std::get_if<uint64_t>(&v->scalar)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v->scalar); i != nullptr && *i >= 0) {
    return static_cast<uint64_t>(*i);
  }
  return std::nullopt;
}

std::optional<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || !IsIntegerType(v->type)) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(&v->scalar)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v->scalar);
      u != nullptr && *u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::optional<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* d = std::get_if<double>(&v->scalar)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&v->scalar)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&v->scalar)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufValueType::kBool) return std::nullopt;
  return std::get<bool>(v->scalar);
}

std::optional<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufValueType::kString) return std::nullopt;
  return std::get<std::string>(v->scalar);
}

std::optional<uint64_t> GgufFile::GetArrayCount(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufValueType::kArray) return std::nullopt;
  return v->array_count;
}

std::optional<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || v->type != GgufValueType::kArray || !v->array_kept) return std::nullopt;
  if (!IsIntegerType(v->array_type) && v->array_type != GgufValueType::kBool) return std::nullopt;
  return v->array_ints;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

uint64_t GgufFile::TensorDataBytes() const {
  // Saturates: tensors of a parsed file each fit in the file, but a hand-built GgufFile need
  // not obey that.
  uint64_t total = 0;
  for (const GgufTensorInfo& t : tensors) {
    total = t.n_bytes > std::numeric_limits<uint64_t>::max() - total
                ? std::numeric_limits<uint64_t>::max()
                : total + t.n_bytes;
  }
  return total;
}

std::map<GgmlType, uint64_t> GgufFile::BytesByType() const {
  std::map<GgmlType, uint64_t> out;
  for (const GgufTensorInfo& t : tensors) {
    uint64_t& sum = out[t.type];
    sum = t.n_bytes > std::numeric_limits<uint64_t>::max() - sum
              ? std::numeric_limits<uint64_t>::max()
              : sum + t.n_bytes;
  }
  return out;
}

StatusOr<GgufFile> ReadGgufFile(const std::string& path, const GgufReadOptions& options) {
  // stat before open: opening a FIFO for reading would block until someone writes to it.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Status::NotFound(fmt::format("{}: no such file", path));
    }
    return Status::IoError(fmt::format("{}: cannot stat: {}", path, std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::IoError(fmt::format("{}: is a directory, not a GGUF file", path));
  }
  if (!S_ISREG(st.st_mode)) {
    // A pipe or device has no size to check tensor extents against.
    return Status::IoError(fmt::format("{}: is not a regular file", path));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::IoError(fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  // The size of what was opened, in case the path was replaced in between.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IoError(fmt::format("{}: changed while it was opened", path));
  }
  FileSource source(fd, static_cast<uint64_t>(st.st_size));
  StatusOr<GgufFile> file = Parser(&source, options).Parse();
  if (!file.ok()) return file.status().WithPrefix(path);
  return file;
}

StatusOr<GgufFile> ParseGguf(std::span<const uint8_t> bytes, const GgufReadOptions& options) {
  MemorySource source(bytes);
  return Parser(&source, options).Parse();
}

}  // namespace cortex
