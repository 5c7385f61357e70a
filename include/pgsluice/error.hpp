#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace pgsluice {

// Process exit status, as documented in DESIGN.md.
enum class ExitCode : int { ok = 0, failure = 1, usage = 2 };

// The one exception type of pgsluice: a message meant for the user and the exit status it implies.
// Subclasses tell kinds of failure apart (bad usage, bad bytes, a server's SQLSTATE); context
// added on the way up (addContext) keeps the object, and so its type, intact.
class Error : public std::exception {
  public:
    explicit Error(std::string message, ExitCode code = ExitCode::failure)
        : message_(std::move(message)), code_(code) {}

    const char* what() const noexcept override { return message_.c_str(); }
    // The exit status the command should end with when this error reaches main.
    ExitCode code() const noexcept { return code_; }

    // Puts "context: " in front of the message (e.g. "copying table t"); then `throw;` rethrows
    // the same object, subclass and fields included.
    void addContext(std::string_view context) { message_ = std::string(context) + ": " + message_; }
    // Replaces the message; the type and the exit status stay.
    void setMessage(std::string message) { message_ = std::move(message); }

  private:
    std::string message_;
    ExitCode code_;
};

// Bad usage or a bad input file given by the user: exit 2, nothing was touched.
class UsageError : public Error {
  public:
    explicit UsageError(std::string message) : Error(std::move(message), ExitCode::usage) {}
};

// Bytes from a server or a file that do not follow the format they claim: exit 1.
class FormatError : public Error {
  public:
    explicit FormatError(std::string message) : Error(std::move(message), ExitCode::failure) {}
};

// The run was stopped by the user (Ctrl-C) or by another worker's failure.
class Cancelled : public Error {
  public:
    explicit Cancelled(std::string message) : Error(std::move(message), ExitCode::failure) {}
};

}  // namespace pgsluice
