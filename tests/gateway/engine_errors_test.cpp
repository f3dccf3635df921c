#include "gateway/engine_errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cortex::gateway {
namespace {

boost::json::object Error(const std::string& body) {
  const auto v = boost::json::parse(body);
  return v.at("error").as_object();
}

TEST(EngineErrorsTest, LlamaContextOverflowBecomesOpenAisContextLengthExceeded) {
  const auto e = Error(NormalizeEngineError(
      400,
      R"({"error":{"code":400,"message":"request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}})",
      "deep"));
  EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(e.at("code").as_string(), "context_length_exceeded");
  EXPECT_EQ(e.at("param").as_string(), "messages");
  EXPECT_EQ(e.at("n_prompt_tokens").as_int64(), 5000);
  EXPECT_EQ(e.at("n_ctx").as_int64(), 4096);
}

TEST(EngineErrorsTest, VllmPythonExceptionNamesBecomeOpenAiTypes) {
  auto e = Error(NormalizeEngineError(
      404,
      R"({"error":{"message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}})",
      "fast"));
  EXPECT_EQ(e.at("type").as_string(), "not_found_error");
  EXPECT_TRUE(e.at("code").is_null());
  e = Error(NormalizeEngineError(
      400,
      R"({"error":{"message":"This model's maximum context length is 2048 tokens.","type":"BadRequestError","param":null,"code":400}})",
      "fast"));
  EXPECT_EQ(e.at("code").as_string(), "context_length_exceeded");
  e = Error(NormalizeEngineError(401, R"({"error":"Unauthorized"})", "fast"));
  EXPECT_EQ(e.at("type").as_string(), "authentication_error");
  EXPECT_EQ(e.at("message").as_string(), "Unauthorized");
  e = Error(NormalizeEngineError(404, R"({"detail":"Not Found"})", "fast"));
  EXPECT_EQ(e.at("type").as_string(), "not_found_error");
}

TEST(EngineErrorsTest, AnythingElseStillBecomesAnError) {
  const auto e = Error(NormalizeEngineError(502, "<html>bad gateway</html>", "x"));
  EXPECT_EQ(e.at("type").as_string(), "server_error");
  EXPECT_NE(e.at("message").as_string().find("engine x answered 502"), std::string::npos);
  const auto e2 = Error(NormalizeEngineError(
      503, R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})", "x"));
  EXPECT_EQ(e2.at("type").as_string(), "service_unavailable_error");
  EXPECT_TRUE(e2.contains("param"));
}

}  // namespace
}  // namespace cortex::gateway
