#include "pgsluice/archive/archive_input.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "pgsluice/error.hpp"
#include "pgsluice/io/file_descriptor.hpp"
#include "pgsluice/io/file_reader.hpp"

namespace pgsluice::archive {

ArchiveInput ArchiveInput::open(const std::string& path, io::IoMode mode, Access access,
                                const std::string& what) {
    ArchiveInput in;
    if (path == "-") {
        if (::isatty(STDIN_FILENO)) {
            throw UsageError(fmt::format(
                "standard input is a terminal: give -f FILE, or pipe an archive in ({})", what));
        }
        in.stream.emplace(io::FileReader(io::FileDescriptor::borrow(0), "standard input", mode));
        in.name = in.stream->name();
        return in;
    }
    io::FileReader input = io::FileReader::open(path, mode);
    in.size = input.size().value_or(0);
    if (access == Access::best && input.seekable()) {
        in.file.emplace(std::move(input));
        in.name = in.file->name();
    } else {
        in.stream.emplace(std::move(input));
        in.name = in.stream->name();
    }
    return in;
}

}  // namespace pgsluice::archive
