// Unit tests of the io module: FileWriter and FileReader with both backends, regular files and
// pipes (blocking and non-blocking), the atomic create/commit, and the error messages.
//
// Every backend-parameterised test runs with plain syscalls; the io_uring instances skip, with
// the probe's reason, where io_uring is unavailable (many containers).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/io/file_reader.hpp"
#include "pgsluice/io/file_writer.hpp"
#include "pgsluice/io/io_mode.hpp"
#include "test_support.hpp"

namespace pgsluice::io {
namespace {

using pgsluice::testing::readWholeFile;
using pgsluice::testing::TempDir;

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.

// Deterministic bytes that are not a repeating pattern, so misplaced chunks show up.
std::string testBytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string out(size, '\0');
    for (char& c : out) {
        c = static_cast<char>(random());
    }
    return out;
}

// Appends `data` in chunks of varied sizes, some larger than the writer's buffers.
void appendInPieces(FileWriter& writer, std::string_view data, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    while (!data.empty()) {
        const std::size_t size = std::min<std::size_t>(data.size(), random() % 20000);
        writer.append(data.substr(0, size));
        data.remove_prefix(size);
    }
}

std::string readAll(FileReader& reader, std::size_t chunk) {
    std::string out;
    std::string buffer(chunk, '\0');
    for (;;) {
        const std::size_t got = reader.read(buffer.data(), buffer.size());
        out.append(buffer.data(), got);
        if (got < buffer.size()) {
            // Fewer than asked means the end: a further read must return nothing.
            EXPECT_EQ(reader.read(buffer.data(), buffer.size()), 0u);
            return out;
        }
    }
}

// Small buffers so that a test of a few hundred KiB keeps several writes in flight, queues
// behind them, and crosses buffer boundaries in every way.
constexpr WriterOptions small_writer{4096, 3};
constexpr ReaderOptions small_reader{4096, 3};

class IoFile : public ::testing::TestWithParam<IoMode> {
  protected:
    void SetUp() override {
        if (GetParam() == IoMode::uring) {
            if (const auto& reason = uringUnavailableReason()) {
                GTEST_SKIP() << "io_uring is unavailable here: " << *reason;
            }
        }
        // A closed pipe must surface as EPIPE, not kill the test binary.
        ::signal(SIGPIPE, SIG_IGN);
    }
    IoMode mode() const { return GetParam(); }
    std::string expectedBackend() const {
        return GetParam() == IoMode::uring ? "io_uring" : "sync";
    }
};

INSTANTIATE_TEST_SUITE_P(IoBackends, IoFile, ::testing::Values(IoMode::sync, IoMode::uring),
                         [](const auto& info) { return std::string{ioModeName(info.param)}; });

// --- modes -----------------------------------------------------------------------------------

TEST(IoMode, ParsesTheThreeSpellings) {
    EXPECT_EQ(parseIoMode("auto"), IoMode::automatic);
    EXPECT_EQ(parseIoMode("uring"), IoMode::uring);
    EXPECT_EQ(parseIoMode("sync"), IoMode::sync);
    for (IoMode mode : {IoMode::automatic, IoMode::uring, IoMode::sync}) {
        EXPECT_EQ(parseIoMode(ioModeName(mode)), mode);
    }
}

TEST(IoMode, RejectsOtherSpellingsNamingTheValidOnes) {
    try {
        parseIoMode("io_uring");
        FAIL() << "no exception";
    } catch (const UsageError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "unknown mode 'io_uring'");
        EXPECT_CONTAINS(std::string{error.what()}, "auto");
        EXPECT_CONTAINS(std::string{error.what()}, "sync");
        EXPECT_EQ(error.code(), ExitCode::usage);
    }
}

TEST(IoMode, AutomaticFollowsTheProbeAndUringFailsWithAdvice) {
    const auto& reason = uringUnavailableReason();
    EXPECT_EQ(chooseBackend(IoMode::sync), Backend::sync);
    if (reason) {
        EXPECT_EQ(chooseBackend(IoMode::automatic), Backend::sync);
        try {
            chooseBackend(IoMode::uring);
            FAIL() << "no exception";
        } catch (const Error& error) {
            EXPECT_CONTAINS(std::string{error.what()}, "use --io sync");
            EXPECT_CONTAINS(std::string{error.what()}, *reason);
        }
    } else {
        EXPECT_EQ(chooseBackend(IoMode::automatic), Backend::uring);
        EXPECT_EQ(chooseBackend(IoMode::uring), Backend::uring);
    }
}

// Forbids io_uring_setup in this process the way container seccomp profiles do (ENOSYS).
bool blockUringSetup() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// The probe runs once per process, so the blocked case runs in a child: this binary again,
// filtered to this test, with an environment variable that makes it the child.
TEST(IoFallback, WithoutUringAutoFallsBackAndUringAdvisesSync) {
    if (std::getenv("PGSLUICE_IO_TEST_BLOCKED_CHILD") == nullptr) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::setenv("PGSLUICE_IO_TEST_BLOCKED_CHILD", "1", 1);
            ::execl("/proc/self/exe", "io_test",
                    "--gtest_filter=IoFallback.WithoutUringAutoFallsBackAndUringAdvisesSync",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's test output above says what failed";
        return;
    }
    if (!blockUringSetup()) {
        GTEST_SKIP() << "cannot install a seccomp filter here";
    }
    const auto& reason = uringUnavailableReason();
    ASSERT_TRUE(reason.has_value());
    EXPECT_CONTAINS(*reason, "io_uring_setup failed: Function not implemented");
    EXPECT_CONTAINS(*reason, "seccomp");
    EXPECT_EQ(chooseBackend(IoMode::automatic), Backend::sync);

    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("fallback.bin");
    {
        FileWriter writer = FileWriter::create(path, IoMode::automatic, small_writer);
        EXPECT_EQ(writer.backendName(), "sync");
        writer.append("still written");
        writer.commit();
    }
    FileReader reader = FileReader::open(path, IoMode::automatic, small_reader);
    EXPECT_EQ(reader.backendName(), "sync");
    EXPECT_EQ(readAll(reader, 100), "still written");
    try {
        FileWriter::create(dir.file("refused.bin"), IoMode::uring);
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()},
                        "--io uring: io_uring is not available here (io_uring_setup failed: "
                        "Function not implemented");
        EXPECT_CONTAINS(std::string{error.what()}, "; use --io sync");
    }
    // Refused before anything was created.
    EXPECT_EQ(dir.list(), std::vector<std::string>{"fallback.bin"});
}

// --- regular files ---------------------------------------------------------------------------

TEST_P(IoFile, RoundTripThroughARegularFile) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("out.bin");
    const std::string data = testBytes(300000, 1);
    {
        FileWriter writer = FileWriter::create(path, mode(), small_writer);
        EXPECT_EQ(writer.backendName(), expectedBackend());
        appendInPieces(writer, data, 2);
        EXPECT_EQ(writer.bytesAppended(), data.size());
        writer.commit();
    }
    EXPECT_EQ(readWholeFile(path), data);

    FileReader reader = FileReader::open(path, mode(), small_reader);
    EXPECT_EQ(reader.backendName(), expectedBackend());
    EXPECT_TRUE(reader.seekable());
    EXPECT_EQ(reader.size(), data.size());
    // Read sizes that are not multiples of the buffer size, so reads straddle buffers.
    EXPECT_EQ(readAll(reader, 1000), data);
    EXPECT_EQ(reader.position(), data.size());
}

TEST_P(IoFile, LargeReadsAndWritesBypassOrSpanBuffers) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("big.bin");
    const std::string data = testBytes(5 * 4096 + 17, 3);
    {
        FileWriter writer = FileWriter::create(path, mode(), small_writer);
        writer.append(std::string_view(data).substr(0, 10));
        writer.append(std::string_view(data).substr(10));  // larger than all buffers together
        writer.commit();
    }
    FileReader reader = FileReader::open(path, mode(), small_reader);
    std::string back(data.size() + 100, '\0');
    EXPECT_EQ(reader.read(back.data(), back.size()), data.size());
    back.resize(data.size());
    EXPECT_EQ(back, data);
}

TEST_P(IoFile, EmptyOutputAndInput) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("empty.bin");
    FileWriter::create(path, mode(), small_writer).commit();
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(fs::file_size(path), 0u);
    FileReader reader = FileReader::open(path, mode(), small_reader);
    char byte = 0;
    EXPECT_EQ(reader.read(&byte, 1), 0u);
    EXPECT_EQ(reader.read(&byte, 1), 0u);
}

TEST_P(IoFile, ReadAtReadsAnyRangeAndStopsAtTheEnd) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("at.bin");
    const std::string data = testBytes(10000, 4);
    {
        FileWriter writer = FileWriter::create(path, mode(), small_writer);
        writer.append(data);
        writer.commit();
    }
    const FileReader reader = FileReader::open(path, mode(), small_reader);
    std::string out(500, '\0');
    EXPECT_EQ(reader.readAt(1234, out.data(), out.size()), 500u);
    EXPECT_EQ(out, data.substr(1234, 500));
    EXPECT_EQ(reader.readAt(9800, out.data(), out.size()), 200u);
    EXPECT_EQ(out.substr(0, 200), data.substr(9800));
    EXPECT_EQ(reader.readAt(20000, out.data(), out.size()), 0u);

    // From several threads at once.
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::string buffer(777, '\0');
            for (std::size_t offset = t; offset + 777 <= data.size(); offset += 301) {
                if (reader.readAt(offset, buffer.data(), buffer.size()) != 777 ||
                    buffer != data.substr(offset, 777)) {
                    ++mismatches;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(mismatches.load(), 0);
}

TEST_P(IoFile, ReaderAndWriterStartAtTheDescriptorsOffset) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("offset.bin");
    {
        std::ofstream out(path, std::ios::binary);
        out << "0123456789";
    }
    const std::string data = testBytes(20000, 5);
    {
        const int fd = ::open(path.c_str(), O_WRONLY);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::lseek(fd, 4, SEEK_SET), 4);
        FileWriter writer(FileDescriptor::borrow(fd), "borrowed", mode(), small_writer);
        appendInPieces(writer, data, 6);
        writer.finish();
        // The descriptor is still open (borrowed) and positioned after our bytes.
        EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), static_cast<off_t>(4 + data.size()));
        EXPECT_EQ(::close(fd), 0);
    }
    EXPECT_EQ(readWholeFile(path), "0123" + data);

    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::lseek(fd, 4, SEEK_SET), 4);
    {
        FileReader reader(FileDescriptor(fd), "owned", mode(), small_reader);
        EXPECT_EQ(readAll(reader, 999), data);
    }
    // Owned: closed by the reader.
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

TEST_P(IoFile, AppendModeDescriptorKeepsTheOrder) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("append.bin");
    {
        std::ofstream out(path, std::ios::binary);
        out << "head";
    }
    const std::string data = testBytes(50000, 7);
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    {
        FileWriter writer(FileDescriptor(fd), "appended", mode(), small_writer);
        appendInPieces(writer, data, 8);
        writer.commit();
    }
    EXPECT_EQ(readWholeFile(path), "head" + data);
}

// --- pipes -----------------------------------------------------------------------------------

struct Pipe {
    int read_end = -1;
    int write_end = -1;
    explicit Pipe(int flags = 0) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | flags) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        read_end = fds[0];
        write_end = fds[1];
    }
};

TEST_P(IoFile, RoundTripThroughAPipe) {
    const std::string data = testBytes(1 << 20, 9);
    Pipe pipe;
    std::string error;
    std::thread producer([&] {
        try {
            FileWriter writer(FileDescriptor(pipe.write_end), "pipe", mode(), small_writer);
            appendInPieces(writer, data, 10);
            writer.commit();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    FileReader reader(FileDescriptor(pipe.read_end), "pipe", mode(), small_reader);
    EXPECT_FALSE(reader.seekable());
    EXPECT_EQ(reader.size(), std::nullopt);
    const std::string back = readAll(reader, 3000);
    producer.join();
    EXPECT_EQ(error, "");
    EXPECT_EQ(back.size(), data.size());
    EXPECT_TRUE(back == data);
}

// The dump's pattern: worker threads append and end while the pipe is full; the main thread
// finishes. io_uring cancels a blocked write whose submitting thread has ended, so each worker
// settles first, and nothing may be lost.
TEST_P(IoFile, WritesOfAnEndedThreadArriveWhenItSettled) {
    const std::string data = testBytes(1 << 20, 11);
    Pipe pipe;
    FileWriter writer(FileDescriptor(pipe.write_end), "pipe", mode(), WriterOptions{65536, 4});
    std::string error;
    std::thread worker([&] {
        try {
            appendInPieces(writer, data, 7);
            writer.settle();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    FileReader reader(FileDescriptor(pipe.read_end), "pipe", mode(), small_reader);
    std::string back;
    std::thread consumer([&] {
        // Late, so the worker ends with writes blocked on the full pipe.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        back = readAll(reader, 5000);
    });
    worker.join();  // ends with the pipe likely full and the reader behind
    writer.commit();
    consumer.join();
    EXPECT_EQ(error, "");
    EXPECT_EQ(back.size(), data.size());
    EXPECT_TRUE(back == data);
}

TEST_P(IoFile, NonBlockingPipeEndsWaitInsteadOfFailing) {
    // A parent process may leave stdin/stdout non-blocking; EAGAIN must be waited out.
    const std::string data = testBytes(300000, 11);
    Pipe pipe(O_NONBLOCK);
    std::string error;
    std::thread producer([&] {
        try {
            FileWriter writer(FileDescriptor(pipe.write_end), "pipe", mode(), small_writer);
            appendInPieces(writer, data, 12);
            writer.commit();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    FileReader reader(FileDescriptor(pipe.read_end), "pipe", mode(), small_reader);
    std::string back;
    std::string buffer(5000, '\0');
    for (int i = 0;; ++i) {
        if (i % 16 == 0) {
            // A slow consumer: the producer meets a full pipe.
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const std::size_t got = reader.read(buffer.data(), buffer.size());
        back.append(buffer.data(), got);
        if (got < buffer.size()) {
            break;
        }
    }
    producer.join();
    EXPECT_EQ(error, "");
    EXPECT_TRUE(back == data);
}

TEST_P(IoFile, ReadAtOnAPipeIsRefused) {
    Pipe pipe;
    ::close(pipe.write_end);
    FileReader reader(FileDescriptor(pipe.read_end), "standard input", mode(), small_reader);
    char byte = 0;
    try {
        reader.readAt(10, &byte, 1);
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()},
                        "cannot read standard input at byte 10: reading at an offset "
                        "needs a regular file");
    }
}

TEST_P(IoFile, ClosedPipeReportsBrokenPipeWithTheOffset) {
    Pipe pipe;
    ::close(pipe.read_end);
    FileWriter writer(FileDescriptor(pipe.write_end), "standard output", mode(), small_writer);
    try {
        writer.append(testBytes(100000, 13));
        writer.finish();
        FAIL() << "no exception";
    } catch (const Error& error) {
        const std::string message = error.what();
        EXPECT_CONTAINS(message, "cannot write standard output at byte 0: Broken pipe");
        EXPECT_CONTAINS(message, "the reading side of the pipe has gone");
    }
    // The writer stays failed.
    EXPECT_THROW(writer.append("x"), Error);
    EXPECT_THROW(writer.finish(), Error);
}

TEST_P(IoFile, DestroyingAWriterBlockedOnAFullPipeDoesNotHang) {
    // Nobody reads: the writes cannot complete and the destructor must cancel them.
    if (mode() == IoMode::sync) {
        GTEST_SKIP() << "the sync backend blocks in write(2) and has nothing in flight";
    }
    Pipe pipe;
    const auto start = std::chrono::steady_clock::now();
    {
        FileWriter writer(FileDescriptor(pipe.write_end), "pipe", mode(), WriterOptions{65536, 2});
        // The first buffer fills the 64 KiB pipe, the second stays in flight: append returns
        // because a buffer is still free for the caller.
        writer.append(testBytes(65536, 14));
        writer.append(testBytes(65536, 15));
    }
    ::close(pipe.read_end);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// --- errors ----------------------------------------------------------------------------------

TEST_P(IoFile, DiskFullNamesTheFileAndOffset) {
    if (!fs::exists("/dev/full")) {
        GTEST_SKIP() << "/dev/full is not available";
    }
    try {
        FileWriter writer = FileWriter::create("/dev/full", mode(), small_writer);
        writer.append(testBytes(10000, 16));
        writer.commit();
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()},
                        "cannot write /dev/full at byte 0: No space left on device");
    }
    // /dev/full is a device: written in place, never renamed over.
    EXPECT_TRUE(fs::is_character_file("/dev/full"));
}

TEST_P(IoFile, OpeningAMissingFileNamesIt) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("missing.pgs");
    try {
        FileReader::open(path, mode());
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_EQ(std::string{error.what()}, "cannot open " + path + ": No such file or directory");
    }
}

TEST_P(IoFile, CreatingInAMissingDirectoryNamesTheTemporaryFile) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("no/such/dir/out.pgs");
    try {
        FileWriter::create(path, mode());
        FAIL() << "no exception";
    } catch (const Error& error) {
        const std::string message = error.what();
        EXPECT_CONTAINS(message, "cannot create " + path + ".partial-");
        EXPECT_CONTAINS(message, "No such file or directory");
        EXPECT_CONTAINS(message, "renamed to out.pgs when complete");
    }
}

TEST_P(IoFile, WritingToADirectoryIsRefused) {
    TempDir dir{"pgsluice-io-test"};
    try {
        FileWriter::create(dir.file(""), mode());
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "it is a directory");
    }
}

// --- atomic create ---------------------------------------------------------------------------

TEST_P(IoFile, UncommittedFileIsRemoved) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("dump.pgs");
    {
        FileWriter writer = FileWriter::create(path, mode(), small_writer);
        EXPECT_CONTAINS(writer.currentPath(), path + ".partial-");
        EXPECT_TRUE(fs::exists(writer.currentPath()));
        EXPECT_FALSE(fs::exists(path));
        appendInPieces(writer, testBytes(100000, 17), 18);
        // Destroyed with writes possibly still in flight.
    }
    EXPECT_TRUE(dir.list().empty());
    {
        // Finished (data on disk) but not committed: still removed.
        FileWriter writer = FileWriter::create(path, mode(), small_writer);
        writer.append("abc");
        writer.finish();
        EXPECT_FALSE(fs::exists(path));
    }
    EXPECT_TRUE(dir.list().empty());
}

TEST_P(IoFile, CommitRenamesIntoPlaceAndReplacesAnOldFile) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("dump.pgs");
    {
        std::ofstream out(path, std::ios::binary);
        out << "old archive";
    }
    FileWriter writer = FileWriter::create(path, mode(), small_writer);
    writer.append("new archive");
    writer.finish();
    // Until the commit, the old file is untouched.
    EXPECT_EQ(readWholeFile(path), "old archive");
    writer.commit();
    EXPECT_EQ(writer.currentPath(), path);
    EXPECT_EQ(readWholeFile(path), "new archive");
    EXPECT_EQ(dir.list(), std::vector<std::string>{"dump.pgs"});
    // Committing twice is harmless; appending afterwards is an error.
    writer.commit();
    EXPECT_THROW(writer.append("more"), Error);
}

TEST_P(IoFile, CommitThroughASymbolicLinkReplacesItsTarget) {
    TempDir dir{"pgsluice-io-test"};
    const std::string target = dir.file("real.pgs");
    const std::string link = dir.file("link.pgs");
    {
        std::ofstream out(target, std::ios::binary);
        out << "old archive";
    }
    fs::create_symlink(target, link);
    FileWriter writer = FileWriter::create(link, mode(), small_writer);
    EXPECT_EQ(writer.currentPath().rfind(target + ".partial-", 0), 0u) << writer.currentPath();
    writer.append("new archive");
    writer.commit();
    EXPECT_TRUE(fs::is_symlink(link));
    EXPECT_EQ(readWholeFile(target), "new archive");
    EXPECT_EQ(dir.list(), (std::vector<std::string>{"link.pgs", "real.pgs"}));
}

TEST_P(IoFile, NewFileGetsUmaskPermissions) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("perm.pgs");
    const mode_t old_mask = ::umask(022);
    FileWriter writer = FileWriter::create(path, mode(), small_writer);
    writer.commit();
    ::umask(old_mask);
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                  fs::perms::others_read);
}

TEST_P(IoFile, WriterMovesWithItsWritesInFlight) {
    TempDir dir{"pgsluice-io-test"};
    const std::string path = dir.file("moved.bin");
    const std::string data = testBytes(100000, 19);
    FileWriter first = FileWriter::create(path, mode(), small_writer);
    first.append(std::string_view(data).substr(0, 50000));
    FileWriter second = std::move(first);
    second.append(std::string_view(data).substr(50000));
    second.commit();
    EXPECT_EQ(readWholeFile(path), data);
}

}  // namespace
}  // namespace pgsluice::io
