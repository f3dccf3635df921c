#include "sim/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cortex::sim {
namespace {

TEST(JsonWriterTest, WritesFieldsInOrderWithCommas) {
  JsonWriter w;
  w.BeginObject().Key("b").Int(1).Key("a").BeginArray().String("x").Null().Bool(true).EndArray();
  w.Key("o").BeginObject().EndObject().EndObject();
  EXPECT_EQ(w.str(), R"({"b":1,"a":["x",null,true],"o":{}})");
}

TEST(JsonWriterTest, DoublesNeverLookLikeIntegers) {
  JsonWriter w;
  w.BeginArray().Double(0).Double(2.5).Double(1e6).Double(-3).EndArray();
  const boost::json::value v = boost::json::parse(w.str());
  for (const auto& x : v.as_array())
    EXPECT_TRUE(x.is_double()) << w.str();
}

TEST(JsonWriterTest, EscapesStrings) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
  EXPECT_EQ(boost::json::parse(out).as_string(), "a\"b\\c\nd\x01");
}

}  // namespace
}  // namespace cortex::sim
