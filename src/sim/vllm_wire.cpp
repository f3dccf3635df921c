#include "sim/vllm_wire.h"

#include <fmt/format.h>

#include "sim/flavor.h"
#include "sim/json_writer.h"

namespace cortex::sim::vllm_wire {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kHex = "0123456789abcdef";

void WriteUsage(JsonWriter& w, uint64_t prompt, uint64_t completion, bool details) {
  w.Key("usage").BeginObject();
  w.Key("prompt_tokens").Uint(prompt).Key("total_tokens").Uint(prompt + completion);
  w.Key("completion_tokens").Uint(completion);
  if (details) w.Key("prompt_tokens_details").Null();
  w.EndObject();
}

}  // namespace

// ErrorInfo.type by status (2.4).
std::string_view ErrorType(int status) {
  switch (status) {
    case 400:
      return "BadRequestError";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFoundError";
    case 422:
      return "UnprocessableEntityError";
    case 429:
      return "Too Many Requests";
    case 500:
      return "InternalServerError";
    case 501:
      return "NotImplementedError";
    case 503:
      return "Service Unavailable";
    default:
      return "InternalServerError";
  }
}

// {"error":{"message","type","param":null,"code"}}, vLLM >= 0.10.1 (2.4).
std::string ErrorBody(int code, std::string_view message, std::string_view type) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Key("message").String(message).Key("type").String(type).Key("param").Null();
  w.Key("code").Int(code);
  w.EndObject().EndObject();
  return w.Take();
}

// A pydantic validation error list as FastAPI's RequestValidationError prints it, which vLLM
// turns into a 400 BadRequestError (3.7 "Malformed JSON").
std::string ValidationMessage(std::string_view type, std::string_view loc, std::string_view msg,
                              std::string_view extra) {
  return fmt::format("[{{'type': '{}', 'loc': ('body', {}), 'msg': '{}', 'input': {{}}{}}}]", type,
                     loc, msg, extra);
}

std::string ModelsBody(const VllmModel& model, uint64_t seed) {
  // 2.2: one entry per served name, with max_model_len and vLLM's permission object.
  JsonWriter w;
  const int64_t created = UnixNow();
  w.BeginObject().Key("object").String("list").Key("data").BeginArray();
  for (const std::string& name : model.served_names) {
    w.BeginObject().Key("id").String(name).Key("object").String("model");
    w.Key("created").Int(created).Key("owned_by").String("vllm");
    w.Key("root").String(model.model).Key("parent").Null();
    w.Key("max_model_len").Uint(model.plan.max_model_len);
    w.Key("permission").BeginArray().BeginObject();
    w.Key("id").String("modelperm-" + RandomId(seed, 7, 32, kHex));
    w.Key("object").String("model_permission").Key("created").Int(created);
    w.Key("allow_create_engine").Bool(false).Key("allow_sampling").Bool(true);
    w.Key("allow_logprobs").Bool(true).Key("allow_search_indices").Bool(false);
    w.Key("allow_view").Bool(true).Key("allow_fine_tuning").Bool(false);
    w.Key("organization").String("*").Key("group").Null().Key("is_blocking").Bool(false);
    w.EndObject().EndArray().EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

std::string FinalBody(const std::string& served_name, const CompletionCall& call,
                      const GenerationOutcome& out, const std::string& id, int64_t created) {
  JsonWriter w;
  w.BeginObject().Key("id").String(id);
  w.Key("object").String(call.api == Api::kChat ? "chat.completion" : "text_completion");
  w.Key("created").Int(created).Key("model").String(served_name);
  w.Key("choices").BeginArray().BeginObject().Key("index").Int(0);
  if (call.api == Api::kChat) {
    w.Key("message").BeginObject().Key("role").String("assistant").Key("content").String(out.text);
    w.Key("refusal").Null().Key("annotations").Null().Key("audio").Null();
    w.Key("function_call").Null().Key("tool_calls").BeginArray().EndArray();
    w.Key("reasoning_content").Null().EndObject();
    w.Key("logprobs").Null().Key("finish_reason").String(FinishReason(out.end));
    w.Key("stop_reason").Null();
  } else {
    w.Key("text").String(out.text).Key("logprobs").Null();
    w.Key("finish_reason").String(FinishReason(out.end)).Key("stop_reason").Null();
    w.Key("prompt_logprobs").Null();
  }
  w.EndObject().EndArray();
  w.Key("service_tier").Null().Key("system_fingerprint").Null();
  WriteUsage(w, call.n_prompt_tokens, out.n_tokens, true);
  if (call.api == Api::kChat) w.Key("prompt_logprobs").Null();
  w.Key("kv_transfer_params").Null();
  w.EndObject();
  return w.Take();
}

std::string UsageChunk(const std::string& served_name, const CompletionCall& call,
                       const GenerationOutcome& out, const std::string& id, int64_t created) {
  JsonWriter w;
  w.BeginObject().Key("id").String(id);
  w.Key("object").String(call.api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  w.Key("created").Int(created).Key("model").String(served_name);
  w.Key("choices").BeginArray().EndArray();
  WriteUsage(w, call.n_prompt_tokens, out.n_tokens, false);
  w.EndObject();
  return w.Take();
}

StreamSink::StreamSink(net::Responder& res, Api api, const std::string& id, int64_t created,
                       const std::string& model)
    : res_(res) {
  std::string head =
      fmt::format(R"(data: {{"id":"{}","object":"{}","created":{},"model":)", id,
                  api == Api::kChat ? "chat.completion.chunk" : "text_completion", created);
  AppendJsonString(&head, model);
  head += R"(,"choices":[{"index":0,)";
  if (api == Api::kChat) {
    role_ = head +
            R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})"
            "\n\n";
    before_ = head + R"("delta":{"content":)";
    after_ = R"(},"logprobs":null,"finish_reason":null}]})"
             "\n\n";
    after_last_ = R"(},"logprobs":null,"finish_reason":"{}","stop_reason":null}]})"
                  "\n\n";
  } else {
    before_ = head + R"("text":)";
    after_ = R"(,"logprobs":null,"finish_reason":null,"stop_reason":null}]})"
             "\n\n";
    after_last_ = R"(,"logprobs":null,"finish_reason":"{}","stop_reason":null}]})"
                  "\n\n";
  }
}

asio::awaitable<bool> StreamSink::Token(std::string_view piece, uint64_t index,
                                        std::string_view finish) {
  const bool last = !finish.empty();
  buffer_.clear();
  if (index == 0) buffer_ += role_;
  if (!piece.empty() || last) {
    buffer_ += before_;
    AppendJsonString(&buffer_, piece);
    if (last) {
      const size_t at = after_last_.find("{}");
      buffer_.append(after_last_, 0, at);
      buffer_ += finish;
      buffer_.append(after_last_, at + 2);
    } else {
      buffer_ += after_;
    }
  }
  if (buffer_.empty()) co_return true;
  co_return co_await res_.WriteChunk(buffer_);
}

}  // namespace cortex::sim::vllm_wire
