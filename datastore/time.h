// Wall-clock time as the datastore stores it. Tests may replace the clock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace tsumugi {

using Clock = std::function<int64_t()>;  // Unix milliseconds

int64_t systemMillis();
// "2026-11-24T10:00:00.000Z"
std::string isoTime(int64_t unixMillis);

}  // namespace tsumugi
