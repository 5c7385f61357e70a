#pragma once

// Test helper: the message of the exception a callable throws.

#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <utility>

#include "pgsluice/error.hpp"

namespace pgsluice::test {

// Runs F, expecting an exception of type E, and returns its message.
template <class E, class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const E& error) {
        return error.what();
    } catch (const std::exception& error) {
        ADD_FAILURE() << "expected another exception type, got: " << error.what();
        return "";
    }
    ADD_FAILURE() << "expected an exception, nothing was thrown";
    return "";
}

template <class F>
std::string usageError(F&& f) {
    return errorOf<UsageError>(std::forward<F>(f));
}

template <class F>
std::string formatError(F&& f) {
    return errorOf<FormatError>(std::forward<F>(f));
}

}  // namespace pgsluice::test
