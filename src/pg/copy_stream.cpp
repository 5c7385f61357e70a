#include "pgsluice/pg/copy_stream.hpp"

#include <fmt/format.h>

namespace pgsluice::pg {

CopyOut::CopyOut(Connection& conn, const std::string& sql) : conn_(conn) {
    Result res(PQexec(conn_.conn_, sql.c_str()));
    if (res.status() != PGRES_COPY_OUT) {
        conn_.fail(fmt::format("`{}`", sql), res.get());
    }
}

CopyOut::~CopyOut() {
    if (buffer_) {
        PQfreemem(buffer_);
    }
}

std::optional<std::string_view> CopyOut::next() {
    if (done_) {
        return std::nullopt;
    }
    if (buffer_) {
        PQfreemem(buffer_);
        buffer_ = nullptr;
    }
    int n = PQgetCopyData(conn_.conn_, &buffer_, 0);
    if (n > 0) {
        return std::string_view(buffer_, static_cast<size_t>(n));
    }
    if (n == 0) {
        // Only in async mode, which this stream never asks for.
        throw Error("internal error: PQgetCopyData returned 0 on a blocking connection");
    }
    if (n == -2) {
        conn_.fail("reading COPY data", nullptr);
    }
    // n == -1: the COPY is over; its final result says whether it succeeded.
    done_ = true;
    Result res(PQgetResult(conn_.conn_));
    conn_.drainResults();
    if (res.status() != PGRES_COMMAND_OK) {
        conn_.fail("COPY TO STDOUT", res.get());
    }
    return std::nullopt;
}

CopyIn::CopyIn(Connection& conn, const std::string& sql) : conn_(conn) {
    Result res(PQexec(conn_.conn_, sql.c_str()));
    if (res.status() != PGRES_COPY_IN) {
        conn_.fail(fmt::format("`{}`", sql), res.get());
    }
}

void CopyIn::write(std::string_view bytes) {
    // libpq copies what it is given into its output buffer before sending it: in slices, a
    // huge row never needs a second copy of itself in memory (nor an int-sized length).
    constexpr size_t kSlice = size_t{1} << 20;
    for (size_t at = 0; at < bytes.size(); at += kSlice) {
        std::string_view slice = bytes.substr(at, kSlice);
        if (PQputCopyData(conn_.conn_, slice.data(), static_cast<int>(slice.size())) != 1) {
            // The server usually ended the COPY with an error: its message is in the final
            // result.
            Result res(PQgetResult(conn_.conn_));
            conn_.fail("sending COPY data",
                       res.get() && res.status() == PGRES_FATAL_ERROR ? res.get() : nullptr);
        }
    }
}

void CopyIn::finish() {
    if (done_) {
        return;
    }
    done_ = true;
    if (PQputCopyEnd(conn_.conn_, nullptr) != 1) {
        conn_.fail("ending COPY", nullptr);
    }
    Result res(PQgetResult(conn_.conn_));
    conn_.drainResults();
    if (res.status() != PGRES_COMMAND_OK) {
        conn_.fail("COPY FROM STDIN", res.get());
    }
    rows_ = res.affectedRows();
}

}  // namespace pgsluice::pg
