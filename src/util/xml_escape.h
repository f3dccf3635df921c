// XmlEscape: text made safe for XML/SVG character data and double-quoted attributes (&, <, >
// and " become entities), for the plan's SVG and the packed prompt's <file path="..."> headers.
#pragma once

#include <string>
#include <string_view>

namespace cortex {

std::string XmlEscape(std::string_view s);

}  // namespace cortex
