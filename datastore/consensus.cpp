#include "datastore/consensus.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "datastore/database.h"
#include "datastore/rankings.h"
#include "datastore/workspace.h"

namespace tsumugi {

namespace {
std::map<int64_t, size_t> positions(const Groups& ranking)
{
    std::map<int64_t, size_t> pos;
    for (size_t g = 0; g < ranking.size(); ++g)
        for (int64_t id : ranking[g]) pos[id] = g;
    return pos;
}
}  // namespace

std::vector<Preference> pairwisePreferences(const Groups& ranking)
{
    std::vector<Preference> out;
    for (size_t a = 0; a < ranking.size(); ++a)
        for (size_t b = a + 1; b < ranking.size(); ++b)
            for (int64_t winner : ranking[a])
                for (int64_t loser : ranking[b]) out.push_back({winner, loser});
    return out;
}

Groups rankedPairs(const std::vector<Groups>& rankings)
{
    std::set<int64_t> candidates;
    std::map<std::pair<int64_t, int64_t>, int64_t> wins;  // (a, b) → rankings preferring a over b
    for (const Groups& r : rankings) {
        for (const auto& g : r) candidates.insert(g.begin(), g.end());
        for (const Preference& p : pairwisePreferences(r)) ++wins[{p.winner, p.loser}];
    }
    struct Majority {
        int64_t winner, loser, votes, margin;
    };
    std::vector<Majority> majorities;
    for (int64_t a : candidates)
        for (int64_t b : candidates) {
            const int64_t ab = wins.count({a, b}) ? wins[{a, b}] : 0;
            const int64_t ba = wins.count({b, a}) ? wins[{b, a}] : 0;
            if (ab > ba) majorities.push_back({a, b, ab, ab - ba});
        }
    std::sort(majorities.begin(), majorities.end(), [](const Majority& x, const Majority& y) {
        return std::tie(y.votes, y.margin, x.winner, x.loser) < std::tie(x.votes, x.margin, y.winner, y.loser);
    });

    std::map<int64_t, std::set<int64_t>> beats;  // locked edges winner → losers
    auto reaches = [&](int64_t from, int64_t to) {
        std::vector<int64_t> stack{from};
        std::set<int64_t> seen;
        while (!stack.empty()) {
            const int64_t x = stack.back();
            stack.pop_back();
            if (x == to) return true;
            if (!seen.insert(x).second) continue;
            for (int64_t y : beats[x]) stack.push_back(y);
        }
        return false;
    };
    for (const Majority& m : majorities)
        if (!reaches(m.loser, m.winner)) beats[m.winner].insert(m.loser);

    Groups order;
    std::set<int64_t> remaining = candidates;
    while (!remaining.empty()) {
        std::vector<int64_t> layer;
        for (int64_t c : remaining) {
            bool beaten = false;
            for (int64_t other : remaining)
                if (other != c && beats[other].count(c)) beaten = true;
            if (!beaten) layer.push_back(c);
        }
        for (int64_t c : layer) remaining.erase(c);
        order.push_back(layer);
    }
    return order;
}

std::map<int64_t, double> bradleyTerry(const std::vector<Groups>& rankings, int iterations)
{
    std::set<int64_t> candidates;
    std::map<std::pair<int64_t, int64_t>, double> games;  // unordered pair (a < b) → comparisons
    std::map<int64_t, double> winsOf;
    for (const Groups& r : rankings) {
        for (const auto& g : r) candidates.insert(g.begin(), g.end());
        for (size_t a = 0; a < r.size(); ++a)
            for (size_t b = a; b < r.size(); ++b)
                for (size_t i = 0; i < r[a].size(); ++i)
                    for (size_t j = (a == b ? i + 1 : 0); j < r[b].size(); ++j) {
                        const int64_t x = r[a][i], y = r[b][j];
                        games[{std::min(x, y), std::max(x, y)}] += 1;
                        if (a == b) winsOf[x] += 0.5, winsOf[y] += 0.5;
                        else winsOf[x] += 1;
                    }
    }
    std::map<int64_t, double> p;
    for (int64_t c : candidates) p[c] = 1.0;
    for (int it = 0; it < iterations; ++it) {
        std::map<int64_t, double> denominator;
        for (int64_t c : candidates) denominator[c] = 2.0 / (p[c] + 1.0);  // two virtual games vs the anchor
        for (const auto& [pair, n] : games) {
            const double d = n / (p[pair.first] + p[pair.second]);
            denominator[pair.first] += d;
            denominator[pair.second] += d;
        }
        double change = 0;
        for (int64_t c : candidates) {
            const double next = (winsOf[c] + 1.0) / denominator[c];
            change = std::max(change, std::fabs(std::log(next) - std::log(p[c])));
            p[c] = next;
        }
        if (change < 1e-12) break;
    }
    std::map<int64_t, double> out;
    for (auto& [c, strength] : p) out[c] = std::log(strength);
    return out;
}

std::optional<double> kendallTauB(const std::vector<std::pair<Groups, Groups>>& sharedItems)
{
    double concordant = 0, discordant = 0, tiedA = 0, tiedB = 0, total = 0;
    for (const auto& [a, b] : sharedItems) {
        const auto pa = positions(a);
        const auto pb = positions(b);
        std::vector<int64_t> both;
        for (const auto& [id, _] : pa)
            if (pb.count(id)) both.push_back(id);
        for (size_t i = 0; i < both.size(); ++i)
            for (size_t j = i + 1; j < both.size(); ++j) {
                const int sa = (pa.at(both[i]) > pa.at(both[j])) - (pa.at(both[i]) < pa.at(both[j]));
                const int sb = (pb.at(both[i]) > pb.at(both[j])) - (pb.at(both[i]) < pb.at(both[j]));
                ++total;
                if (sa == 0) ++tiedA;
                if (sb == 0) ++tiedB;
                if (sa * sb > 0) ++concordant;
                if (sa * sb < 0) ++discordant;
            }
    }
    const double denominator = std::sqrt((total - tiedA) * (total - tiedB));
    if (denominator <= 0) return std::nullopt;
    return (concordant - discordant) / denominator;
}

std::optional<double> krippendorffAlpha(const std::vector<std::vector<double>>& units, AlphaMetric metric)
{
    auto delta = [metric](double a, double b) {
        return metric == AlphaMetric::Nominal ? (a == b ? 0.0 : 1.0) : (a - b) * (a - b);
    };
    std::vector<double> pooled;
    double observed = 0;
    for (const auto& u : units) {
        if (u.size() < 2) continue;
        double sum = 0;
        for (size_t i = 0; i < u.size(); ++i)
            for (size_t j = 0; j < u.size(); ++j)
                if (i != j) sum += delta(u[i], u[j]);
        observed += sum / static_cast<double>(u.size() - 1);
        pooled.insert(pooled.end(), u.begin(), u.end());
    }
    const double n = static_cast<double>(pooled.size());
    if (n < 2) return std::nullopt;
    double expected = 0;
    for (size_t i = 0; i < pooled.size(); ++i)
        for (size_t j = 0; j < pooled.size(); ++j)
            if (i != j) expected += delta(pooled[i], pooled[j]);
    expected /= n * (n - 1);
    observed /= n;
    if (expected == 0) return std::nullopt;
    return 1.0 - observed / expected;
}

std::vector<PairAgreement> rankingAgreement(Workspace& ws, const std::optional<std::vector<int64_t>>& rankingIds)
{
    // Latest ranked verdict of each annotator on each parent.
    std::string sql =
        "SELECT r.id, r.parent_id, r.annotator_id FROM rankings r WHERE r.verdict = 'ranked' AND r.id IN "
        "(SELECT max(id) FROM rankings GROUP BY parent_id, annotator_id)";
    auto st = ws.db().prepare(sql + " ORDER BY r.parent_id, r.annotator_id");
    std::set<int64_t> allowed;
    if (rankingIds) allowed.insert(rankingIds->begin(), rankingIds->end());
    std::map<int64_t, std::map<int64_t, int64_t>> byParent;  // parent → annotator → ranking id
    while (st.step()) {
        if (rankingIds && !allowed.count(st.int64(0))) continue;
        byParent[st.int64(1)][st.int64(2)] = st.int64(0);
    }
    std::map<std::pair<int64_t, int64_t>, std::vector<std::pair<Groups, Groups>>> shared;
    std::map<int64_t, Groups> cache;
    auto groupsOf = [&](int64_t id) -> const Groups& {
        auto it = cache.find(id);
        if (it == cache.end()) it = cache.emplace(id, rankingById(ws, id).groups).first;
        return it->second;
    };
    for (const auto& [parent, byAnnotator] : byParent)
        for (auto a = byAnnotator.begin(); a != byAnnotator.end(); ++a)
            for (auto b = std::next(a); b != byAnnotator.end(); ++b)
                shared[{a->first, b->first}].emplace_back(groupsOf(a->second), groupsOf(b->second));
    std::vector<PairAgreement> out;
    for (const auto& [pair, items] : shared)
        out.push_back({pair.first, pair.second, static_cast<int64_t>(items.size()), kendallTauB(items)});
    return out;
}

std::vector<LabelAgreement> labelAgreement(Workspace& ws, std::optional<int64_t> snapshotId)
{
    auto st = snapshotId ? ws.db().prepare("SELECT l.name, l.message_id, l.value FROM snapshot_items si "
                                           "JOIN labels l ON l.message_id = si.message_id "
                                           "WHERE si.snapshot_id = ? ORDER BY l.name, l.message_id")
                         : ws.db().prepare("SELECT name, message_id, value FROM labels ORDER BY name, message_id");
    if (snapshotId) st.bind(1, *snapshotId);
    std::map<std::string, std::map<int64_t, std::vector<double>>> values;
    while (st.step()) values[st.text(0)][st.int64(1)].push_back(static_cast<double>(st.int64(2)));
    std::vector<LabelAgreement> out;
    for (const auto& [name, byMessage] : values) {
        std::vector<std::vector<double>> units;
        bool binary = true;
        int64_t pairable = 0;
        for (const auto& [_, v] : byMessage) {
            units.push_back(v);
            pairable += v.size() >= 2;
            for (double x : v) binary = binary && (x == 0 || x == 1);
        }
        out.push_back({name, pairable, krippendorffAlpha(units, binary ? AlphaMetric::Nominal : AlphaMetric::Interval)});
    }
    return out;
}

Groups consensusRanking(Workspace& ws, int64_t parentId)
{
    std::vector<Groups> rankings;
    for (const Ranking& r : latestRankings(ws, parentId))
        if (r.verdict == RankingVerdict::Ranked) rankings.push_back(r.groups);
    return rankedPairs(rankings);
}

}  // namespace tsumugi
