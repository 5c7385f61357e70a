// Replays inputs through a libFuzzer entry point built without libFuzzer (any compiler), so the
// seed corpus runs in every ordinary test build: each <name>_replay is one
// tests/fuzz/<name>_fuzz.cpp linked with this main().
//
//   archive_replay tests/fuzz/corpus/archive [more dirs or files...]
//
// Runs the empty input first, then every regular file of each directory (sorted by name) and
// every file given. Prints the input it is on before calling the entry point, so a crash names
// it. Exits non-zero if the entry point throws, returns anything but 0 or -1, or a path is
// missing or a directory holds no file (an emptied corpus must not pass silently); a crash
// (a failed check() traps) kills the process with its signal.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional in a fuzz target; libFuzzer calls it once before the first input.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

// The input being run, for the crash handler (which may only call async-signal-safe functions).
char g_current[512] = "(none)";

void onCrash(int sig) {
    const char* prefix = "replay: CRASHED on ";
    [[maybe_unused]] auto a = ::write(2, prefix, std::strlen(prefix));
    [[maybe_unused]] auto b = ::write(2, g_current, std::strlen(g_current));
    [[maybe_unused]] auto c = ::write(2, "\n", 1);
    // SA_RESETHAND restored the default action: re-raise so the exit status shows the signal.
    ::raise(sig);
}

void installCrashHandler() {
    struct sigaction action {};
    action.sa_handler = onCrash;
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP}) {
        ::sigaction(sig, &action, nullptr);
    }
}

// One input: its name (for messages) and where its bytes come from (empty path: no bytes).
struct Input {
    std::string name;
    fs::path path;
};

// Runs one input; false (with a message) if the entry point threw or returned a reserved value.
bool replay(const Input& input) {
    std::vector<std::uint8_t> bytes;
    if (!input.path.empty()) {
        std::ifstream in(input.path, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "replay: cannot read %s\n", input.name.c_str());
            return false;
        }
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::snprintf(g_current, sizeof g_current, "%s", input.name.c_str());
    std::printf("replay: %s (%zu bytes)\n", input.name.c_str(), bytes.size());
    std::fflush(stdout);
    // An exactly sized heap copy, as libFuzzer passes it: a read past the end leaves the buffer.
    const std::size_t size = bytes.size();
    std::unique_ptr<std::uint8_t[]> data(new std::uint8_t[std::max<std::size_t>(size, 1)]);
    std::copy(bytes.begin(), bytes.end(), data.get());
    auto started = std::chrono::steady_clock::now();
    int rc = 0;
    try {
        rc = LLVMFuzzerTestOneInput(data.get(), size);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "replay: FAILED on %s: the entry point threw: %s\n",
                     input.name.c_str(), e.what());
        return false;
    } catch (...) {
        std::fprintf(stderr, "replay: FAILED on %s: the entry point threw a non-std exception\n",
                     input.name.c_str());
        return false;
    }
    if (rc != 0 && rc != -1) {
        std::fprintf(stderr, "replay: FAILED on %s: the entry point returned %d\n",
                     input.name.c_str(), rc);
        return false;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::printf("replay:   ok in %lld ms\n", static_cast<long long>(ms.count()));
    return true;
}

// The inputs a command-line argument stands for; false (with a message) if it stands for none.
bool collect(const fs::path& path, std::vector<Input>& inputs) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        inputs.push_back({path.string(), path});
        return true;
    }
    if (!fs::is_directory(path, ec)) {
        std::fprintf(stderr, "replay: %s is neither a file nor a directory\n",
                     path.string().c_str());
        return false;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file()) {
            files.push_back(entry.path());
        }
    }
    if (ec) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", path.string().c_str(),
                     ec.message().c_str());
        return false;
    }
    if (files.empty()) {
        std::fprintf(stderr, "replay: %s holds no input file\n", path.string().c_str());
        return false;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        inputs.push_back({file.string(), file});
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
        std::fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::vector<Input> inputs = {{"<empty input>", {}}};
    bool ok = true;
    for (int i = 1; i < argc; ++i) {
        ok = collect(argv[i], inputs) && ok;
    }
    if (!ok) {
        return 1;
    }
    installCrashHandler();
    if (LLVMFuzzerInitialize != nullptr) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    int failed = 0;
    for (const auto& input : inputs) {
        failed += replay(input) ? 0 : 1;
    }
    std::printf("replay: %zu inputs, %d failed\n", inputs.size(), failed);
    return failed == 0 ? 0 : 1;
}
