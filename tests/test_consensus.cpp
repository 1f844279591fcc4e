// Consensus and agreement on examples worked out by hand (each derivation in a comment).
#include <QTest>

#include "datastore/consensus.h"

using namespace tsumugi;

class TestConsensus : public QObject {
    Q_OBJECT
private slots:
    void preferencesFromRankingWithTies()
    {
        // [[1], [2, 3], [4]]: 1 beats everyone below it, 2 and 3 tie (no pair), both beat 4.
        const auto prefs = pairwisePreferences({{1}, {2, 3}, {4}});
        const std::vector<Preference> expected{{1, 2}, {1, 3}, {1, 4}, {2, 4}, {3, 4}};
        QVERIFY(prefs == expected);
    }

    void rankedPairsLocksStrongestFirst()
    {
        // 4 × a>b>c, 2 × b>c>a, 3 × c>a>b (9 voters):
        //   a>b by 4 + 3 = 7, b>c by 4 + 2 = 6, c>a by 2 + 3 = 5 — a Condorcet cycle.
        // Ranked pairs locks a>b (7), then b>c (6), and skips c>a (5), which would close the
        // cycle: a, b, c.
        std::vector<Groups> rankings;
        for (int i = 0; i < 4; ++i) rankings.push_back({{10}, {20}, {30}});
        for (int i = 0; i < 2; ++i) rankings.push_back({{20}, {30}, {10}});
        for (int i = 0; i < 3; ++i) rankings.push_back({{30}, {10}, {20}});
        QCOMPARE(rankedPairs(rankings), (Groups{{10}, {20}, {30}}));
    }

    void rankedPairsCycleStrengthDecides()
    {
        // Same cycle with the strengths moved: 2 × a>b>c, 3 × b>c>a, 4 × c>a>b:
        //   a>b by 2 + 4 = 6, b>c by 2 + 3 = 5, c>a by 3 + 4 = 7.
        // Lock c>a (7), then a>b (6); b>c (5) would close the cycle: c, a, b.
        std::vector<Groups> rankings;
        for (int i = 0; i < 2; ++i) rankings.push_back({{10}, {20}, {30}});
        for (int i = 0; i < 3; ++i) rankings.push_back({{20}, {30}, {10}});
        for (int i = 0; i < 4; ++i) rankings.push_back({{30}, {10}, {20}});
        QCOMPARE(rankedPairs(rankings), (Groups{{30}, {10}, {20}}));
    }

    void rankedPairsEvenSplitIsATie()
    {
        // One annotator says 1 > 2, another 2 > 1: no majority, so they share first place.
        QCOMPARE(rankedPairs({{{1}, {2}}, {{2}, {1}}}), (Groups{{1, 2}}));
    }

    void bradleyTerrySymmetric()
    {
        // 1 > 2 once and 2 > 1 once: with the anchor prior the fixed point is p = 1 for both
        // (p = 2 / (2/(2p) + 2/(p + 1)) gives 1 + 2p/(p + 1) = 2, so p = 1): log-strength 0.
        const auto s = bradleyTerry({{{1}, {2}}, {{2}, {1}}});
        QVERIFY(std::abs(s.at(1)) < 1e-9);
        QVERIFY(std::abs(s.at(2)) < 1e-9);
    }

    void bradleyTerryOneWin()
    {
        // 1 > 2 once. The anchor makes the solution symmetric: p2 = 1/p1 = 1/t, and the MM
        // fixed point for 2, 1/t = 1 / (t/(t² + 1) + 2t/(t + 1)), reduces to t³ − t² − 2 = 0,
        // t = 1.6956207696 (numpy.roots), log t = 0.5280489095.
        const auto s = bradleyTerry({{{1}, {2}}});
        QVERIFY2(std::abs(s.at(1) - 0.5280489095) < 1e-6, qPrintable(QString::number(s.at(1), 'f', 10)));
        QVERIFY(std::abs(s.at(2) + 0.5280489095) < 1e-6);
    }

    void kendallTauNoTies()
    {
        // A: 1 2 3 4, B: 1 3 2 4. Of 6 pairs only (2, 3) is discordant: τ = (5 − 1)/6.
        const auto tau = kendallTauB({{{{1}, {2}, {3}, {4}}, {{1}, {3}, {2}, {4}}}});
        QVERIFY(tau);
        QVERIFY(std::abs(*tau - 4.0 / 6.0) < 1e-12);
    }

    void kendallTauWithTie()
    {
        // A: 1 2 3, B: {1 2} 3. Pairs: (1,2) tied in B, (1,3) and (2,3) concordant.
        // τ-b = (2 − 0) / sqrt((3 − 0)(3 − 1)) = 2/√6.
        const auto tau = kendallTauB({{{{1}, {2}, {3}}, {{1, 2}, {3}}}});
        QVERIFY(std::abs(*tau - 2.0 / std::sqrt(6.0)) < 1e-12);
    }

    void kendallTauPooledAcrossItems()
    {
        // Item 1 as in kendallTauNoTies (C 5, D 1); item 2: A 7 > 8, B 8 > 7 (D 1).
        // Pooled: (5 − 2)/7.
        const auto tau = kendallTauB({{{{1}, {2}, {3}, {4}}, {{1}, {3}, {2}, {4}}}, {{{7}, {8}}, {{8}, {7}}}});
        QVERIFY(std::abs(*tau - 3.0 / 7.0) < 1e-12);
    }

    void kendallTauUndefined()
    {
        QVERIFY(!kendallTauB({}));
        QVERIFY(!kendallTauB({{{{1, 2}}, {{1}, {2}}}}));  // A ties its only pair
    }

    void krippendorffNominal()
    {
        // Units {1,1}, {2,2}, {1,2}; n = 6 pairable values.
        // D_o = (0 + 0 + 2/(2 − 1)) / 6 = 1/3.
        // Pooled: three 1s, three 2s: 3·3·2 = 18 of 6·5 = 30 ordered pairs differ: D_e = 0.6.
        // α = 1 − (1/3)/0.6 = 4/9.
        const auto a = krippendorffAlpha({{1, 1}, {2, 2}, {1, 2}}, AlphaMetric::Nominal);
        QVERIFY(std::abs(*a - 4.0 / 9.0) < 1e-12);
    }

    void krippendorffInterval()
    {
        // Units {1,2}, {3,3}; n = 4. D_o = (2·1² / 1 + 0) / 4 = 0.5.
        // Pooled 1,2,3,3: unordered squared differences 1+4+4+1+1+0 = 11, ordered 22,
        // D_e = 22 / (4·3) = 11/6. α = 1 − 0.5/(11/6) = 1 − 3/11 = 8/11.
        const auto a = krippendorffAlpha({{1, 2}, {3, 3}}, AlphaMetric::Interval);
        QVERIFY(std::abs(*a - 8.0 / 11.0) < 1e-12);
    }

    void krippendorffIgnoresSingleValues()
    {
        // A unit with one value is not pairable and changes nothing.
        const auto a = krippendorffAlpha({{1, 1}, {2, 2}, {1, 2}, {5}}, AlphaMetric::Nominal);
        QVERIFY(std::abs(*a - 4.0 / 9.0) < 1e-12);
        QVERIFY(!krippendorffAlpha({{3}, {4}}, AlphaMetric::Interval));
        QVERIFY(!krippendorffAlpha({{3, 3}, {3, 3}}, AlphaMetric::Interval));  // no variation
    }
};

QTEST_GUILESS_MAIN(TestConsensus)
#include "test_consensus.moc"
