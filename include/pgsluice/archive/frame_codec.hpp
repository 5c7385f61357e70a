#pragma once

// Turning payloads into frames and back. Both classes run on the caller's thread and reuse their
// buffers: the engine's workers each hold an encoder (dump) or a decoder (restore), so
// compression and decompression run in parallel while the archive file itself is written or
// read by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/zstd_context.hpp"

namespace pgsluice::archive {

// A growable byte buffer that never zero-fills: resizing a std::string would memset megabytes
// per frame only for zstd to overwrite them.
class ScratchBuffer {
  public:
    // At least `size` writable bytes; the contents are not kept when it grows.
    char* reserve(std::size_t size);
    // The buffer's start (null before the first reserve()).
    char* data() noexcept { return data_.get(); }

  private:
    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
};

// Builds whole frames (header + payload). Move-only; one thread at a time.
class FrameEncoder {
  public:
    // An encoder compressing at zstd `level`; throws UsageError for a level zstd rejects.
    explicit FrameEncoder(int level = default_compression_level);

    // The bytes of one frame carrying `raw`: compressed as one independent zstd frame when that
    // makes it smaller, stored as is otherwise. `final` marks the last frame of a schema or
    // manifest stream; `continued` (version 2, data frames only) a data frame that ends inside a
    // row the unit's next data frame continues. The view stays valid until the next encode().
    // Throws Error if `raw` exceeds max_raw_length (max_footer_raw_length for the footer) or
    // `continued` is set on another type than data.
    std::string_view encode(FrameType type, std::uint32_t unit, std::uint32_t seq,
                            std::uint64_t rows, std::string_view raw, bool final = false,
                            bool continued = false);

    // encode() with the flag bits given: any of flag_final, flag_continued, flag_abandoned
    // (flag_compressed is the encoder's choice and ignored here). Does not check which type may
    // carry which flag: the archive writer and readers do (tests use it to forge frames).
    // Throws Error on an unknown bit or an oversized payload.
    std::string_view encodeWithFlags(FrameType type, std::uint32_t unit, std::uint32_t seq,
                                     std::uint64_t rows, std::string_view raw, std::uint8_t flags);

    // The zstd level in use.
    int level() const noexcept { return compressor_.level(); }

  private:
    ZstdCompressor compressor_;
    ScratchBuffer buffer_;
};

// Verifies and decompresses frames. Move-only; one thread at a time (a restore worker each).
class FrameDecoder {
  public:
    // A decoder with its own zstd context; throws Error if it cannot be allocated.
    FrameDecoder() = default;

    // Scratch space of at least `size` bytes where a reader may put a frame's bytes before
    // calling decode(); reused, so valid until the next call to frameBuffer() or decode().
    char* frameBuffer(std::size_t size) { return frame_.reserve(size); }

    // Verifies the checksum over header_bytes[0, 32) and `stored`, then returns the raw payload:
    // `stored` itself when it is not compressed, else the decompressed bytes in this decoder's
    // buffer (valid until the next decode()). `header` must come from decodeFrameHeader() of
    // `header_bytes`. Throws FormatError naming `source`, `offset` and the frame's unit and seq
    // on a checksum mismatch, invalid zstd data or a raw length that differs from the header's.
    std::string_view decode(std::string_view header_bytes, const FrameHeader& header,
                            std::string_view stored, std::string_view source, std::uint64_t offset);

    // The checksum half of decode(): throws the same FormatError on a mismatch or a stored
    // length that differs from the header's. Lets a reader check a frame before it trusts the
    // header's lengths enough to allocate for decompression.
    void verify(std::string_view header_bytes, const FrameHeader& header, std::string_view stored,
                std::string_view source, std::uint64_t offset) const;

  private:
    ZstdDecompressor decompressor_;
    ScratchBuffer frame_;
    ScratchBuffer raw_;
};

}  // namespace pgsluice::archive
