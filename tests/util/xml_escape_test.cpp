#include "util/xml_escape.h"

#include <gtest/gtest.h>

namespace cortex {
namespace {

TEST(XmlEscapeTest, ReplacesMarkupCharactersAndKeepsTheRest) {
  EXPECT_EQ(XmlEscape(R"(a<b>&"c" é)"), "a&lt;b&gt;&amp;&quot;c&quot; é");
  EXPECT_EQ(XmlEscape(""), "");
}

}  // namespace
}  // namespace cortex
