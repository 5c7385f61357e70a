#pragma once

// Small helpers shared by the reader and the writer; private to src/io.

#include <poll.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace pgsluice::io::detail {

// The text of an errno value ("No space left on device"), thread-safe unlike strerror.
inline std::string errnoText(int error) {
    return std::system_category().message(error);
}

// Blocks until `fd` is ready for `events` (POLLIN or POLLOUT). Called after EAGAIN, which only a
// descriptor in non-blocking mode returns (a stdin/stdout inherited from a parent that set
// O_NONBLOCK): spinning on the retry would burn a core. Returns 0 or an errno.
inline int waitReady(int fd, short events) {
    pollfd entry{fd, events, 0};
    for (;;) {
        const int rc = ::poll(&entry, 1, -1);
        if (rc >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno;
        }
    }
}

}  // namespace pgsluice::io::detail
