#include "pgsluice/engine/archive_feed.hpp"

#include <fmt/format.h>

#include "pgsluice/archive/unit_stream.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::engine {

namespace {

// A bound on the frames waiting for one connection when restoring from a pipe (each is at most
// the dump's frame size, a few MiB).
constexpr size_t kLaneDepth = 2;

// Hands out another source's chunks, digesting them; at the end records the digest of `unit`.
class DigestingSource : public copy::ChunkSource {
  public:
    DigestingSource(std::unique_ptr<copy::ChunkSource> from, bool binary, ReadDigests& digests,
                    size_t unit)
        : from_(std::move(from)), digest_(binary), digests_(digests), unit_(unit) {}

    std::optional<std::string_view> next() override {
        std::optional<std::string_view> chunk = from_->next();
        if (chunk) {
            digest_.feed(*chunk);
        } else {
            digest_.finish();
            digests_.set(unit_, digest_.digest());
        }
        return chunk;
    }

  private:
    std::unique_ptr<copy::ChunkSource> from_;
    copy::StreamDigest digest_;
    ReadDigests& digests_;
    size_t unit_;
};

const pg::Table& tableOf(const Plan& plan, size_t unit) {
    return *plan.tables[plan.units[unit].table].table;
}

// One worker of a file restore: its decoder and the unit it reads.
class FileWorker : public UnitFeed::Worker {
  public:
    FileWorker(const archive::SeekableArchive& archive, const Plan& plan, ReadDigests& digests)
        : archive_(archive), plan_(plan), digests_(digests) {}

    copy::ChunkSource& open(size_t unit) override {
        // planLoad made sure that every unit of the plan is in the index.
        const archive::UnitInfo& info = *archive_.findUnit(plan_.units[unit].id);
        bool binary = tableOf(plan_, unit).binary_safe;
        source_.emplace(std::make_unique<archive::UnitReader>(archive_, info, decoder_, binary),
                        binary, digests_, unit);
        return *source_;
    }

  private:
    const archive::SeekableArchive& archive_;
    const Plan& plan_;
    ReadDigests& digests_;
    archive::FrameDecoder decoder_;
    std::optional<DigestingSource> source_;
};

}  // namespace

std::unique_ptr<UnitFeed::Worker> FileFeed::worker(int) {
    return std::make_unique<FileWorker>(archive_, plan_, digests_);
}

// A unit's stream rebuilt from the frames the reader puts in a lane.
class PipeFeed::LaneSource : public archive::UnitSource {
  public:
    LaneSource(PipeFeed& feed, Lane& lane, bool binary)
        : UnitSource(binary), feed_(feed), lane_(lane) {}

  protected:
    std::optional<std::string_view> nextPayload() override {
        std::optional<std::string> frame = feed_.takeFrame(lane_);
        if (!frame) {
            return std::nullopt;
        }
        frame_ = std::move(*frame);
        return frame_;
    }

  private:
    PipeFeed& feed_;
    Lane& lane_;
    std::string frame_;
};

namespace {

class PipeWorker : public UnitFeed::Worker {
  public:
    PipeWorker(std::function<std::unique_ptr<copy::ChunkSource>(size_t)> make) : make_(make) {}
    copy::ChunkSource& open(size_t unit) override {
        source_ = make_(unit);
        return *source_;
    }

  private:
    std::function<std::unique_ptr<copy::ChunkSource>(size_t)> make_;
    std::unique_ptr<copy::ChunkSource> source_;
};

}  // namespace

PipeFeed::PipeFeed(archive::ArchiveReader& stream, const archive::Contents& contents,
                   const Plan& plan, ReadDigests& digests, LargeObjectSink& large_objects,
                   std::optional<archive::Results>& results, AbortSignal& abort, Progress& progress)
    : stream_(stream),
      contents_(contents),
      plan_(plan),
      digests_(digests),
      large_objects_(large_objects),
      results_(results),
      abort_(abort),
      progress_(progress) {
    for (size_t i = 0; i < plan_.units.size(); ++i) {
        plan_unit_[plan_.units[i].id] = i;
    }
}

PipeFeed::~PipeFeed() {
    end();
}

// Units are interleaved in the stream, at most as many at once as the dump had workers; with
// fewer connections than that, the unit whose frames come next could wait forever behind one
// that cannot finish yet.
int PipeFeed::workers(int jobs) {
    int n = std::max(jobs, contents_.jobs);
    if (n > jobs) {
        progress_.info(fmt::format(
            "reading a stream written by {} dump workers: loading on {} connections", n, n));
    }
    return n;
}

std::unique_ptr<UnitFeed::Worker> PipeFeed::worker(int index) {
    Lane& lane = lanes_[static_cast<size_t>(index)];
    return std::make_unique<PipeWorker>([this, &lane](size_t unit) {
        bool binary = tableOf(plan_, unit).binary_safe;
        return std::make_unique<DigestingSource>(std::make_unique<LaneSource>(*this, lane, binary),
                                                 binary, digests_, unit);
    });
}

void PipeFeed::begin(int workers) {
    lanes_.resize(static_cast<size_t>(std::max(1, workers)));
    waker_.emplace(abort_.onAbort([this] {
        std::lock_guard lock(mutex_);
        changed_.notify_all();
    }));
    reader_.emplace(1, abort_, [this](int) {
        struct Done {
            PipeFeed& feed;
            ~Done() {
                std::lock_guard lock(feed.mutex_);
                feed.stream_done_ = true;
                feed.changed_.notify_all();
            }
        } done{*this};
        dispatch();
    });
}

void PipeFeed::end() noexcept {
    reader_.reset();  // joins the reader; its failure is in the abort signal
    waker_.reset();
}

std::optional<size_t> PipeFeed::nextFor(int index) {
    Lane& lane = lanes_[static_cast<size_t>(index)];
    std::unique_lock lock(mutex_);
    if (lane.taken) {
        // The worker is done with its previous unit: the lane is free for the next one.
        lane.unit.reset();
        lane.ended = false;
        lane.taken = false;
        changed_.notify_all();
    }
    changed_.wait(lock, [&] { return lane.unit || stream_done_ || abort_.aborted(); });
    if (abort_.aborted() || !lane.unit) {
        return std::nullopt;
    }
    lane.taken = true;
    return lane.unit;
}

std::optional<std::string> PipeFeed::takeFrame(Lane& lane) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
        return !lane.frames.empty() || lane.ended || abort_.aborted() || stream_done_;
    });
    if (abort_.aborted() || (lane.frames.empty() && !lane.ended)) {
        // The stream ended (or failed) in the middle of this unit.
        throw Cancelled("stopped");
    }
    if (lane.frames.empty()) {
        return std::nullopt;
    }
    Queued frame = std::move(lane.frames.front());
    lane.frames.pop_front();
    changed_.notify_all();
    if (frame.abandoned) {
        throw UnitAbandoned(
            "the archive abandons the rows of this unit streamed so far (its dump retried the "
            "unit after a failure): the rows loaded from them are rolled back and the unit is "
            "loaded again from the dump's next attempt");
    }
    return std::move(frame.payload);
}

PipeFeed::Lane* PipeFeed::freeLane(std::unique_lock<std::mutex>& lock) {
    Lane* lane = nullptr;
    changed_.wait(lock, [&] {
        if (abort_.aborted()) {
            return true;
        }
        for (auto& l : lanes_) {
            if (!l.unit) {
                lane = &l;
                return true;
            }
        }
        return false;
    });
    abort_.check();
    return lane;
}

// Reads the stream and hands every frame to the worker loading its unit.
void PipeFeed::dispatch() {
    std::map<uint32_t, Lane*> open;  // units being loaded
    std::string results;
    size_t started = 0;
    archive::Frame frame;
    for (;;) {
        try {
            if (!stream_.next(frame)) {
                break;
            }
        } catch (const FormatError& e) {
            damaged(e, open);
        }
        abort_.check();
        const archive::FrameHeader& h = frame.header;
        if (h.type == archive::FrameType::manifest && h.unit == archive::results_stream) {
            results.append(frame.payload);
        } else if (h.type == archive::FrameType::data || h.type == archive::FrameType::unit_end) {
            route(frame, open, started);
        }
    }
    if (started != plan_.units.size()) {
        throw FormatError(fmt::format("{}: {} of the {} units the manifest lists are missing",
                                      stream_.name(), plan_.units.size() - started,
                                      plan_.units.size()));
    }
    if (results.empty()) {
        throw FormatError(fmt::format("{}: the results manifest is missing", stream_.name()));
    }
    results_ = archive::parseResults(results, stream_.name());
}

// Hands one data or unit-end frame to the lane of its unit (the large objects' to their sink).
void PipeFeed::route(const archive::Frame& frame, std::map<uint32_t, Lane*>& open,
                     size_t& started) {
    const archive::FrameHeader& h = frame.header;
    if (contents_.large_object_unit && h.unit == *contents_.large_object_unit) {
        if (h.type == archive::FrameType::data) {
            archive::forEachLargeObjectChunk(
                frame.payload, stream_.name(),
                [&](const archive::LargeObjectChunk& chunk) { large_objects_.put(chunk); });
        }
        return;
    }
    auto it = plan_unit_.find(h.unit);
    if (it == plan_unit_.end()) {
        return;  // a table the selection leaves out
    }
    std::unique_lock lock(mutex_);
    Lane* lane = nullptr;
    if (auto o = open.find(h.unit); o != open.end()) {
        lane = o->second;
    } else {
        lane = freeLane(lock);
        lane->unit = it->second;
        lane->ended = false;
        lane->attempt_frames = 0;
        open[h.unit] = lane;
        ++started;
    }
    bool abandoned = h.type == archive::FrameType::unit_end && h.abandoned();
    if (abandoned && lane->attempt_frames == 0) {
        return;  // nothing of the attempt reached the worker: nothing to undo
    }
    if (h.type == archive::FrameType::data || abandoned) {
        changed_.wait(lock, [&] { return lane->frames.size() < kLaneDepth || abort_.aborted(); });
        abort_.check();
        lane->frames.push_back({std::string(frame.payload), abandoned});
        lane->attempt_frames = abandoned ? 0 : lane->attempt_frames + 1;
    } else {
        lane->ended = true;
        open.erase(h.unit);
    }
    changed_.notify_all();
}

// A damaged or truncated stream: the error names the tables whose units were being read.
void PipeFeed::damaged(const FormatError& e, const std::map<uint32_t, Lane*>& open) {
    std::string reading;
    for (const auto& [id, lane] : open) {
        reading += (reading.empty() ? "" : ", ") + tableOf(plan_, *lane->unit).qualified;
    }
    if (const archive::FrameHeader* h = stream_.failedFrame()) {
        if (auto it = plan_unit_.find(h->unit);
            it != plan_unit_.end() && !open.count(h->unit) &&
            (h->type == archive::FrameType::data || h->type == archive::FrameType::unit_end)) {
            reading += (reading.empty() ? "" : ", ") + tableOf(plan_, it->second).qualified;
        }
    }
    throw FormatError(
        fmt::format("{}{}", e.what(),
                    reading.empty() ? "" : "\nthe stream was being read for table " + reading));
}

}  // namespace pgsluice::engine
