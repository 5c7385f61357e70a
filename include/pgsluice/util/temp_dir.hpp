#pragma once

#include <string>

namespace pgsluice::util {

// A private temporary directory under TMPDIR, removed with everything in it when this object
// dies. Throws Error (saying to set TMPDIR) when it cannot be created.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace pgsluice::util
