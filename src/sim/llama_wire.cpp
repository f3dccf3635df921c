#include "sim/llama_wire.h"

#include <fmt/format.h>

#include <algorithm>

#include "sim/flavor.h"
#include "sim/json_writer.h"

namespace cortex::sim::llama_wire {

namespace asio = boost::asio;

namespace {

void WriteUsage(JsonWriter& w, uint64_t prompt, uint64_t completion) {
  w.Key("usage").BeginObject();
  w.Key("completion_tokens").Uint(completion).Key("prompt_tokens").Uint(prompt);
  w.Key("total_tokens").Uint(prompt + completion);
  w.Key("prompt_tokens_details").BeginObject().Key("cached_tokens").Uint(0).EndObject();
  w.EndObject();
}

// The `timings` object (1.6 step 5).
void WriteTimings(JsonWriter& w, uint64_t prompt_n, const GenerationOutcome& out) {
  const double prompt_ms = std::max(out.prompt_ms, 0.001);
  const double predicted_ms = std::max(out.predicted_ms, 0.001);
  const double pn = static_cast<double>(std::max<uint64_t>(prompt_n, 1));
  const double gn = static_cast<double>(std::max<uint64_t>(out.n_tokens, 1));
  w.Key("timings").BeginObject();
  w.Key("cache_n").Uint(0).Key("prompt_n").Uint(prompt_n);
  w.Key("prompt_ms").Double(prompt_ms).Key("prompt_per_token_ms").Double(prompt_ms / pn);
  w.Key("prompt_per_second").Double(1000.0 * pn / prompt_ms);
  w.Key("predicted_n").Uint(out.n_tokens).Key("predicted_ms").Double(predicted_ms);
  w.Key("predicted_per_token_ms").Double(predicted_ms / gn);
  w.Key("predicted_per_second").Double(1000.0 * gn / predicted_ms);
  w.EndObject();
}

// Sampling parameters as /props and /slots show them (defaults of llama-server).
void WriteParams(JsonWriter& w, int64_t n_predict, bool stream) {
  w.BeginObject();
  w.Key("seed").Uint(4294967295u).Key("temperature").Double(0.800000011920929);
  w.Key("dynatemp_range").Double(0).Key("dynatemp_exponent").Double(1);
  w.Key("top_k").Int(40).Key("top_p").Double(0.949999988079071);
  w.Key("min_p").Double(0.05000000074505806).Key("top_n_sigma").Double(-1);
  w.Key("xtc_probability").Double(0).Key("xtc_threshold").Double(0.10000000149011612);
  w.Key("typical_p").Double(1).Key("repeat_last_n").Int(64).Key("repeat_penalty").Double(1);
  w.Key("presence_penalty").Double(0).Key("frequency_penalty").Double(0);
  w.Key("dry_multiplier").Double(0).Key("dry_base").Double(1.75);
  w.Key("dry_allowed_length").Int(2).Key("dry_penalty_last_n").Int(64);
  w.Key("mirostat")
      .Int(0)
      .Key("mirostat_tau")
      .Double(5)
      .Key("mirostat_eta")
      .Double(0.10000000149011612);
  w.Key("adaptive_target").Double(-1).Key("adaptive_decay").Double(0.8999999761581421);
  w.Key("max_tokens").Int(n_predict).Key("n_predict").Int(n_predict);
  w.Key("n_keep").Int(0).Key("n_discard").Int(0).Key("ignore_eos").Bool(false);
  w.Key("stream").Bool(stream).Key("n_probs").Int(0).Key("min_keep").Int(0);
  w.Key("chat_format").String("Content-only").Key("reasoning_format").String("none");
  w.Key("reasoning_in_content").Bool(false).Key("generation_prompt").String("");
  w.Key("samplers").BeginArray();
  for (const char* s : {"penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p",
                        "xtc", "temperature"})
    w.String(s);
  w.EndArray();
  w.Key("speculative.types").String("none").Key("timings_per_token").Bool(false);
  w.Key("post_sampling_probs").Bool(false).Key("backend_sampling").Bool(false);
  w.Key("lora").BeginArray().EndArray();
  w.EndObject();
}

void WriteNativeFields(JsonWriter& w, const std::string& alias, const CompletionCall& call,
                       const GenerationOutcome& out, std::string_view content) {
  w.Key("index").Int(0).Key("content").String(content).Key("tokens").BeginArray().EndArray();
  w.Key("id_slot").Int(0).Key("stop").Bool(true).Key("model").String(alias);
  w.Key("tokens_predicted").Uint(out.n_tokens).Key("tokens_evaluated").Uint(call.n_prompt_tokens);
  w.Key("generation_settings");
  WriteParams(w, call.n_predict, call.stream);
  w.Key("prompt").String(call.prompt).Key("has_new_line").Bool(false);
  w.Key("truncated").Bool(false);
  w.Key("stop_type").String(out.end == GenerationEnd::kStop ? "word" : "limit");
  w.Key("stopping_word").String("").Key("tokens_cached").Uint(call.n_prompt_tokens + out.n_tokens);
  WriteTimings(w, call.n_prompt_tokens, out);
}

}  // namespace

std::string_view ErrorType(int status) {
  // format_error_response's types by HTTP status (D-engine-apis.md 1.5).
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 501:
      return "not_supported_error";
    case 503:
      return "unavailable_error";
    default:
      return "server_error";
  }
}

// {"error":{"code","message","type"}}: the order of errors raised while handling (1.5).
std::string HandlerError(int code, std::string_view message, std::string_view type) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Key("code").Int(code).Key("message").String(message).Key("type").String(type);
  w.EndObject().EndObject();
  return w.Take();
}

// {"error":{"message","type","code"}}: the order of the HTTP middleware's errors (1.2, 1.4).
std::string MiddlewareError(int code, std::string_view message, std::string_view type) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Key("message").String(message).Key("type").String(type).Key("code").Int(code);
  w.EndObject().EndObject();
  return w.Take();
}

std::string ContextOverflowError(uint64_t n_prompt_tokens, uint32_t n_ctx_slot) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject().Key("code").Int(400);
  w.Key("message").String(fmt::format(
      "request ({} tokens) exceeds the available context size ({} tokens), try increasing it",
      n_prompt_tokens, n_ctx_slot));
  w.Key("type").String("exceed_context_size_error");
  w.Key("n_prompt_tokens").Uint(n_prompt_tokens).Key("n_ctx").Uint(n_ctx_slot);
  w.EndObject().EndObject();
  return w.Take();
}

// /v1/models: an Ollama-style "models" list and the OpenAI "data" list (1.7).
std::string ModelsBody(const LlamaCppModel& model) {
  JsonWriter w;
  w.BeginObject().Key("models").BeginArray().BeginObject();
  w.Key("name").String(model.alias).Key("model").String(model.alias);
  w.Key("modified_at").String("").Key("size").String("").Key("digest").String("");
  w.Key("type").String("model").Key("description").String("");
  w.Key("tags").BeginArray().String("").EndArray();
  w.Key("capabilities").BeginArray().String("completion").EndArray();
  w.Key("parameters").String("");
  w.Key("details").BeginObject();
  w.Key("parent_model").String("").Key("format").String("gguf").Key("family").String("");
  w.Key("families").BeginArray().String("").EndArray();
  w.Key("parameter_size").String("").Key("quantization_level").String("");
  w.EndObject().EndObject().EndArray();
  w.Key("object").String("list");
  w.Key("data").BeginArray().BeginObject();
  w.Key("id").String(model.alias);
  w.Key("aliases").BeginArray();
  for (const std::string& a : model.aliases)
    w.String(a);
  w.EndArray();
  w.Key("tags").BeginArray().EndArray();
  w.Key("object").String("model").Key("created").Int(UnixNow()).Key("owned_by").String("llamacpp");
  w.Key("meta").BeginObject();
  w.Key("vocab_type").Int(model.vocab_type).Key("n_vocab").Uint(model.info.n_vocab);
  w.Key("n_ctx").Uint(model.n_ctx_slot).Key("n_ctx_train").Uint(model.info.n_ctx_train);
  w.Key("n_embd").Uint(model.info.n_embd).Key("n_params").Uint(model.n_params);
  w.Key("size").Uint(model.info.weights_bytes).Key("ftype").String(model.ftype);
  w.EndObject().EndObject().EndArray().EndObject();
  return w.Take();
}

// /props (1.7): per-slot n_ctx, total_slots, alias, path, build, sleeping.
std::string PropsBody(const LlamaCppModel& model, size_t total_slots, bool slots_endpoint,
                      bool metrics) {
  JsonWriter w;
  w.BeginObject().Key("default_generation_settings").BeginObject().Key("params");
  WriteParams(w, -1, false);
  w.Key("n_ctx").Uint(model.n_ctx_slot).EndObject();
  w.Key("total_slots").Uint(total_slots);
  w.Key("model_alias").String(model.alias).Key("model_ftype").String(model.ftype);
  w.Key("model_path").String(model.path);
  w.Key("modalities").BeginObject().Key("vision").Bool(false).Key("video").Bool(false);
  w.Key("audio").Bool(false).EndObject();
  w.Key("media_marker").String("<__media_cortexsim__>");
  w.Key("endpoint_slots").Bool(slots_endpoint);
  w.Key("endpoint_props").Bool(false).Key("endpoint_metrics").Bool(metrics);
  w.Key("ui").Bool(true).Key("ui_settings").BeginObject().EndObject();
  w.Key("chat_template").String(model.chat_template);
  w.Key("chat_template_caps").BeginObject();
  for (const char* cap :
       {"supports_object_arguments", "supports_parallel_tool_calls", "supports_preserve_reasoning",
        "supports_string_content", "supports_system_role", "supports_tool_calls", "supports_tools",
        "supports_typed_content"}) {
    const std::string_view c(cap);
    w.Key(c).Bool(c == "supports_string_content" || c == "supports_system_role");
  }
  w.EndObject();
  w.Key("bos_token").String(model.bos_token).Key("eos_token").String(model.eos_token);
  w.Key("build_info").String(kFingerprint);
  w.Key("is_sleeping").Bool(false).Key("cors_proxy_enabled").Bool(false);
  w.EndObject();
  return w.Take();
}

// /slots (1.7): a slot that never ran a task carries four fields; once it has, the task's
// progress (kept after the task ends, as llama-server does).
std::string SlotsBody(const std::vector<SlotActivity>& activity, uint32_t n_ctx_slot) {
  JsonWriter w;
  w.BeginArray();
  for (size_t i = 0; i < activity.size(); ++i) {
    const SlotActivity& a = activity[i];
    w.BeginObject().Key("id").Uint(i).Key("n_ctx").Uint(n_ctx_slot);
    w.Key("speculative").Bool(false).Key("is_processing").Bool(a.processing);
    if (a.used) {
      w.Key("id_task").Uint(a.id_task).Key("n_prompt_tokens").Uint(a.n_prompt_tokens);
      w.Key("n_prompt_tokens_processed").Uint(a.n_prompt_processed);
      w.Key("n_prompt_tokens_cache").Uint(0);
      w.Key("params");
      WriteParams(w, static_cast<int64_t>(a.max_tokens), a.stream);
      w.Key("next_token").BeginArray().BeginObject();
      w.Key("has_next_token").Bool(a.processing).Key("has_new_line").Bool(false);
      w.Key("n_remain").Int(static_cast<int64_t>(a.max_tokens) - static_cast<int64_t>(a.n_decoded));
      w.Key("n_decoded").Uint(a.n_decoded);
      w.EndObject().EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}
// The events after the last token: final chunk (and usage chunk), then [DONE] (1.6 4-6).
std::string FinalEvents(const std::string& alias, const CompletionCall& call,
                        const GenerationOutcome& out, const std::string& id, int64_t created) {
  const std::string_view reason = FinishReason(out.end);
  std::string events;
  JsonWriter w;
  if (call.api == Api::kNative) {
    w.BeginObject();
    WriteNativeFields(w, alias, call, out, "");
    w.EndObject();
    // The native endpoint ends with "stop":true and sends no [DONE].
    return "data: " + w.Take() + "\n\n";
  }
  if (call.api == Api::kChat) {
    w.BeginObject().Key("choices").BeginArray().BeginObject();
    w.Key("finish_reason").String(reason).Key("index").Int(0);
    w.Key("delta").BeginObject().EndObject().EndObject().EndArray();
    w.Key("created").Int(created).Key("id").String(id).Key("model").String(alias);
    w.Key("system_fingerprint").String(kFingerprint).Key("object").String("chat.completion.chunk");
    if (!call.include_usage) WriteTimings(w, call.n_prompt_tokens, out);
    w.EndObject();
    events += "data: " + w.Take() + "\n\n";
    if (call.include_usage) {
      w.Clear();
      w.BeginObject().Key("choices").BeginArray().EndArray();
      w.Key("created").Int(created).Key("id").String(id).Key("model").String(alias);
      w.Key("system_fingerprint").String(kFingerprint);
      w.Key("object").String("chat.completion.chunk");
      WriteUsage(w, call.n_prompt_tokens, out.n_tokens);
      WriteTimings(w, call.n_prompt_tokens, out);
      w.EndObject();
      events += "data: " + w.Take() + "\n\n";
    }
  } else {
    // OpenAI completions: the final chunk carries usage and timings, with or without
    // include_usage (observed).
    w.BeginObject().Key("choices").BeginArray().BeginObject();
    w.Key("text").String("").Key("index").Int(0).Key("logprobs").Null();
    w.Key("finish_reason").String(reason).EndObject().EndArray();
    w.Key("created").Int(created).Key("model").String(alias);
    w.Key("system_fingerprint").String(kFingerprint).Key("object").String("text_completion");
    WriteUsage(w, call.n_prompt_tokens, out.n_tokens);
    w.Key("id").String(id);
    WriteTimings(w, call.n_prompt_tokens, out);
    w.EndObject();
    events += "data: " + w.Take() + "\n\n";
  }
  events += "data: [DONE]\n\n";
  return events;
}

// Non-streamed responses (1.6 "Non-streaming chat response").
std::string FinalBody(const std::string& alias, const CompletionCall& call,
                      const GenerationOutcome& out, const std::string& id, int64_t created) {
  const std::string_view reason = FinishReason(out.end);
  JsonWriter w;
  w.BeginObject();
  if (call.api == Api::kNative) {
    WriteNativeFields(w, alias, call, out, out.text);
    w.EndObject();
    return w.Take();
  }
  w.Key("choices").BeginArray().BeginObject();
  if (call.api == Api::kChat) {
    w.Key("finish_reason").String(reason).Key("index").Int(0);
    w.Key("message").BeginObject().Key("role").String("assistant");
    w.Key("content").String(out.text).EndObject();
  } else {
    w.Key("text").String(out.text).Key("index").Int(0).Key("logprobs").Null();
    w.Key("finish_reason").String(reason);
  }
  w.EndObject().EndArray();
  w.Key("created").Int(created).Key("model").String(alias);
  w.Key("system_fingerprint").String(kFingerprint);
  w.Key("object").String(call.api == Api::kChat ? "chat.completion" : "text_completion");
  WriteUsage(w, call.n_prompt_tokens, out.n_tokens);
  w.Key("id").String(id);
  WriteTimings(w, call.n_prompt_tokens, out);
  w.EndObject();
  return w.Take();
}

std::string ProgressEvent(Api api, const std::string& alias, const std::string& id, int64_t created,
                          const PromptProgress& progress) {
  JsonWriter w;
  w.BeginObject();
  if (api == Api::kChat) {
    w.Key("choices").BeginArray().EndArray();
    w.Key("created").Int(created).Key("id").String(id).Key("model").String(alias);
    w.Key("system_fingerprint").String(kFingerprint).Key("object").String("chat.completion.chunk");
  } else if (api == Api::kCompletion) {
    w.Key("choices").BeginArray().BeginObject();
    w.Key("text").String("").Key("index").Int(0).Key("logprobs").Null();
    w.Key("finish_reason").Null().EndObject().EndArray();
    w.Key("created").Int(created).Key("model").String(alias);
    w.Key("system_fingerprint").String(kFingerprint).Key("object").String("text_completion");
    w.Key("id").String(id);
  } else {
    w.Key("index").Int(0).Key("content").String("").Key("tokens").BeginArray().EndArray();
    w.Key("stop").Bool(false).Key("id_slot").Int(-1).Key("tokens_predicted").Int(0);
    w.Key("tokens_evaluated").Uint(progress.total);
  }
  w.Key("prompt_progress").BeginObject();
  w.Key("total").Uint(progress.total).Key("cache").Uint(progress.cache);
  w.Key("processed").Uint(progress.processed).Key("time_ms").Int(progress.time_ms);
  w.EndObject().EndObject();
  return "data: " + w.Take() + "\n\n";
}

StreamSink::StreamSink(net::Responder& res, Api api, const std::string& id, int64_t created,
                       const std::string& model)
    : res_(res), api_(api), id_(id), created_(created), model_(model) {
  std::string tail;
  if (api == Api::kChat) {
    // Chunk fields in llama-server's order (1.6 step 2, observed).
    tail = fmt::format(R"(,"created":{},"id":"{}","model":)", created, id);
    AppendJsonString(&tail, model);
    tail += fmt::format(R"(,"system_fingerprint":"{}","object":"chat.completion.chunk"}})",
                        kFingerprint);
    role_ =
        R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}])" +
        tail + "\n\n";
    before_ = R"(data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":)";
    after_ = "}}]" + tail + "\n\n";
  } else if (api == Api::kCompletion) {
    before_ = R"(data: {"choices":[{"text":)";
    after_ = fmt::format(
        R"(,"index":0,"logprobs":null,"finish_reason":null}}],"created":{},"model":)", created);
    AppendJsonString(&after_, model);
    after_ += fmt::format(R"(,"system_fingerprint":"{}","object":"text_completion","id":"{}"}})",
                          kFingerprint, id);
    after_ += "\n\n";
  } else {
    before_ = R"(data: {"index":0,"content":)";
    after_ = R"(,"tokens":[],"stop":false,"id_slot":-1,"tokens_predicted":0,"tokens_evaluated":0})"
             "\n\n";
  }
}

asio::awaitable<bool> StreamSink::Token(std::string_view piece, uint64_t index, std::string_view) {
  buffer_.clear();
  if (index == 0 && !role_.empty()) buffer_ += role_;
  if (!piece.empty()) {
    buffer_ += before_;
    AppendJsonString(&buffer_, piece);
    buffer_ += after_;
  }
  if (buffer_.empty()) co_return true;
  co_return co_await res_.WriteChunk(buffer_);
}

asio::awaitable<bool> StreamSink::Ping() {
  co_return co_await res_.WriteChunk(":\n\n");
}

asio::awaitable<bool> StreamSink::Progress(const PromptProgress& progress) {
  buffer_ = ProgressEvent(api_, model_, id_, created_, progress);
  co_return co_await res_.WriteChunk(buffer_);
}

}  // namespace cortex::sim::llama_wire
