// Provenance of imported data: a source has a name, a licence and whether it may be
// redistributed; imported messages point at it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

struct Source {
    int64_t id = 0;
    std::string name;
    std::string licence;
    bool redistributable = false;
    std::optional<std::string> url;
    std::string importedAt;
};

// The source of that name, created when missing (inside the caller's transaction). A
// source that exists with another licence is an error: provenance is never rewritten.
Source ensureSource(Workspace& ws, const Account& actor, const std::string& name, const std::string& licence,
                    bool redistributable, const std::optional<std::string>& url);
std::vector<Source> listSources(Workspace& ws);

}  // namespace tsumugi
