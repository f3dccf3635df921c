#include "model/synthetic_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "model/gguf_writer.h"

namespace cortex::testing {

const char kChatmlTemplate[] =
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

namespace {

// SentencePiece marks a word start with U+2581 LOWER ONE EIGHTH BLOCK.
constexpr char kWordStart[] = "\xE2\x96\x81";
constexpr uint32_t kSpecialTokens = 3;
constexpr uint32_t kByteTokens = 256;
constexpr uint32_t kBosToken = 1;
// Weights are uniform in [-kWeightScale, kWeightScale]: small enough that two RMS-normed layers
// keep activations far from f16 overflow, large enough that the logits differ.
constexpr float kWeightScale = 0.02f;

// SplitMix64: a deterministic generator whose output does not depend on the standard library's
// distributions, so a seed names the same model everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-scale, scale).
  float Uniform(float scale) {
    const double u = static_cast<double>(Next() >> 11) * 0x1.0p-53;  // [0, 1)
    return static_cast<float>((2.0 * u - 1.0) * scale);
  }

 private:
  uint64_t state_;
};

void PutHalf(std::vector<uint8_t>* out, float v) {
  const uint16_t h = FloatToHalf(v);
  out->push_back(static_cast<uint8_t>(h));
  out->push_back(static_cast<uint8_t>(h >> 8));
}

// Encodes `values` (a whole number of rows) as `type`. Quantized blocks are real
// quantizations of the values, so dequantized weights stay as small as the floats were.
std::vector<uint8_t> Encode(GgmlType type, const std::vector<float>& values) {
  std::vector<uint8_t> out;
  switch (type) {
    case GgmlType::kF32:
      for (float v : values)
        GgufWriter::PutF32(&out, v);
      break;
    case GgmlType::kF16:
      for (float v : values)
        PutHalf(&out, v);
      break;
    case GgmlType::kBF16:
      for (float v : values) {
        uint32_t bits;
        std::memcpy(&bits, &v, sizeof(bits));
        bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest even; values here are finite
        out.push_back(static_cast<uint8_t>(bits >> 16));
        out.push_back(static_cast<uint8_t>(bits >> 24));
      }
      break;
    case GgmlType::kQ8_0:
      // Block of 32: f16 scale d, then 32 int8 q with value = q * d.
      for (size_t b = 0; b < values.size(); b += 32) {
        float amax = 0;
        for (size_t i = 0; i < 32; ++i)
          amax = std::max(amax, std::fabs(values[b + i]));
        const float d = amax / 127.0f;
        PutHalf(&out, d);
        for (size_t i = 0; i < 32; ++i) {
          const long q = d == 0 ? 0 : std::lround(values[b + i] / d);
          out.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::clamp(q, -127L, 127L))));
        }
      }
      break;
    case GgmlType::kQ4_0:
      // Block of 32: f16 scale d, then 16 bytes; byte j holds element j in its low nibble and
      // element j + 16 in its high nibble, each as q + 8 with value = q * d.
      for (size_t b = 0; b < values.size(); b += 32) {
        float amax = 0;
        for (size_t i = 0; i < 32; ++i)
          amax = std::max(amax, std::fabs(values[b + i]));
        const float d = amax / 7.0f;
        PutHalf(&out, d);
        const auto nibble = [&](size_t i) {
          const long q = d == 0 ? 0 : std::lround(values[b + i] / d);
          return static_cast<uint8_t>(std::clamp(q, -8L, 7L) + 8);
        };
        for (size_t j = 0; j < 16; ++j) {
          out.push_back(static_cast<uint8_t>(nibble(j) | (nibble(j + 16) << 4)));
        }
      }
      break;
    default:
      std::abort();  // ValidateSpec admits only the types above
  }
  return out;
}

std::vector<float> RandomValues(Rng* rng, uint64_t n) {
  std::vector<float> values(n);
  for (float& v : values)
    v = rng->Uniform(kWeightScale);
  return values;
}

// Tokens whose text is printable ASCII (or tab/newline) once detokenized. Random weights would
// otherwise emit lone bytes >= 0x80, invalid UTF-8 that llama-server refuses to return.
bool IsAsciiToken(uint32_t id) {
  if (id < kSpecialTokens) return false;
  if (id < kSpecialTokens + kByteTokens) {
    const uint32_t byte = id - kSpecialTokens;
    return byte == '\t' || byte == '\n' || (byte >= 0x20 && byte < 0x7f);
  }
  return true;  // the ordinary pieces are all ASCII apart from the word-start mark
}

bool IsWritableType(GgmlType t) {
  return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16 ||
         t == GgmlType::kQ8_0 || t == GgmlType::kQ4_0;
}

uint32_t FileType(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case GgmlType::kF16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::kQ4_0:
      return 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
    case GgmlType::kQ8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case GgmlType::kBF16:
      return 32;  // LLAMA_FTYPE_MOSTLY_BF16
    default:
      return 0;
  }
}

uint32_t HeadDim(const SyntheticModelSpec& spec) {
  return spec.head_dim != 0 ? spec.head_dim : spec.n_embd / spec.n_head;
}

Status ValidateSpec(const SyntheticModelSpec& spec) {
  if (spec.n_layer == 0 || spec.n_embd == 0 || spec.n_head == 0 || spec.n_head_kv == 0 ||
      spec.n_ff == 0 || spec.n_ctx_train == 0) {
    return Status::InvalidArgument("synthetic model: every size must be non-zero");
  }
  if (spec.n_head % spec.n_head_kv != 0) {
    return Status::InvalidArgument(
        fmt::format("synthetic model: n_head {} is not a multiple of n_head_kv {}", spec.n_head,
                    spec.n_head_kv));
  }
  if (spec.head_dim == 0 && spec.n_embd % spec.n_head != 0) {
    return Status::InvalidArgument(
        fmt::format("synthetic model: n_embd {} is not divisible by n_head {}; set head_dim",
                    spec.n_embd, spec.n_head));
  }
  const GgmlType embd = spec.embd_type.value_or(spec.weight_type);
  for (GgmlType t : {spec.weight_type, embd}) {
    if (!IsWritableType(t)) {
      return Status::InvalidArgument(
          fmt::format("synthetic model: cannot write {} weights (f32, f16, bf16, q8_0, q4_0 only)",
                      GgmlTypeName(t)));
    }
  }
  // Row lengths (ne[0]) of the 2-D matrices: n_embd for most, n_ff for ffn_down, and
  // n_head * head_dim for attn_output.
  const uint64_t block = Traits(spec.weight_type).block_size;
  for (uint64_t row :
       {uint64_t{spec.n_embd}, uint64_t{spec.n_ff}, uint64_t{spec.n_head} * HeadDim(spec)}) {
    if (row % block != 0) {
      return Status::InvalidArgument(
          fmt::format("synthetic model: a row of {} elements is not a whole number of {} blocks",
                      row, GgmlTypeName(spec.weight_type)));
    }
  }
  if (spec.n_embd % Traits(embd).block_size != 0) {
    return Status::InvalidArgument(
        fmt::format("synthetic model: n_embd {} is not a whole number of {} blocks", spec.n_embd,
                    GgmlTypeName(embd)));
  }
  return Status::Ok();
}

// Ordinary pieces in a plausible order: word starts, common words, letters, then letter pairs,
// then numbered filler for very large vocabularies.
std::vector<std::string> NormalPieces(uint32_t n) {
  static const char* const kWords[] = {
      "the",   "of",    "and",   "to",    "in",     "a",     "is",    "that",   "for",  "it",
      "as",    "was",   "with",  "be",    "by",     "on",    "not",   "he",     "I",    "this",
      "are",   "or",    "his",   "from",  "at",     "which", "but",   "have",   "an",   "had",
      "they",  "you",   "were",  "their", "one",    "all",   "we",    "can",    "her",  "has",
      "there", "been",  "if",    "more",  "when",   "will",  "would", "who",    "so",   "no",
      "Hello", "world", "model", "token", "memory", "plan",  "GPU",   "server", "text", "time"};
  std::vector<std::string> out;
  std::set<std::string> seen;
  const auto add = [&](std::string piece) {
    if (out.size() < n && seen.insert(piece).second) out.push_back(std::move(piece));
  };
  add(kWordStart);
  for (const char* w : kWords)
    add(std::string(kWordStart) + w);
  for (char c = 'a'; c <= 'z'; ++c)
    add(std::string(1, c));
  for (char c = 'A'; c <= 'Z'; ++c)
    add(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c)
    add(std::string(1, c));
  for (char c : std::string_view(".,!?;:'\"-()"))
    add(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c)
    add(std::string(kWordStart) + c);
  for (char c = 'A'; c <= 'Z'; ++c)
    add(std::string(kWordStart) + c);
  for (char a = 'a'; a <= 'z' && out.size() < n; ++a) {
    for (char b = 'a'; b <= 'z'; ++b)
      add(std::string{a, b});
  }
  for (uint32_t i = 0; out.size() < n; ++i)
    add(fmt::format("{}w{}", kWordStart, i));
  return out;
}

}  // namespace

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? 0x200u : 0));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    // Subnormal half: the value is m * 2^-24 with the implicit leading one made explicit.
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t m = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (m & 1))) ++m;  // a carry correctly makes it normal
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;  // a carry correctly rounds to inf
  return static_cast<uint16_t>(h);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  float magnitude;
  if (exp == 0) {
    magnitude = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 0x1f) {
    magnitude = mant == 0 ? INFINITY : NAN;
  } else {
    magnitude = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, sizeof(bits));
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

uint32_t SyntheticVocabSize(const SyntheticModelSpec& spec) {
  return kSpecialTokens + kByteTokens + spec.extra_vocab;
}

Status WriteSyntheticModel(const std::string& path, const SyntheticModelSpec& spec) {
  Status s = ValidateSpec(spec);
  if (!s.ok()) return s;
  const uint64_t n_embd = spec.n_embd;
  const uint64_t head_dim = HeadDim(spec);
  const uint64_t n_q = uint64_t{spec.n_head} * head_dim;
  const uint64_t n_kv = uint64_t{spec.n_head_kv} * head_dim;
  const uint64_t n_ff = spec.n_ff;
  const uint64_t n_vocab = SyntheticVocabSize(spec);
  const GgmlType wtype = spec.weight_type;
  const GgmlType etype = spec.embd_type.value_or(wtype);

  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("general.name", spec.name);
  w.AddUint32("general.file_type", FileType(wtype));
  if (IsQuantized(wtype) || IsQuantized(etype)) w.AddUint32("general.quantization_version", 2);
  w.AddUint32("llama.vocab_size", static_cast<uint32_t>(n_vocab));
  w.AddUint32("llama.context_length", spec.n_ctx_train);
  w.AddUint32("llama.embedding_length", spec.n_embd);
  w.AddUint32("llama.block_count", spec.n_layer);
  w.AddUint32("llama.feed_forward_length", spec.n_ff);
  w.AddUint32("llama.attention.head_count", spec.n_head);
  w.AddUint32("llama.attention.head_count_kv", spec.n_head_kv);
  if (spec.head_dim != 0) {
    w.AddUint32("llama.attention.key_length", spec.head_dim);
    w.AddUint32("llama.attention.value_length", spec.head_dim);
  }
  // The llama graph requires the rotary dimension to equal the head dimension.
  w.AddUint32("llama.rope.dimension_count", static_cast<uint32_t>(head_dim));
  w.AddFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.AddFloat32("llama.rope.freq_base", 10000.0f);

  // Token types as llama.cpp numbers them: 1 normal, 2 unknown, 3 control, 6 byte.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  for (uint32_t b = 0; b < kByteTokens; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    scores.push_back(0);
    types.push_back(6);
  }
  const std::vector<std::string> pieces = NormalPieces(spec.extra_vocab);
  for (size_t i = 0; i < pieces.size(); ++i) {
    tokens.push_back(pieces[i]);
    scores.push_back(-static_cast<float>(i + 1));  // earlier pieces merge first
    types.push_back(1);
  }
  w.AddString("tokenizer.ggml.model", "llama");
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  w.AddFloat32Array("tokenizer.ggml.scores", scores);
  w.AddInt32Array("tokenizer.ggml.token_type", types);
  w.AddUint32("tokenizer.ggml.bos_token_id", 1);
  w.AddUint32("tokenizer.ggml.eos_token_id", 2);
  w.AddUint32("tokenizer.ggml.unknown_token_id", 0);
  w.AddBool("tokenizer.ggml.add_bos_token", true);
  w.AddBool("tokenizer.ggml.add_eos_token", false);
  if (!spec.chat_template.empty()) w.AddString("tokenizer.chat_template", spec.chat_template);

  Rng rng(spec.seed);
  const std::vector<float> ones(n_embd, 1.0f);
  const std::vector<uint8_t> norm = Encode(GgmlType::kF32, ones);
  const auto matrix = [&](const std::string& name, GgmlType type, uint64_t rows_len,
                          uint64_t n_rows) {
    w.AddTensor(name, type, {rows_len, n_rows},
                Encode(type, RandomValues(&rng, rows_len * n_rows)));
  };

  // Steering, so that sampling picks only ASCII tokens whatever the temperature: hidden
  // dimension 0 of every input embedding is a constant that dwarfs the other (±0.02) values
  // and survives the small updates of the layers, so after the final norm it is about
  // sqrt(n_embd). Column 0 of the output matrix turns it into a logit of +/- kSteer *
  // sqrt(n_embd) for ASCII and other tokens, a gap no random logit closes. With tied
  // embeddings one matrix does both jobs: the constant's sign marks the token, so BOS counts
  // as ASCII (it starts every prompt) and the guarantee holds while the prompt ends in ASCII.
  constexpr float kSteer = 1.0f;
  std::vector<float> embd = RandomValues(&rng, n_embd * n_vocab);
  for (uint32_t t = 0; t < n_vocab; ++t) {
    const bool good = IsAsciiToken(t) || (spec.tie_embeddings && t == kBosToken);
    embd[t * n_embd] = spec.tie_embeddings && !good ? -kSteer : kSteer;
  }
  w.AddTensor("token_embd.weight", etype, {n_embd, n_vocab}, Encode(etype, embd));
  w.AddTensor("output_norm.weight", GgmlType::kF32, {n_embd}, norm);
  if (!spec.tie_embeddings) {
    std::vector<float> output = RandomValues(&rng, n_embd * n_vocab);
    for (uint32_t t = 0; t < n_vocab; ++t) {
      output[t * n_embd] = IsAsciiToken(t) ? kSteer : -kSteer;
    }
    w.AddTensor("output.weight", wtype, {n_embd, n_vocab}, Encode(wtype, output));
  }
  for (uint32_t i = 0; i < spec.n_layer; ++i) {
    const std::string blk = fmt::format("blk.{}.", i);
    w.AddTensor(blk + "attn_norm.weight", GgmlType::kF32, {n_embd}, norm);
    matrix(blk + "attn_q.weight", wtype, n_embd, n_q);
    matrix(blk + "attn_k.weight", wtype, n_embd, n_kv);
    matrix(blk + "attn_v.weight", wtype, n_embd, n_kv);
    matrix(blk + "attn_output.weight", wtype, n_q, n_embd);
    w.AddTensor(blk + "ffn_norm.weight", GgmlType::kF32, {n_embd}, norm);
    matrix(blk + "ffn_gate.weight", wtype, n_embd, n_ff);
    matrix(blk + "ffn_up.weight", wtype, n_embd, n_ff);
    matrix(blk + "ffn_down.weight", wtype, n_ff, n_embd);
  }
  return w.WriteFile(path);
}

}  // namespace cortex::testing
