// Reading the header of a ~20 GB GGUF file: the validated read, the raw I/O it cannot beat, the
// parse alone, and the hyper-parameters on top, side by side in one run.
//
// The file is built once per process: a Qwen2.5-32B-shaped Q4_K_M model (64 layers x 12 tensors,
// a 150,000-token tokenizer with its merges) whose tensor offsets declare ~21 GB of data. The data
// section is a hole made with ftruncate, so the file costs a few MB of disk and nothing can read
// tensor data by accident without it showing up as a wildly slower figure.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "model/ggml_type.h"
#include "model/gguf_file.h"
#include "model/gguf_model.h"
#include "model/gguf_writer.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

constexpr uint32_t kLayers = 64;
constexpr uint64_t kEmbd = 5120;
constexpr uint64_t kFf = 27648;
constexpr uint64_t kHeads = 40;
constexpr uint64_t kHeadsKv = 8;
constexpr uint64_t kHeadDim = kEmbd / kHeads;
constexpr uint64_t kVocab = 150000;
constexpr uint64_t kAlignment = 32;

// Letters and a few byte-level BPE markers, so tokens look like a real vocabulary's.
std::string RandomPiece(std::mt19937_64& rng) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  if (rng() % 3 == 0) s = "\xC4\xA0";  // "Ġ", GPT-2's leading-space marker
  const size_t len = 1 + rng() % 10;
  for (size_t i = 0; i < len; ++i)
    s += kChars[rng() % (sizeof(kChars) - 1)];
  return s;
}

struct LargeGguf {
  testing::TempDir dir;
  std::string path;
  uint64_t header_bytes = 0;  // data_offset: everything before the tensor data
  uint64_t file_bytes = 0;
  size_t tensor_count = 0;
  std::string error;  // set when the fixture could not be built
  // The whole file mapped read-only, for ParseGguf (see BM_ParseGgufFromMemory).
  const uint8_t* map = nullptr;

  LargeGguf() {
    path = dir.File("qwen2.5-32b-q4_k_m.gguf");
    testing::GgufWriter w;
    w.AddString("general.architecture", "qwen2");
    w.AddString("general.name", "Qwen2.5 32B Instruct (synthetic header)");
    w.AddUint32("general.file_type", 15);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
    w.AddUint32("qwen2.block_count", kLayers);
    w.AddUint32("qwen2.context_length", 32768);
    w.AddUint32("qwen2.embedding_length", kEmbd);
    w.AddUint32("qwen2.feed_forward_length", kFf);
    w.AddUint32("qwen2.attention.head_count", kHeads);
    w.AddUint32("qwen2.attention.head_count_kv", kHeadsKv);
    w.AddFloat32("qwen2.rope.freq_base", 1e6f);
    w.AddFloat32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
    w.AddString("tokenizer.ggml.model", "gpt2");
    w.AddString("tokenizer.ggml.pre", "qwen2");

    std::mt19937_64 rng(42);
    std::vector<std::string> tokens(kVocab);
    for (auto& t : tokens)
      t = RandomPiece(rng);
    w.AddStringArray("tokenizer.ggml.tokens", tokens);
    std::vector<int32_t> token_types(kVocab, 1);
    w.AddInt32Array("tokenizer.ggml.token_type", token_types);
    std::vector<std::string> merges(kVocab);
    for (auto& m : merges)
      m = RandomPiece(rng) + " " + RandomPiece(rng);
    w.AddStringArray("tokenizer.ggml.merges", merges);
    w.AddUint32("tokenizer.ggml.eos_token_id", 151645);
    w.AddUint32("tokenizer.ggml.padding_token_id", 151643);
    w.AddString("tokenizer.chat_template", std::string(2048, 'x'));

    // Offsets laid out as a writer would, with no data behind them.
    uint64_t offset = 0;
    auto add = [&](const std::string& name, GgmlType type, std::vector<uint64_t> shape) {
      const uint64_t bytes = testing::GgufWriter::TensorBytes(type, shape);
      const auto n_dims = static_cast<uint32_t>(shape.size());
      w.AddRawTensorInfo(name, n_dims, std::move(shape), static_cast<uint32_t>(type), offset);
      offset += (bytes + kAlignment - 1) / kAlignment * kAlignment;
      ++tensor_count;
    };
    // Q4_K_M: Q4_K matrices, Q6_K for attn_v, ffn_down and output; f32 norms and biases.
    add("token_embd.weight", GgmlType::kQ4_K, {kEmbd, kVocab});
    for (uint32_t i = 0; i < kLayers; ++i) {
      const std::string blk = "blk." + std::to_string(i) + ".";
      add(blk + "attn_norm.weight", GgmlType::kF32, {kEmbd});
      add(blk + "attn_q.weight", GgmlType::kQ4_K, {kEmbd, kEmbd});
      add(blk + "attn_q.bias", GgmlType::kF32, {kEmbd});
      add(blk + "attn_k.weight", GgmlType::kQ4_K, {kEmbd, kHeadsKv * kHeadDim});
      add(blk + "attn_k.bias", GgmlType::kF32, {kHeadsKv * kHeadDim});
      add(blk + "attn_v.weight", GgmlType::kQ6_K, {kEmbd, kHeadsKv * kHeadDim});
      add(blk + "attn_v.bias", GgmlType::kF32, {kHeadsKv * kHeadDim});
      add(blk + "attn_output.weight", GgmlType::kQ4_K, {kEmbd, kEmbd});
      add(blk + "ffn_norm.weight", GgmlType::kF32, {kEmbd});
      add(blk + "ffn_gate.weight", GgmlType::kQ4_K, {kEmbd, kFf});
      add(blk + "ffn_up.weight", GgmlType::kQ4_K, {kEmbd, kFf});
      add(blk + "ffn_down.weight", GgmlType::kQ6_K, {kFf, kEmbd});
    }
    add("output_norm.weight", GgmlType::kF32, {kEmbd});
    add("output.weight", GgmlType::kQ6_K, {kEmbd, kVocab});

    const std::vector<uint8_t> header = w.Bytes();  // padded to the alignment: no tensor data
    header_bytes = header.size();
    file_bytes = header_bytes + offset;
    if (Status s = w.WriteFile(path); !s.ok()) {
      error = s.ToString();
      return;
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(file_bytes)) != 0) {
      error = "cannot extend " + path;
      if (fd >= 0) ::close(fd);
      return;
    }
    void* m = ::mmap(nullptr, file_bytes, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) {
      error = "cannot map " + path;
      return;
    }
    map = static_cast<const uint8_t*>(m);

    // The fixture must be what it claims, or the figures mean nothing.
    StatusOr<GgufFile> file = ReadGgufFile(path);
    if (!file.ok()) {
      error = file.status().ToString();
    } else if (file->data_offset != header_bytes || file->tensors.size() != tensor_count) {
      error = "the fixture's header does not read back as written";
    }
  }

  ~LargeGguf() {
    if (map != nullptr) ::munmap(const_cast<uint8_t*>(map), file_bytes);
  }

  std::string Label() const {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "header %.2f MB, file %.2f GB, %zu tensors",
                  static_cast<double>(header_bytes) / 1e6, static_cast<double>(file_bytes) / 1e9,
                  tensor_count);
    return buf;
  }
};

// Built on first use, outside any timed loop, and removed (with its directory) at exit.
const LargeGguf& Fixture() {
  static const LargeGguf fixture;
  return fixture;
}

// Shared setup: fails the benchmark when the fixture is missing, labels it otherwise.
bool Ready(benchmark::State& state, const LargeGguf& f) {
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return false;
  }
  state.SetLabel(f.Label());
  return true;
}

void Finish(benchmark::State& state, const LargeGguf& f) {
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(f.header_bytes));
}

// The full validated read, as `cortex plan` does it for every GGUF model.
void BM_ReadGgufFile(benchmark::State& state) {
  const LargeGguf& f = Fixture();
  if (!Ready(state, f)) return;
  for (auto _ : state) {
    StatusOr<GgufFile> file = ReadGgufFile(f.path);
    if (!file.ok()) {
      state.SkipWithError(file.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(file);
  }
  Finish(state, f);
}
BENCHMARK(BM_ReadGgufFile)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The I/O floor: open, pread the same header bytes into a reused buffer, close. No parsing, so
// ReadGgufFile minus this is what validation and bookkeeping cost.
void BM_ReadHeaderBytesOnly(benchmark::State& state) {
  const LargeGguf& f = Fixture();
  if (!Ready(state, f)) return;
  std::vector<uint8_t> buffer(f.header_bytes);
  for (auto _ : state) {
    const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    size_t done = 0;
    while (fd >= 0 && done < buffer.size()) {
      const ssize_t r =
          ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(done));
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    if (fd >= 0) ::close(fd);
    if (done != buffer.size()) {
      state.SkipWithError("short read");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  Finish(state, f);
}
BENCHMARK(BM_ReadHeaderBytesOnly)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The parse alone, on bytes already in memory. ParseGguf checks tensor extents against the size
// of the span it is given, so the span is the whole mapped file; only the header pages are ever
// touched, and they are faulted in before timing starts.
void BM_ParseGgufFromMemory(benchmark::State& state) {
  const LargeGguf& f = Fixture();
  if (!Ready(state, f)) return;
  const std::span<const uint8_t> bytes(f.map, f.file_bytes);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < f.header_bytes; i += 4096)
    sum += bytes[i];
  benchmark::DoNotOptimize(sum);
  for (auto _ : state) {
    StatusOr<GgufFile> file = ParseGguf(bytes);
    if (!file.ok()) {
      state.SkipWithError(file.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(file);
  }
  Finish(state, f);
}
BENCHMARK(BM_ParseGgufFromMemory)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The header read plus the hyper-parameters the planner needs: ResolveModel's cost for a GGUF.
void BM_ReadGgufModel(benchmark::State& state) {
  const LargeGguf& f = Fixture();
  if (!Ready(state, f)) return;
  for (auto _ : state) {
    StatusOr<ModelInfo> model = ReadGgufModel(f.path);
    if (!model.ok()) {
      state.SkipWithError(model.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(model);
  }
  Finish(state, f);
}
BENCHMARK(BM_ReadGgufModel)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cortex
