#include "pgsluice/engine/source.hpp"

#include <fmt/format.h>

#include "pgsluice/error.hpp"
#include "pgsluice/hex.hpp"

namespace pgsluice::engine {

std::vector<SequenceValue> readSequenceValues(pg::Connection& source,
                                              const std::vector<pg::Sequence>& sequences) {
    std::vector<SequenceValue> values;
    for (const auto& seq : sequences) {
        pg::Result res = source.exec("SELECT last_value, is_called FROM " + seq.qualified);
        values.push_back({seq.oid, seq.qualified, std::string(res.get(0, 0)), res.getBool(0, 1)});
    }
    return values;
}

void readLargeObjects(pg::Connection& source, const std::vector<uint32_t>& oids, AbortSignal& abort,
                      const std::function<void(const LargeObjectChunk&)>& on_chunk) {
    constexpr long long kChunk = 1 << 20;
    std::string bytes;
    for (uint32_t oid : oids) {
        for (long long offset = 0;; offset += kChunk) {
            abort.check();
            pg::Result chunk = source.execParams(
                "SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::bigint, $3::int)",
                {std::to_string(oid), std::to_string(offset), std::to_string(kChunk)});
            std::string_view hex = chunk.get(0, 0);  // \x...: two characters per byte
            if (hex.size() < 2 || hex.size() % 2 != 0) {
                throw Error(fmt::format("large object {}: unexpected lo_get result", oid));
            }
            bytes.clear();
            for (size_t i = 2; i < hex.size(); i += 2) {
                int high = hexDigitValue(hex[i]);
                int low = hexDigitValue(hex[i + 1]);
                if (high < 0 || low < 0) {
                    throw Error(fmt::format("large object {}: unexpected lo_get result", oid));
                }
                bytes += static_cast<char>(high * 16 + low);
            }
            on_chunk({oid, static_cast<uint64_t>(offset), bytes});
            if (static_cast<long long>(bytes.size()) < kChunk) {
                break;
            }
        }
    }
}

void readUnit(pg::Connection& source, const pg::Table& table, const WorkUnit& unit,
              const std::function<void(std::string_view)>& on_chunk) {
    source.beginCopyOut(copyOutSql(table, unit));
    std::string_view chunk;
    while (source.getCopyData(chunk)) {
        on_chunk(chunk);
    }
}

}  // namespace pgsluice::engine
