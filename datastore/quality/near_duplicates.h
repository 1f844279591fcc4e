// Exact and near duplicates among many short texts. Exact ones by a 64-bit hash of the
// text (confirmed by comparing the texts); near ones by MinHash over character n-grams
// (5 by default, as Doubri does for Japanese) with LSH bands: a pair becomes a candidate
// when all rows of some band agree, which happens with probability 1 − (1 − s^r)^b for
// Jaccard similarity s. Candidates are then verified with the exact Jaccard similarity of
// their n-gram sets, and verified pairs are joined into clusters (union-find).
//
// N = documents, b = bands, r = rows per band, K = b·r hash functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace tsumugi::quality {

struct BandsRows {
    size_t bands = 0, rows = 0;
};
// Probability that a pair with Jaccard similarity s shares a band.
double candidateProbability(double s, BandsRows br);
// The steepest S-curve within maxHashes hash functions that still makes a pair at the
// threshold a candidate with probability ≥ minProbability: the largest r, then the
// smallest b. For 0.8: 16 bands × 6 rows (P(0.8) = 0.992, P(0.5) = 0.22).
BandsRows chooseBandsRows(double threshold, size_t maxHashes = 100, double minProbability = 0.99);

// The character n-gram set of a text as sorted distinct 64-bit hashes. A text shorter than
// n code points is one gram (itself); an empty text has none.
std::vector<uint64_t> ngramSet(std::string_view text, size_t n);
double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);
double jaccard(std::string_view a, std::string_view b, size_t n = 5);

struct NearDuplicateParams {
    double threshold = 0.8;
    size_t ngram = 5;
    BandsRows bandsRows;  // zero: chooseBandsRows(threshold)
    uint64_t seed = 0x5453554D;
    // A band bucket holding more documents than this pairs each member with the bucket's
    // first and the member before it only (a chain), so one boilerplate text repeated in
    // thousands of near-identical variants cannot make the candidates quadratic.
    size_t maxBucketPairs = 64;
};

struct SimilarPair {
    uint32_t a = 0, b = 0;  // a < b
    double jaccard = 0;
    bool exact = false;  // identical texts
};

struct NearDuplicateResult {
    std::vector<SimilarPair> pairs;               // verified, sorted by (a, b)
    std::vector<std::vector<uint32_t>> clusters;  // two or more members each, ascending; by first member
    size_t candidates = 0;                        // pairs verified (exact duplicates not included)
};

class NearDuplicateFinder {
public:
    explicit NearDuplicateFinder(NearDuplicateParams params = {});

    // Adds a document and returns its index (0, 1, …). Documents of different groups can
    // be compared alone (an import file against the workspace): see run().
    uint32_t add(std::string_view text, uint32_t group = 0);
    size_t size() const { return m_textHash.size(); }
    const NearDuplicateParams& params() const { return m_params; }

    // Candidate pairs (a < b) from the LSH bands, exact duplicates left out, each once.
    std::vector<std::pair<uint32_t, uint32_t>> candidates(bool acrossGroupsOnly = false) const;

    // Exact duplicates, verified candidates and clusters. text(i) returns document i's text;
    // it is called for the candidates only.
    NearDuplicateResult run(const std::function<std::string_view(uint32_t)>& text, bool acrossGroupsOnly = false) const;

private:
    NearDuplicateParams m_params;
    std::vector<uint64_t> m_a, m_b;  // K hash functions: h_k(x) = (a_k·x + b_k) >> 32
    std::vector<uint32_t> m_bandKeys;  // [N, b]
    std::vector<uint64_t> m_textHash;  // [N]
    std::vector<uint32_t> m_group;     // [N]
};

// Union-find over n elements: the clusters (two or more members) that `pairs` join.
std::vector<std::vector<uint32_t>> clustersOf(size_t n, const std::vector<std::pair<uint32_t, uint32_t>>& pairs);

}  // namespace tsumugi::quality
