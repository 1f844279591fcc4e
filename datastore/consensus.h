// Consensus and agreement over rankings and labels.
//
// Pure functions first (tested on examples worked out by hand), then the workspace-level
// reports built on them. A ranking is a list of groups, best first; a group of several
// candidates is a tie.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tsumugi {

class Workspace;

using Groups = std::vector<std::vector<int64_t>>;

struct Preference {
    int64_t winner = 0;
    int64_t loser = 0;
    bool operator==(const Preference&) const = default;
};

// Every strict pair a ranking states (ties state none), best-first order of groups.
std::vector<Preference> pairwisePreferences(const Groups& ranking);

// Tideman's ranked pairs over several rankings of the same candidates: pairs are locked
// in order of winning votes (then margin, then ids), skipping any that would close a
// cycle; the locked graph is read out in layers, so candidates no locked pair orders
// share a group. Candidates in no ranking are left out.
Groups rankedPairs(const std::vector<Groups>& rankings);

// Bradley–Terry strengths by the MM algorithm (Hunter 2004). A tie counts half a win to
// each side. Each candidate plays one virtual win and one virtual loss against an anchor
// of strength 1, so strengths stay finite when one candidate wins every comparison.
// Returns log-strength per candidate (0 = the anchor).
std::map<int64_t, double> bradleyTerry(const std::vector<Groups>& rankings, int iterations = 500);

// Kendall's τ-b between two annotators, pooled over the items both ranked: each element
// pairs annotator A's ranking of an item with annotator B's ranking of the same item.
// Only candidates both ranked count. nullopt when undefined (no pairs, or all tied).
std::optional<double> kendallTauB(const std::vector<std::pair<Groups, Groups>>& sharedItems);

// Krippendorff's α for values given to units by several coders (a unit's values are
// pooled; coders who gave none are simply absent). Units with fewer than two values are
// not pairable and are left out. nullopt when undefined (no pairable unit, or no variation).
enum class AlphaMetric { Nominal, Interval };
std::optional<double> krippendorffAlpha(const std::vector<std::vector<double>>& units, AlphaMetric metric);

// Workspace reports.
struct PairAgreement {
    int64_t annotatorA = 0;
    int64_t annotatorB = 0;
    int64_t sharedItems = 0;
    std::optional<double> tau;
};
// τ-b for every pair of annotators over the parents both ranked (latest ranking each;
// verdicts other than 'ranked' are left out). Restricted to rankingIds when given.
std::vector<PairAgreement> rankingAgreement(Workspace& ws, const std::optional<std::vector<int64_t>>& rankingIds = {});

struct LabelAgreement {
    std::string name;
    int64_t units = 0;  // pairable messages
    std::optional<double> alpha;
};
// α per label name; names whose values are all 0/1 use the nominal metric, others interval.
// Over the whole workspace, or over the messages of one snapshot.
std::vector<LabelAgreement> labelAgreement(Workspace& ws, std::optional<int64_t> snapshotId = std::nullopt);

// Consensus order of a parent's candidates from the latest ranking of each annotator.
Groups consensusRanking(Workspace& ws, int64_t parentId);

}  // namespace tsumugi
