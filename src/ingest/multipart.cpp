#include "ingest/multipart.h"

#include <cstdio>
#include <cstring>
#include <utility>

namespace cortex::ingest {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back()))
    s.remove_suffix(1);
  return s;
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

struct Parameter {
  std::string name;  // lowercase
  std::string value;
};

// The value part of a header: "type; a=b; c=\"d\"". Splits off the leading type (trimmed) and
// the parameters. nullopt when a parameter has no `=` or a quoted value is unterminated.
struct HeaderValue {
  std::string_view type;
  std::vector<Parameter> params;
};

std::optional<HeaderValue> ParseHeaderValue(std::string_view value) {
  HeaderValue out;
  size_t semi = value.find(';');
  out.type = Trim(value.substr(0, semi));
  size_t i = semi == std::string_view::npos ? value.size() : semi + 1;
  while (i < value.size()) {
    while (i < value.size() && (IsSpace(value[i]) || value[i] == ';'))
      ++i;
    if (i == value.size()) break;
    size_t eq = value.find('=', i);
    size_t next_semi = value.find(';', i);
    if (eq == std::string_view::npos || (next_semi != std::string_view::npos && next_semi < eq)) {
      return std::nullopt;
    }
    Parameter param;
    for (char c : Trim(value.substr(i, eq - i)))
      param.name.push_back(Lower(c));
    if (param.name.empty()) return std::nullopt;
    i = eq + 1;
    while (i < value.size() && IsSpace(value[i]))
      ++i;
    if (i < value.size() && value[i] == '"') {
      ++i;
      bool closed = false;
      while (i < value.size()) {
        char c = value[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        // Only \" and \\ are escapes: browsers send `C:\dir\x.zip` with bare backslashes.
        if (c == '\\' && i < value.size() && (value[i] == '"' || value[i] == '\\')) c = value[i++];
        param.value.push_back(c);
      }
      if (!closed) return std::nullopt;
      // Whatever follows the closing quote up to the next `;` must be blank.
      while (i < value.size() && IsSpace(value[i]))
        ++i;
      if (i < value.size() && value[i] != ';') return std::nullopt;
    } else {
      size_t end = value.find(';', i);
      if (end == std::string_view::npos) end = value.size();
      param.value = std::string(Trim(value.substr(i, end - i)));
      i = end;
    }
    out.params.push_back(std::move(param));
  }
  return out;
}

// The first parameter called `name` (lowercase), or nullptr.
const std::string* FindParameter(const HeaderValue& value, std::string_view name) {
  for (const Parameter& p : value.params)
    if (p.name == name) return &p.value;
  return nullptr;
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  std::optional<HeaderValue> value = ParseHeaderValue(content_type);
  if (!value || !EqualsIgnoreCase(value->type, "multipart/form-data")) return std::nullopt;
  const std::string* boundary = FindParameter(*value, "boundary");
  if (boundary == nullptr || boundary->empty() || boundary->size() > 70) return std::nullopt;
  // A control byte (CR, LF above all) could never be matched on a delimiter line.
  for (char c : *boundary)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      return std::nullopt;
  return *boundary;
}

MultipartReader::MultipartReader(std::string boundary, Callbacks cb, size_t max_header_bytes)
    : boundary_(std::move(boundary)),
      delimiter_("\r\n--" + boundary_),
      border_(delimiter_.size() + 1, 0),
      cb_(std::move(cb)),
      max_header_bytes_(max_header_bytes) {
  // border_[m] for m >= 2, by the usual KMP recurrence over prefix lengths.
  size_t k = 0;
  for (size_t m = 2; m <= delimiter_.size(); ++m) {
    while (k > 0 && delimiter_[m - 1] != delimiter_[k])
      k = border_[k];
    if (delimiter_[m - 1] == delimiter_[k]) ++k;
    border_[m] = k;
  }
}

Status MultipartReader::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

Status MultipartReader::Garbage(char byte) const {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned char>(byte));
  return Status::InvalidArgument("multipart body: unexpected byte " + std::string(hex) +
                                 " after boundary " + Quoted("--" + boundary_) +
                                 " (expected CRLF or \"--\")");
}

Status MultipartReader::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  size_t pos = 0;
  while (pos < bytes.size()) {
    switch (state_) {
      case State::kPreamble:
      case State::kData: {
        bool found = false;
        Status s = ScanForDelimiter(bytes, &pos, &found);
        if (!s.ok()) return Fail(std::move(s));
        if (!found) break;
        if (state_ == State::kData && cb_.on_part_end) {
          s = cb_.on_part_end();
          if (!s.ok()) return Fail(std::move(s));
        }
        state_ = State::kAfterBoundary;
        break;
      }
      case State::kAfterBoundary:
      case State::kPadding: {
        char c = bytes[pos++];
        if (c == '-' && state_ == State::kAfterBoundary) {
          state_ = State::kCloseDash;
        } else if (IsSpace(c)) {
          state_ = State::kPadding;
        } else if (c == '\r') {
          state_ = State::kExpectLf;
        } else {
          return Fail(Garbage(c));
        }
        break;
      }
      case State::kCloseDash: {
        char c = bytes[pos++];
        if (c != '-') return Fail(Garbage(c));
        state_ = State::kEpilogue;
        break;
      }
      case State::kExpectLf: {
        char c = bytes[pos++];
        if (c != '\n') return Fail(Garbage(c));
        headers_.clear();
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        Status s = ReadHeaders(bytes, &pos);
        if (!s.ok()) return Fail(std::move(s));
        break;
      }
      case State::kEpilogue:
        pos = bytes.size();
        break;
    }
  }
  return Status::Ok();
}

Status MultipartReader::ScanForDelimiter(std::string_view bytes, size_t* pos, bool* found) {
  const bool emit = state_ == State::kData && cb_.on_data;
  const size_t n = delimiter_.size();
  size_t m = matched_;
  // Of the m matched bytes, how many came before this call (from an earlier Feed). They are
  // always the leading ones, and are delimiter_[0, carried) by definition.
  size_t carried = m;
  size_t start = *pos;  // bytes[start, j - (m - carried)) is data not yet passed on
  size_t j = *pos;
  while (j < bytes.size()) {
    if (m == 0) {
      // Nothing matched: skip straight to the next CR, the only byte that can start a match.
      const void* cr = std::memchr(bytes.data() + j, '\r', bytes.size() - j);
      if (cr == nullptr) {
        j = bytes.size();
        break;
      }
      j = static_cast<size_t>(static_cast<const char*>(cr) - bytes.data());
    }
    const char c = bytes[j];
    const size_t before = m;
    while (m > 0 && delimiter_[m] != c)
      m = border_[m];
    if (delimiter_[m] == c) ++m;
    ++j;
    // The matched bytes plus c, less what is still matched, turned out to be data. Those that
    // came from an earlier Feed are not in `bytes`: pass them on from delimiter_, whose prefix
    // they are. (Nothing of `bytes` is pending while carried > 0, so the order holds.)
    const size_t released = before + 1 - m;
    const size_t released_carried = released < carried ? released : carried;
    if (released_carried > 0) {
      carried -= released_carried;
      if (emit) {
        Status s = cb_.on_data(std::string_view(delimiter_).substr(0, released_carried));
        if (!s.ok()) return s;
      }
    }
    if (m == n) {
      const size_t data_end = j - (m - carried);
      if (emit && data_end > start) {
        Status s = cb_.on_data(bytes.substr(start, data_end - start));
        if (!s.ok()) return s;
      }
      matched_ = 0;
      *pos = j;
      *found = true;
      return Status::Ok();
    }
  }
  const size_t data_end = j - (m - carried);
  if (emit && data_end > start) {
    Status s = cb_.on_data(bytes.substr(start, data_end - start));
    if (!s.ok()) return s;
  }
  matched_ = m;
  *pos = j;
  return Status::Ok();
}

Status MultipartReader::ReadHeaders(std::string_view bytes, size_t* pos) {
  while (*pos < bytes.size()) {
    const char c = bytes[(*pos)++];
    const bool after_cr = !headers_.empty() && headers_.back() == '\r';
    if (c == '\n' && !after_cr) {
      return Status::InvalidArgument("multipart body: a part's header line ends in LF without CR");
    }
    if (c != '\n' && after_cr) {
      return Status::InvalidArgument("multipart body: a part's header line has a CR without LF");
    }
    headers_.push_back(c);
    if (headers_.size() > max_header_bytes_) {
      return Status::InvalidArgument("multipart body: a part's headers exceed " +
                                     std::to_string(max_header_bytes_) + " bytes");
    }
    if (c == '\n' && (headers_.size() == 2 || headers_.ends_with("\r\n\r\n"))) {
      Status s = ParseHeaders();
      if (!s.ok()) return s;
      state_ = State::kData;
      matched_ = 0;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status MultipartReader::ParseHeaders() {
  // Unfold: each header is a line, plus the lines after it that start with a space or tab.
  std::vector<std::string> lines;
  std::string_view block(headers_);
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol + 2);
    if (line.empty()) break;
    if (IsSpace(line.front())) {
      if (lines.empty()) {
        return Status::InvalidArgument(
            "multipart body: a part's first header line starts with whitespace");
      }
      lines.back() += " ";
      lines.back() += Trim(line);
    } else {
      lines.emplace_back(line);
    }
  }

  MultipartPartHeaders part;
  bool has_disposition = false;
  for (const std::string& line : lines) {
    size_t colon = line.find(':');
    std::string_view name = colon == std::string::npos
                                ? std::string_view()
                                : Trim(std::string_view(line).substr(0, colon));
    if (name.empty()) {
      return Status::InvalidArgument("multipart body: malformed part header line " +
                                     Quoted(line.substr(0, 80)));
    }
    std::string_view value = Trim(std::string_view(line).substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Disposition")) {
      std::optional<HeaderValue> parsed = ParseHeaderValue(value);
      if (!parsed || !EqualsIgnoreCase(parsed->type, "form-data")) {
        return Status::InvalidArgument("multipart body: Content-Disposition " +
                                       Quoted(value.substr(0, 200)) +
                                       " is not `form-data; name=\"...\"`");
      }
      has_disposition = true;
      if (const std::string* n = FindParameter(*parsed, "name")) part.name = *n;
      if (const std::string* f = FindParameter(*parsed, "filename")) part.filename = *f;
    } else if (EqualsIgnoreCase(name, "Content-Type")) {
      part.content_type = std::string(value);
    }
  }
  if (!has_disposition) {
    return Status::InvalidArgument("multipart body: a part has no Content-Disposition header");
  }
  if (part.name.empty()) {
    return Status::InvalidArgument(
        "multipart body: a part's Content-Disposition has no name parameter");
  }
  part_name_ = part.name;
  if (cb_.on_part) return cb_.on_part(part);
  return Status::Ok();
}

Status MultipartReader::Finish() {
  if (!error_.ok()) return error_;
  if (state_ == State::kEpilogue) return Status::Ok();
  std::string where;
  switch (state_) {
    case State::kPreamble:
      where = "no boundary was seen";
      break;
    case State::kHeaders:
      where = "it ended inside the headers of a part";
      break;
    case State::kData:
      where = "it ended inside part " + Quoted(part_name_);
      break;
    default:
      where = "it ended on a boundary line";
      break;
  }
  return Fail(Status::InvalidArgument("multipart body has no closing boundary " +
                                      Quoted("--" + boundary_ + "--") + ": " + where));
}

}  // namespace cortex::ingest
