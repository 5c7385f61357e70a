#pragma once

// The two ends of a COPY data path. A COPY stream (binary: header, rows, trailer; text: lines)
// travels in chunks cut anywhere; each stage is a source that hands chunks out or a sink that
// takes them, and a sink may wrap another sink (the sanitiser wraps the target's COPY IN, a
// digest wraps whatever it passes the stream on to). The owners live in the module that owns
// the bytes' destination: pg::CopyOut / pg::CopyIn, archive::UnitWriter / archive::UnitReader,
// sanitize::SanitizingSink, copy::DigestSink.

#include <optional>
#include <string_view>

namespace pgsluice::copy {

// Hands out one COPY stream in chunks.
class ChunkSource {
  public:
    virtual ~ChunkSource() = default;

    // The next chunk (valid until the next call), or nothing once the stream ended well. Throws
    // pgsluice::Error when it cannot be read or ended badly.
    virtual std::optional<std::string_view> next() = 0;
};

// Takes one COPY stream in chunks.
class ChunkSink {
  public:
    virtual ~ChunkSink() = default;

    // Takes the next chunk; the sink copies what it keeps. Throws pgsluice::Error.
    virtual void write(std::string_view chunk) = 0;
    // The stream is complete: checks that it ended where a stream may end and passes the end
    // on. Throws pgsluice::Error.
    virtual void finish() = 0;
};

}  // namespace pgsluice::copy
