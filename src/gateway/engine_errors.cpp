#include "gateway/engine_errors.h"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace cortex::gateway {
namespace {

namespace json = boost::json;

std::string TypeForStatus(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "invalid_request_error";
    case 429:
      return "rate_limit_error";
    case 501:
      return "not_supported_error";
    case 503:
      return "service_unavailable_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

// vLLM's Python exception names and llama.cpp's own types, as OpenAI types.
std::string OpenAiType(std::string_view type, int status) {
  if (type == "BadRequestError" || type == "UnprocessableEntityError" ||
      type == "exceed_context_size_error") {
    return "invalid_request_error";
  }
  if (type == "NotFoundError") return "not_found_error";
  if (type == "InternalServerError") return "server_error";
  if (type == "NotImplementedError") return "not_supported_error";
  if (type == "unavailable_error") return "service_unavailable_error";
  if (type.empty()) return TypeForStatus(status);
  if (type.find("Error") != std::string_view::npos && type.find('_') == std::string_view::npos) {
    return TypeForStatus(status);  // another Python exception name
  }
  return std::string(type);
}

bool IsContextOverflow(std::string_view type, std::string_view message) {
  return type == "exceed_context_size_error" ||
         message.find("maximum context length") != std::string_view::npos ||
         message.find("exceeds the available context size") != std::string_view::npos;
}

}  // namespace

std::string NormalizeEngineError(int status, std::string_view body, std::string_view engine) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    std::string excerpt(body.substr(0, 200));
    return ErrorBody(fmt::format("engine {} answered {}{}{}", engine, status,
                                 excerpt.empty() ? "" : ": ", excerpt),
                     TypeForStatus(status));
  }
  json::object& o = v.as_object();
  if (auto* detail = o.if_contains("detail")) {
    const std::string message =
        detail->is_string() ? std::string(detail->as_string()) : json::serialize(*detail);
    return ErrorBody(message, TypeForStatus(status));
  }
  json::value* error = o.if_contains("error");
  if (error == nullptr) {
    return ErrorBody(fmt::format("engine {} answered {}", engine, status), TypeForStatus(status));
  }
  if (error->is_string()) return ErrorBody(error->as_string(), TypeForStatus(status));
  if (!error->is_object()) return ErrorBody(json::serialize(*error), TypeForStatus(status));

  json::object in = error->as_object();
  const std::string message = in.contains("message") && in["message"].is_string()
                                  ? std::string(in["message"].as_string())
                                  : "";
  const std::string type =
      in.contains("type") && in["type"].is_string() ? std::string(in["type"].as_string()) : "";
  json::object out;
  out["message"] = message;
  out["type"] = OpenAiType(type, status);
  if (IsContextOverflow(type, message)) {
    out["param"] = "messages";
    out["code"] = "context_length_exceeded";
  } else {
    const json::value* param = in.if_contains("param");
    out["param"] = param != nullptr && param->is_string() ? *param : json::value(nullptr);
    const json::value* code = in.if_contains("code");
    out["code"] = code != nullptr && code->is_string() ? *code : json::value(nullptr);
  }
  // Keep what an engine adds (llama.cpp: n_prompt_tokens, n_ctx).
  for (const auto& [key, value] : in) {
    if (!out.contains(key)) out[key] = value;
  }
  return json::serialize(json::object{{"error", std::move(out)}});
}

}  // namespace cortex::gateway
