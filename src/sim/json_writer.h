// JsonWriter: builds JSON text in the order the fields are written.
//
// Engines' bodies have a field order clients and diff tools see (llama-server's chunks start
// with "choices", vLLM's with "id"), so the simulator writes fields in that order rather than
// through a map. Doubles always carry a decimal point or exponent ("0.0", "2.5", "1e+06"), never
// looking like integers, because a client that types JSON values (and our conformance checks)
// would otherwise see an int where the engine sends a float. Output reuses one buffer, so
// streaming a token costs no allocation once the buffer has grown.
//
// Thread safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cortex::sim {

// Appends `s` as a JSON string literal (quotes, escapes for '"', '\\' and control bytes).
void AppendJsonString(std::string* out, std::string_view s);
// Appends `v` as JSON number text that reads back as a double.
void AppendJsonDouble(std::string* out, double v);

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Already-serialized JSON for one value.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }
  void Clear();

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace cortex::sim
