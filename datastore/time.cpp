#include "datastore/time.h"

#include <chrono>
#include <ctime>

namespace tsumugi {

int64_t systemMillis()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string isoTime(int64_t unixMillis)
{
    const std::time_t seconds = static_cast<std::time_t>(unixMillis / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[80];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unixMillis % 1000));
    return buffer;
}

}  // namespace tsumugi
