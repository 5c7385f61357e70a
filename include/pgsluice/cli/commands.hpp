#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace pgsluice::cli {

// What a parsed subcommand runs; throws pgsluice::Error on failure.
using Action = std::function<void()>;

// Registers `pgsluice copy` on `app`; `action` is set when the subcommand is chosen.
void addCopyCommand(CLI::App& app, Action& action);

}  // namespace pgsluice::cli
