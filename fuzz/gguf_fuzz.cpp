// libFuzzer target for the GGUF header parser: any bytes must yield a GgufFile or a Status,
// never a crash, a sanitizer report, or memory beyond what the input and options bound.
// Run it with scripts/fuzz.sh; seeds are in fuzz/corpus/gguf/.
#include <cstddef>
#include <cstdint>
#include <span>

#include "model/gguf_file.h"

namespace {

// Touches every accessor so that a parse that "succeeds" with inconsistent state is caught too.
void Exercise(const cortex::GgufFile& f) {
  uint64_t sink = f.TensorDataBytes() + f.BytesByType().size();
  for (const auto& [key, value] : f.metadata) {
    sink += f.GetUint(key).value_or(0);
    sink += static_cast<uint64_t>(f.GetInt(key).value_or(0));
    sink += f.GetFloat(key).has_value() ? 1 : 0;
    sink += f.GetBool(key).value_or(false) ? 1 : 0;
    sink += f.GetString(key).value_or("").size();
    sink += f.GetArrayCount(key).value_or(0);
    sink += f.GetIntArray(key).value_or(std::vector<int64_t>{}).size();
    sink += cortex::GgufValueTypeName(value.type).size();
  }
  for (const cortex::GgufTensorInfo& t : f.tensors) {
    if (f.FindTensor(t.name) == nullptr) __builtin_trap();
    // The parser promised every tensor fits in the file.
    if (f.data_offset + t.offset + t.n_bytes > f.file_size) __builtin_trap();
    sink += cortex::GgmlTypeName(t.type).size();
  }
  if (f.alignment == 0 || (f.alignment & (f.alignment - 1)) != 0) __builtin_trap();
  // Keep the work from being optimized away.
  asm volatile("" : : "r"(sink));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  // Small limits make the limit paths reachable with small inputs; the default options are the
  // ones production uses.
  cortex::GgufReadOptions small;
  small.max_kept_numeric_array = 4;
  small.keep_string_arrays = true;
  small.max_string_bytes = 256;
  small.max_tensor_count = 64;
  small.max_metadata_count = 64;
  for (const cortex::GgufReadOptions& options : {cortex::GgufReadOptions{}, small}) {
    cortex::StatusOr<cortex::GgufFile> f = cortex::ParseGguf(bytes, options);
    if (f.ok()) {
      Exercise(*f);
    } else if (f.status().message().empty()) {
      __builtin_trap();  // every error must say something
    }
  }
  return 0;
}
