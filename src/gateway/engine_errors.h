// Engine errors in OpenAI's shape.
//
// llama-server answers `{"error":{"code":400,"message":...,"type":"exceed_context_size_error",
// ...}}`, vLLM `{"error":{"message":...,"type":"BadRequestError","param":null,"code":400}}`, or
// `{"error":"Unauthorized"}`, or FastAPI's `{"detail":"Not Found"}`. Clients of the gateway get
// one shape whatever the engine: `{"error":{"message","type","param","code"}}` with OpenAI's
// snake_case types, `code` a string or null (a context overflow is "context_length_exceeded"
// with param "messages", as OpenAI reports it). Fields an engine adds (llama.cpp's
// n_prompt_tokens and n_ctx) are kept.
#pragma once

#include <string>
#include <string_view>

#include "net/http_server.h"

namespace cortex::gateway {

// Rewrites an engine's error body (any of the shapes above, or anything else) for `status`.
std::string NormalizeEngineError(int status, std::string_view body, std::string_view engine);

// An OpenAI-shaped error body (net::OpenAiErrorBody; the gateway's name for it).
inline std::string ErrorBody(std::string_view message, std::string_view type,
                             std::string_view code = {}, std::string_view param = {}) {
  return net::OpenAiErrorBody(message, type, code, param);
}

}  // namespace cortex::gateway
