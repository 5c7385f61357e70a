#pragma once

// COPY streams as owners, after libpqxx's stream_from / stream_to: one object per COPY, every
// libpq result spelled out, the buffers libpq hands over freed exactly once. A stream that is
// abandoned (an exception before its end) leaves its connection in the middle of a COPY: the
// connection must then be closed, never used again.

#include <optional>
#include <string>
#include <string_view>

#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::pg {

// `COPY ... TO STDOUT` on a connection, read chunk by chunk.
class CopyOut : public copy::ChunkSource {
  public:
    // Sends `sql`; throws PgError when the server does not start the COPY.
    CopyOut(Connection& conn, const std::string& sql);
    ~CopyOut() override;
    CopyOut(const CopyOut&) = delete;
    CopyOut& operator=(const CopyOut&) = delete;

    // The next CopyData message (owned by this object, valid until the next call), or nothing
    // once the COPY ended and its final result said it succeeded. Throws PgError otherwise.
    std::optional<std::string_view> next() override;

  private:
    Connection& conn_;
    char* buffer_ = nullptr;  // the last PQgetCopyData buffer, freed on the next call
    bool done_ = false;
};

// `COPY ... FROM STDIN` on a connection, written chunk by chunk.
class CopyIn : public copy::ChunkSink {
  public:
    // Sends `sql`; throws PgError when the server does not start the COPY.
    CopyIn(Connection& conn, const std::string& sql);
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;

    // Sends bytes of COPY data; throws PgError with the server's message when it refused them.
    void write(std::string_view bytes) override;
    // Ends the COPY and checks its result; throws PgError (the server's message: a bad row, a
    // constraint) when it failed.
    void finish() override;
    // The rows the server loaded, once finish() returned.
    long long rows() const { return rows_; }

  private:
    Connection& conn_;
    long long rows_ = 0;
    bool done_ = false;
};

}  // namespace pgsluice::pg
