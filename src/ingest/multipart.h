// MultipartReader: a streaming parser for multipart/form-data request bodies (RFC 7578, framed
// as in RFC 2046 section 5.1.1), so an upload of any size passes through without being held in
// memory.
//
// The body is fed in chunks of any size, down to one byte. The reader calls back as it goes:
// on_part when a part's headers are complete, on_data with the part's bytes in pieces of any
// size (never with the CRLF that precedes the next boundary), on_part_end when the part's data
// ends. Between Feed calls it keeps at most the boundary's length of undecided data (bytes that
// could still be the start of a delimiter) plus one part's headers (bounded by
// max_header_bytes).
//
// Framing: the preamble before the first `--boundary` line and the epilogue after the closing
// `--boundary--` are ignored. A delimiter line may carry trailing spaces or tabs before its CRLF;
// anything else after the boundary is an error. Lines end in CRLF; a bare CR or LF in a part's
// headers is an error. Header folding (a line starting with a space or tab) is accepted.
//
// The first error (malformed input, or a non-OK Status returned by a callback) stops the reader:
// that Feed and every later Feed or Finish return it, and no further callbacks run.
//
// Not thread-safe: one request's body is fed from one thread of control.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace cortex::ingest {

// The boundary from a Content-Type value such as `multipart/form-data; boundary="abc"` (media
// type and parameter names case-insensitive, the value a token or a quoted string). nullopt when
// the media type is not multipart/form-data, the boundary is absent, or it is not 1 to 70
// printable ASCII characters (RFC 2046's limit).
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// A part's headers, from its Content-Disposition (`form-data; name="file"; filename="x.zip"`)
// and Content-Type. filename and content_type are empty when the part has none; quoted values
// are unquoted (`\"` and `\\` unescaped, any other backslash kept, since browsers send Windows
// paths unescaped).
struct MultipartPartHeaders {
  std::string name;
  std::string filename;
  std::string content_type;
};

class MultipartReader {
 public:
  // Any callback may be empty (nothing to do). A non-OK Status from one stops the reader with
  // that Status.
  struct Callbacks {
    std::function<Status(const MultipartPartHeaders&)> on_part;  // a part begins
    std::function<Status(std::string_view)> on_data;             // bytes of the current part
    std::function<Status()> on_part_end;                         // the current part is complete
  };

  // REQUIRES: boundary is not empty (MultipartBoundary's result qualifies).
  MultipartReader(std::string boundary, Callbacks cb, size_t max_header_bytes = 16 * 1024);
  MultipartReader(const MultipartReader&) = delete;
  MultipartReader& operator=(const MultipartReader&) = delete;

  // Consumes the next bytes of the body. InvalidArgument when they break the format: a part's
  // header block (its lines and the blank line ending them) longer than max_header_bytes, a
  // part without a Content-Disposition of type form-data with a non-empty name, a malformed
  // header line, or bytes other than `--`, padding and CRLF after a boundary.
  Status Feed(std::string_view bytes);

  // Declares the body complete. InvalidArgument when the closing boundary was never seen;
  // else OK (or the reader's earlier error).
  Status Finish();

 private:
  enum class State {
    kPreamble,       // before the first delimiter: bytes are discarded
    kAfterBoundary,  // just past `--boundary`: `--`, padding or CRLF follows
    kPadding,        // spaces or tabs after the boundary, before its CRLF
    kCloseDash,      // saw the first `-` of the closing `--`
    kExpectLf,       // saw the CR ending the delimiter line
    kHeaders,        // collecting a part's header block
    kData,           // in a part's data
    kEpilogue,       // past the closing boundary: bytes are discarded
  };

  // Scans bytes[*pos...] for the delimiter, passing data to on_data in kData (discarding it in
  // kPreamble). Sets *found and leaves *pos just past the delimiter when it completes; else
  // consumes everything and remembers how much of the delimiter the tail matched.
  Status ScanForDelimiter(std::string_view bytes, size_t* pos, bool* found);
  // Consumes header bytes up to and including the blank line; calls on_part when it is reached.
  Status ReadHeaders(std::string_view bytes, size_t* pos);
  Status ParseHeaders();
  Status Garbage(char byte) const;
  Status Fail(Status status);

  const std::string boundary_;
  const std::string delimiter_;  // CRLF "--" boundary
  // border_[m]: the length of the longest proper prefix of delimiter_[0, m) that is also its
  // suffix (Knuth-Morris-Pratt), so a failed partial match resumes without looking back at
  // bytes already passed on.
  std::vector<size_t> border_;
  const Callbacks cb_;
  const size_t max_header_bytes_;

  State state_ = State::kPreamble;
  // How many bytes of delimiter_ the bytes seen so far end with. These bytes are not yet passed
  // on; being a prefix of delimiter_, they need no buffer. The body's start counts as a CRLF, so
  // the first delimiter may open the body without one.
  size_t matched_ = 2;
  std::string headers_;    // the current part's header block so far
  std::string part_name_;  // for error messages
  Status error_;
};

}  // namespace cortex::ingest
