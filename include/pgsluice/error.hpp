#pragma once

#include <stdexcept>
#include <string>

namespace pgsluice {

// Process exit status, as documented in DESIGN.md.
enum class ExitCode : int { ok = 0, failure = 1, usage = 2 };

// The one exception type of pgsluice: a message meant for the user and the exit status it implies.
class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message, ExitCode code = ExitCode::failure)
        : std::runtime_error(message), code_(code) {}

    // The exit status the command should end with when this error reaches main.
    ExitCode code() const noexcept { return code_; }

  private:
    ExitCode code_;
};

// Bad usage or a bad input file given by the user: exit 2, nothing was touched.
class UsageError : public Error {
  public:
    explicit UsageError(const std::string& message) : Error(message, ExitCode::usage) {}
};

// Bytes from a server or a file that do not follow the format they claim: exit 1.
class FormatError : public Error {
  public:
    explicit FormatError(const std::string& message) : Error(message, ExitCode::failure) {}
};

// The run was stopped by the user (Ctrl-C) or by another worker's failure.
class Cancelled : public Error {
  public:
    explicit Cancelled(const std::string& message) : Error(message, ExitCode::failure) {}
};

}  // namespace pgsluice
