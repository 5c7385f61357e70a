#pragma once

// Owners of the zstd contexts. A context holds tens of KiB to a few MiB of tables, so each worker
// keeps one and reuses it for every frame instead of paying for a fresh one per call.

#include <cstddef>
#include <string_view>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace pgsluice::archive {

// The level used when the user gives none (--compress zstd). Measured in bench/archive_bench.cpp
// on COPY-like rows (docs/archive-format.md): level 1 compresses about 1.6 times faster than
// level 3 for an archive about 4 % larger, and a dump is more often short of CPU than of disk.
inline constexpr int default_compression_level = 1;

// Owns a ZSTD_CCtx set to one compression level. Move-only; one thread at a time.
class ZstdCompressor {
  public:
    // A context for `level`; throws UsageError if zstd does not accept the level.
    explicit ZstdCompressor(int level);
    ~ZstdCompressor();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    ZstdCompressor(ZstdCompressor&& other) noexcept;
    ZstdCompressor& operator=(ZstdCompressor&& other) noexcept;
    ZstdCompressor(const ZstdCompressor&) = delete;
    ZstdCompressor& operator=(const ZstdCompressor&) = delete;

    // Compresses `input` as one independent zstd frame into out[0, capacity); returns its size,
    // or 0 if it does not fit (the caller then stores the input uncompressed). Throws Error on
    // any other zstd failure.
    std::size_t compress(std::string_view input, char* out, std::size_t capacity);

    // The compression level.
    int level() const noexcept { return level_; }

  private:
    ZSTD_CCtx_s* context_ = nullptr;
    int level_ = 0;
};

// Owns a ZSTD_DCtx. Move-only; one thread at a time.
class ZstdDecompressor {
  public:
    // A fresh context; throws Error if zstd cannot allocate it.
    ZstdDecompressor();
    ~ZstdDecompressor();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    ZstdDecompressor(ZstdDecompressor&& other) noexcept;
    ZstdDecompressor& operator=(ZstdDecompressor&& other) noexcept;
    ZstdDecompressor(const ZstdDecompressor&) = delete;
    ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

    // Decompresses `input` into out[0, capacity); returns the decompressed size, or throws
    // FormatError with zstd's reason if the input is not valid zstd data or would decompress to
    // more than `capacity` bytes.
    std::size_t decompress(std::string_view input, char* out, std::size_t capacity);

  private:
    ZSTD_DCtx_s* context_ = nullptr;
};

}  // namespace pgsluice::archive
