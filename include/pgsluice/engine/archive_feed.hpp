#pragma once

// The units of an archive as a restore's UnitFeed: from a file through its footer index (any
// unit on any worker, in plan order), or from a pipe in the order the stream brings them (a
// reader thread hands each unit's frames to the worker loading it). Either way every unit's
// rows are digested as they are read, for the check against the results manifest.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/engine/target_load.hpp"

namespace pgsluice::engine {

// The digests of the rows read for each plan unit. Thread-safe.
class ReadDigests {
  public:
    explicit ReadDigests(std::size_t units) : digests_(units) {}
    void set(std::size_t unit, const copy::RowDigest& digest) {
        std::lock_guard lock(mutex_);
        digests_[unit] = digest;
    }
    copy::RowDigest get(std::size_t unit) const {
        std::lock_guard lock(mutex_);
        return digests_[unit];
    }

  private:
    mutable std::mutex mutex_;
    std::vector<copy::RowDigest> digests_;
};

// Units read from an archive file through its index.
class FileFeed : public UnitFeed {
  public:
    // `archive`, `plan` and `digests` must outlive the feed.
    FileFeed(const archive::SeekableArchive& archive, const Plan& plan, ReadDigests& digests)
        : archive_(archive), plan_(plan), digests_(digests) {}

    std::unique_ptr<Worker> worker(int index) override;

  private:
    const archive::SeekableArchive& archive_;
    const Plan& plan_;
    ReadDigests& digests_;
};

// Units read from a stream, front to back, fanned out to the workers.
class PipeFeed : public UnitFeed {
  public:
    // Everything given must outlive the feed. Large-object frames go to `large_objects`; the
    // results manifest at the stream's end is parsed into `results`.
    PipeFeed(archive::ArchiveReader& stream, const archive::Contents& contents, const Plan& plan,
             ReadDigests& digests, LargeObjectSink& large_objects,
             std::optional<archive::Results>& results, AbortSignal& abort, Progress& progress);
    ~PipeFeed() override;

    int workers(int jobs) override;
    std::unique_ptr<Worker> worker(int index) override;
    bool streamOrder() const override { return true; }
    bool canReread() const override { return false; }
    std::optional<std::size_t> nextFor(int index) override;
    void begin(int workers) override;
    void end() noexcept override;

    // A data frame's payload, or the mark of an abandoned attempt at the unit (the dump retried
    // it): the payloads queued before it are void, the unit's rows start again after it.
    struct Queued {
        std::string payload;
        bool abandoned = false;
    };

    // One worker's queue: the reader gives it a unit, then the unit's frames (and the marks of
    // abandoned attempts), then marks it ended; the worker frees it by asking for its next unit.
    struct Lane {
        std::optional<std::size_t> unit;  // plan unit being loaded
        std::deque<Queued> frames;
        std::size_t attempt_frames = 0;  // data frames queued since the unit's (attempt's) start
        bool ended = false;
        bool taken = false;  // the worker was handed `unit` by nextFor()
    };

  private:
    class LaneSource;

    void dispatch();
    void route(const archive::Frame& frame, std::map<uint32_t, Lane*>& open, size_t& started);
    Lane* freeLane(std::unique_lock<std::mutex>& lock);
    [[noreturn]] void damaged(const FormatError& e, const std::map<uint32_t, Lane*>& open);
    // The next payload of `lane`'s unit, or nothing after its last frame; throws UnitAbandoned
    // at the mark of an abandoned attempt, Cancelled when the run aborts or the stream ends
    // first.
    std::optional<std::string> takeFrame(Lane& lane);

    archive::ArchiveReader& stream_;
    const archive::Contents& contents_;
    const Plan& plan_;
    ReadDigests& digests_;
    LargeObjectSink& large_objects_;
    std::optional<archive::Results>& results_;
    AbortSignal& abort_;
    Progress& progress_;
    std::map<uint32_t, std::size_t> plan_unit_;  // archive unit id -> plan unit

    std::mutex mutex_;  // guards the lanes and stream_done_
    std::condition_variable changed_;
    std::vector<Lane> lanes_;
    bool stream_done_ = false;
    std::optional<AbortSignal::Waker> waker_;
    std::optional<BackgroundWorkers> reader_;
};

}  // namespace pgsluice::engine
