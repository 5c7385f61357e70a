#include "pgsluice/archive/zstd_context.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <string>
#include <utility>

#include "pgsluice/error.hpp"

namespace pgsluice::archive {

namespace {

void checkParameter(std::size_t rc, const char* what) {
    if (ZSTD_isError(rc)) {
        throw Error(std::string{"zstd: cannot set "} + what + ": " + ZSTD_getErrorName(rc));
    }
}

}  // namespace

ZstdCompressor::ZstdCompressor(int level) : level_(level) {
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        throw UsageError("--compress: zstd level " + std::to_string(level) +
                         " is out of range; use 1 (fastest) to " +
                         std::to_string(ZSTD_maxCLevel()) + " (smallest), or a negative level " +
                         "down to " + std::to_string(ZSTD_minCLevel()) + " for more speed");
    }
    context_ = ZSTD_createCCtx();
    if (context_ == nullptr) {
        throw Error("zstd: cannot allocate a compression context (out of memory)");
    }
    try {
        checkParameter(ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, level),
                       "the compression level");
        // The frame checksum covers the stored bytes already; zstd's own would add 4 bytes and a
        // hash of every raw byte. The content size lets a decoder check the raw length.
        checkParameter(ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 0), "checksumFlag");
        checkParameter(ZSTD_CCtx_setParameter(context_, ZSTD_c_contentSizeFlag, 1),
                       "contentSizeFlag");
    } catch (...) {
        ZSTD_freeCCtx(context_);
        throw;
    }
}

ZstdCompressor::~ZstdCompressor() {
    ZSTD_freeCCtx(context_);
}

ZstdCompressor::ZstdCompressor(ZstdCompressor&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)), level_(other.level_) {}

ZstdCompressor& ZstdCompressor::operator=(ZstdCompressor&& other) noexcept {
    if (this != &other) {
        ZSTD_freeCCtx(context_);
        context_ = std::exchange(other.context_, nullptr);
        level_ = other.level_;
    }
    return *this;
}

std::size_t ZstdCompressor::compress(std::string_view input, char* out, std::size_t capacity) {
    const std::size_t rc = ZSTD_compress2(context_, out, capacity, input.data(), input.size());
    if (ZSTD_isError(rc)) {
        if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall) {
            return 0;
        }
        throw Error(std::string{"zstd compression failed: "} + ZSTD_getErrorName(rc));
    }
    return rc;
}

ZstdDecompressor::ZstdDecompressor() : context_(ZSTD_createDCtx()) {
    if (context_ == nullptr) {
        throw Error("zstd: cannot allocate a decompression context (out of memory)");
    }
}

ZstdDecompressor::~ZstdDecompressor() {
    ZSTD_freeDCtx(context_);
}

ZstdDecompressor::ZstdDecompressor(ZstdDecompressor&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)) {}

ZstdDecompressor& ZstdDecompressor::operator=(ZstdDecompressor&& other) noexcept {
    if (this != &other) {
        ZSTD_freeDCtx(context_);
        context_ = std::exchange(other.context_, nullptr);
    }
    return *this;
}

std::size_t ZstdDecompressor::decompress(std::string_view input, char* out, std::size_t capacity) {
    // One-shot decompression writes straight into `out` and allocates no window buffer, so a
    // hostile frame header cannot make it reserve more than the caller already bounded.
    const std::size_t rc = ZSTD_decompressDCtx(context_, out, capacity, input.data(), input.size());
    if (ZSTD_isError(rc)) {
        throw FormatError(std::string{"zstd cannot decompress it: "} + ZSTD_getErrorName(rc));
    }
    return rc;
}

}  // namespace pgsluice::archive
