// Rankings of sibling candidates (assistant replies under one parent), best first, with
// ties. Every annotator's raw ranking is kept; a second ranking of the same parent by the
// same annotator is a new row that supersedes the first in consensus (latestRankings).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

enum class RankingVerdict { Ranked, AllFlawed, CannotRank };

std::string_view rankingVerdictName(RankingVerdict verdict);
RankingVerdict parseRankingVerdict(std::string_view name);

struct Ranking {
    int64_t id = 0;
    int64_t parentId = 0;
    int64_t annotatorId = 0;
    RankingVerdict verdict = RankingVerdict::Ranked;
    std::optional<std::string> reason;
    std::vector<std::vector<int64_t>> groups;  // best first; a group of several is a tie
    std::string createdAt;
};

struct NewRanking {
    int64_t parentId = 0;
    RankingVerdict verdict = RankingVerdict::Ranked;
    std::vector<std::vector<int64_t>> groups;
    std::optional<std::string> reason;   // required for all_flawed and cannot_rank
    std::optional<int64_t> annotatorId;  // admin and service only (imports)
};

int64_t submitRanking(Workspace& ws, const Account& actor, const NewRanking& ranking);
std::vector<Ranking> rankingsOf(Workspace& ws, int64_t parentId);  // oldest first, all of them
std::vector<Ranking> latestRankings(Workspace& ws, int64_t parentId);  // one per annotator
Ranking rankingById(Workspace& ws, int64_t id);

}  // namespace tsumugi
