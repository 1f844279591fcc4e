// datastore/quality: every check on realistic Japanese strings, each expected value worked
// out by hand (the working is in the comments or the row is small enough to count).
#include <QTest>

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "core/utf8.h"
#include "datastore/quality/check.h"
#include "datastore/quality/config.h"
#include "datastore/quality/contamination.h"
#include "datastore/quality/near_duplicates.h"
#include "quality_cases.h"

using namespace tsumugi;
using namespace tsumugi::quality;

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

QString describe(const std::vector<PiiFinding>& findings)
{
    QStringList out;
    for (const auto& f : findings)
        out << QString("%1:%2@%3-%4").arg(q(std::string(piiKindName(f.kind))), q(f.text)).arg(f.span.cpBegin).arg(f.span.cpEnd);
    return out.join(";");
}

bool near(double a, double b) { return std::fabs(a - b) < 1e-9; }

}  // namespace

class TestQuality : public QObject {
    Q_OBJECT
private slots:
    // ---- character classes --------------------------------------------------------------
    void classCounts_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QList<int>>("expected");  // hiragana katakana kanji latin digit whitespace symbol other
        // 東京の天気は晴れです。 kanji 東京天気晴, hiragana のはれです, symbol 。
        QTest::newRow("sentence") << "東京の天気は晴れです。" << QList<int>{5, 0, 5, 0, 0, 0, 1, 0};
        // コンピューター (7 with two ー) で Python を 使 う
        QTest::newRow("katakana and latin") << "コンピューターでPythonを使う" << QList<int>{3, 7, 1, 6, 0, 0, 0, 0};
        // 価格 は １２ , ８００ 円 （ 税込 ） です: full-width digits count as digits
        QTest::newRow("price") << "価格は１２,８００円（税込）です" << QList<int>{3, 0, 5, 0, 5, 0, 3, 0};
        QTest::newRow("hangul") << "안녕하세요 hello" << QList<int>{0, 0, 0, 5, 0, 1, 0, 5};
        QTest::newRow("ideographic space") << "　全角スペース" << QList<int>{0, 4, 2, 0, 0, 1, 0, 0};
        QTest::newRow("half-width kana, emoji") << "ｶﾀｶﾅ😀" << QList<int>{0, 4, 0, 0, 0, 0, 1, 0};
        QTest::newRow("empty") << "" << QList<int>{0, 0, 0, 0, 0, 0, 0, 0};
    }
    void classCounts()
    {
        QFETCH(QString, text);
        QFETCH(QList<int>, expected);
        const std::string s = text.toStdString();
        const ClassCounts c = countClasses(s);
        QList<int> got;
        for (size_t k = 0; k < kCharClassCount; ++k) got << int(c.byClass[k]);
        QCOMPARE(got, expected);
        QCOMPARE(c.chars, size_t(text.toStdU32String().size()));
    }

    void swallowFractions_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<double>("hiragana");
        QTest::addColumn<double>("katakana");
        QTest::addColumn<double>("japanese");
        // 5 hiragana, 5 kanji, 。: 11 Japanese characters of 11.
        QTest::newRow("sentence") << "東京の天気は晴れです。" << 5.0 / 11 << 0.0 << 1.0;
        // Japanese = 3 hiragana + 7 katakana + 1 kanji = 11 of 17 characters.
        QTest::newRow("mixed") << "コンピューターでPythonを使う" << 3.0 / 11 << 7.0 / 11 << 11.0 / 17;
        // 14 katakana + 、、。 = 17 of 17.
        QTest::newRow("katakana list") << "データベース、サーバー、クラウド。" << 0.0 << 14.0 / 17 << 1.0;
        QTest::newRow("english") << "This is English." << 0.0 << 0.0 << 0.0;
    }
    void swallowFractions()
    {
        QFETCH(QString, text);
        QFETCH(double, hiragana);
        QFETCH(double, katakana);
        QFETCH(double, japanese);
        const ClassCounts c = countClasses(text.toStdString());
        QVERIFY2(near(c.hiraganaFraction(), hiragana), qPrintable(QString::number(c.hiraganaFraction())));
        QVERIFY2(near(c.katakanaFraction(), katakana), qPrintable(QString::number(c.katakanaFraction())));
        QVERIFY2(near(c.japaneseFraction(), japanese), qPrintable(QString::number(c.japaneseFraction())));
    }

    void thresholds_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("failures");
        QTest::newRow("good") << "東京の天気は晴れです。" << "";
        // hiragana 0 < 0.2, katakana 14/17 > 0.5
        QTest::newRow("katakana list") << "データベース、サーバー、クラウド。" << "hiragana_fraction_min,katakana_fraction_max";
        QTest::newRow("english") << "This sentence is written in English." << "hiragana_fraction_min,japanese_fraction_min";
        QTest::newRow("too short to judge") << "OK!" << "";
        // The code block is left out: the prose 次のコードを実行します。\n has 12 Japanese of 13.
        QTest::newRow("code block") << "次のコードを実行します。\n```python\nprint('hello world')\nfor i in range(10): print(i)\n```\n"
                                    << "";
        // One line six times (16 characters each, 101 with the line breaks): 5 of 6 lines and
        // 11 of 12 sentences repeat, and most 5- to 10-grams occur more than once. The most
        // frequent 3-gram 本日は occurs 12 times in 99, 0.12: under the 0.18 limit.
        QTest::newRow("repeated lines")
            << "本日は晴天なり。本日は晴天なり。\n本日は晴天なり。本日は晴天なり。\n本日は晴天なり。本日は晴天なり。\n"
               "本日は晴天なり。本日は晴天なり。\n本日は晴天なり。本日は晴天なり。\n本日は晴天なり。本日は晴天なり。"
            << "duplicate_line_fraction_max,duplicate_line_char_fraction_max,duplicate_sentence_fraction_max,"
               "duplicate_sentence_char_fraction_max,duplicate_ngram_fraction_max.5,duplicate_ngram_fraction_max.6,duplicate_ngram_fraction_max.7,"
               "duplicate_ngram_fraction_max.8,duplicate_ngram_fraction_max.9,duplicate_ngram_fraction_max.10";
    }
    void thresholds()
    {
        QFETCH(QString, text);
        QFETCH(QString, failures);
        const TextReport r = checkText(text.toStdString(), Thresholds{}, NgWordMatcher{});
        QStringList got;
        for (const auto& f : r.failures) got << q(f.rule);
        QCOMPARE(got.join(","), failures);
    }

    void lengthThresholds()
    {
        Thresholds t;
        t.minChars = 5;
        t.maxChars = 8;
        QCOMPARE(checkText("はい", t, {}).failures.front().rule, std::string("min_chars"));
        QCOMPARE(checkText("東京の天気は晴れです。", t, {}).failures.front().rule, std::string("max_chars"));
        QVERIFY(checkText("晴れです。", t, {}).failures.empty());
    }

    // ---- repetition -------------------------------------------------------------------------
    void repetitionByHand()
    {
        // abcabcabc: 8 bigrams, ab×3 bc×3 ca×2 → 3/8; 7 trigrams, abc×3 → 3/7; 6 4-grams, each
        // ×2 → 2/6; 5-grams abcab×2 bcabc×2 cabca×1 → 2 of 3 distinct repeat; 6-grams abcabc×2
        // bcabca cabcab → 1 of 3; 7-grams all distinct → 0.
        const RepetitionStats r = measureRepetition("abcabcabc");
        QVERIFY(near(r.topNgramFraction[2], 3.0 / 8));
        QVERIFY(near(r.topNgramFraction[3], 3.0 / 7));
        QVERIFY(near(r.topNgramFraction[4], 2.0 / 6));
        QVERIFY(near(r.duplicateNgramFraction[5], 2.0 / 3));
        QVERIFY(near(r.duplicateNgramFraction[6], 1.0 / 3));
        QVERIFY(near(r.duplicateNgramFraction[7], 0.0));
        QCOMPARE(r.lines, size_t(1));
        QVERIFY(near(r.duplicateLineFraction, 0.0));
    }

    void repetitionLines_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("lines");
        QTest::addColumn<int>("sentences");
        QTest::addColumn<double>("dupLines");
        QTest::addColumn<double>("dupLineChars");
        QTest::addColumn<double>("dupSentences");
        QTest::addColumn<double>("dupSentenceChars");
        // Lines はい。 はい。 いいえ。 はい。 (the blank line is not one): 2 of 4 repeat, 6 of 13
        // characters.
        QTest::newRow("lines") << "はい。\nはい。\nいいえ。\n\nはい。" << 4 << 4 << 0.5 << 6.0 / 13 << 0.5 << 6.0 / 13;
        // One line, sentences 晴れ。 晴れ。 雨！？ (a run of marks ends one sentence).
        QTest::newRow("sentences") << "晴れ。晴れ。雨！？" << 1 << 3 << 0.0 << 0.0 << 1.0 / 3 << 1.0 / 3;
        // CRLF is one line break; a last sentence without a mark still counts.
        QTest::newRow("crlf") << "おはよう\r\nおはよう\r\nこんにちは" << 3 << 3 << 1.0 / 3 << 4.0 / 13 << 1.0 / 3
                              << 4.0 / 13;
    }
    void repetitionLines()
    {
        QFETCH(QString, text);
        QFETCH(int, lines);
        QFETCH(int, sentences);
        QFETCH(double, dupLines);
        QFETCH(double, dupLineChars);
        QFETCH(double, dupSentences);
        QFETCH(double, dupSentenceChars);
        const RepetitionStats r = measureRepetition(text.toStdString());
        QCOMPARE(int(r.lines), lines);
        QCOMPARE(int(r.sentences), sentences);
        QVERIFY2(near(r.duplicateLineFraction, dupLines), qPrintable(QString::number(r.duplicateLineFraction)));
        QVERIFY2(near(r.duplicateLineCharFraction, dupLineChars), qPrintable(QString::number(r.duplicateLineCharFraction)));
        QVERIFY2(near(r.duplicateSentenceFraction, dupSentences), qPrintable(QString::number(r.duplicateSentenceFraction)));
        QVERIFY2(near(r.duplicateSentenceCharFraction, dupSentenceChars),
                 qPrintable(QString::number(r.duplicateSentenceCharFraction)));
    }

    // ---- fast paths against straightforward references ------------------------------------------
    // Generated texts that reach every branch: Japanese documents, ASCII, digits and letters in
    // both widths, half-width kana, Hangul, emoji, line breaks (CRLF, blank lines), sentence
    // marks, fences, runs copied from earlier in the text, a 5-gram repeated more than 64 times
    // with different continuations (the chain cap), and now and then a malformed byte.
    void fastPathsMatchReferences()
    {
        test::DocumentGenerator gen(20261126);
        auto uniform = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(gen.rng()); };
        const std::vector<std::string> pieces = {
            "\n", "\r\n", "\n\n", " \n", "　", "。", "！？", "!", "?", "．", "、", "，", "abc ", "ABC", "Abc", "123",
            "１２３", "ＡＢ", "ｶﾀｶﾅ", "カタカナ", "한국어", "é", "😀", "```\n", "\xE3\x81", "\xFF", "\xC0\x8A"};
        const size_t malformed = 3;  // the last pieces
        const std::vector<std::string> words = {"東京", "カタカナ", "abc", "ABC", "bC", "é",
                                                "。「", "あいうえお", "うえ", "", "１２"};
        const std::vector<std::string> shortWords = {"a", "ｶ"};  // one byte marks many starts: apart
        const NgWordMatcher ng(words), ngShort(shortWords);
        size_t valid = 0, capped = 0;
        for (int i = 0; i < 4000; ++i) {
            std::string t;
            for (size_t parts = uniform(0, 14); parts > 0; --parts) {
                switch (uniform(0, 4)) {
                case 0: t += test::toUtf8(gen.document(1, 60)); break;
                case 1: t += pieces[uniform(0, pieces.size() - 1 - (i % 4 == 0 ? 0 : malformed))]; break;
                case 2:
                    if (!t.empty()) {  // a run copied from earlier, cut at character starts
                        size_t b = uniform(0, t.size() - 1), e = std::min(t.size(), b + uniform(1, 200));
                        while (b > 0 && (static_cast<unsigned char>(t[b]) & 0xC0) == 0x80) --b;
                        while (e < t.size() && (static_cast<unsigned char>(t[e]) & 0xC0) == 0x80) ++e;
                        t += t.substr(b, e - b);
                    }
                    break;
                case 3: t += std::string(uniform(1, 80), char('a' + uniform(0, 2))); break;
                default:
                    if (uniform(0, 3) == 0) {
                        for (size_t k = uniform(1, 100); k > 0; --k)
                            t += "あいうえお" + test::toUtf8(std::u32string(1, U'ぁ' + char32_t(uniform(0, 80))));
                        ++capped;
                    }
                }
            }
            const std::string label = "text " + std::to_string(i);
            QVERIFY2(sameRepetition(measureRepetition(t), measureRepetitionReference(t)), label.c_str());
            QVERIFY2(ng.find(t) == naiveNgWords(words, t), label.c_str());
            QVERIFY2(ngShort.find(t) == naiveNgWords(shortWords, t), label.c_str());
            if (!utf8::isValid(t)) continue;
            ++valid;
            QVERIFY2(countClasses(t) == referenceCounts(t), label.c_str());
        }
        QVERIFY(valid > 2000 && capped > 100);
    }

    // ---- brackets, widths, NFKC, language -----------------------------------------------------
    void brackets_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");  // problem:bracket@code point
        QTest::newRow("balanced") << "「こんにちは」と言った。" << "";
        QTest::newRow("unclosed") << "「こんにちは、と言った。" << "unclosed:「@0";
        QTest::newRow("unopened") << "こんにちは」と言った。" << "unopened:」@5";
        QTest::newRow("all kinds") << "『本』（上巻）【重要】" << "";
        QTest::newRow("nested") << "「彼は『はい』と言った」" << "";
        // 」 closes 「; 『 opened inside it and never closed.
        QTest::newRow("crossed") << "「彼は『はい」と言った" << "unclosed:『@3";
        // A half-width ) does not close a full-width （.
        QTest::newRow("mixed widths") << "（注意)" << "unclosed:（@0";
        QTest::newRow("half-width corners") << "｢半角｣と「全角」" << "";
        QTest::newRow("two problems") << "】と【" << "unopened:】@0;unclosed:【@2";
    }
    void brackets()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        QStringList got;
        for (const auto& b : checkBrackets(text.toStdString()))
            got << QString("%1:%2@%3").arg(q(std::string(bracketProblemName(b.problem))), q(b.bracket)).arg(b.span.cpBegin);
        QCOMPARE(got.join(";"), expected);
    }

    void width_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");  // kind:half/full@spans of the rarer form
        // 部屋は３０１号室、定員は4名です。: one half-width digit (code point 12) among three full-width.
        QTest::newRow("digits") << "部屋は３０１号室、定員は4名です。" << "digits:1/3@12-13";
        // A tie marks the full-width ones.
        QTest::newRow("latin tie") << "ＡＢＣ社とABC社" << "latin:3/3@0-3";
        QTest::newRow("katakana") << "ｶﾀｶﾅとカタカナ" << "katakana:4/4@5-9";
        QTest::newRow("one width only") << "２０２６年１１月２５日" << "";
        QTest::newRow("ascii only") << "Python 3.12で動きます" << "";
    }
    void width()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        QStringList got;
        for (const auto& w : checkWidthMixing(text.toStdString())) {
            QStringList spans;
            for (const auto& s : w.spans) spans << QString("%1-%2").arg(s.cpBegin).arg(s.cpEnd);
            got << QString("%1:%2/%3@%4").arg(q(std::string(widthKindName(w.kind)))).arg(w.halfwidth).arg(w.fullwidth).arg(spans.join(","));
        }
        QCOMPARE(got.join(";"), expected);
    }

    void nfkc_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");  // original→normalized@code points
        QTest::newRow("full-width latin and digits") << "ＡＢＣ１２３" << "ＡＢＣ１２３→ABC123@0-6";
        QTest::newRow("already normal") << "東京は晴れ。「はい」" << "";
        QTest::newRow("half-width kana with voicing") << "ｶﾞｲﾄﾞ" << "ｶﾞｲﾄﾞ→ガイド@0-5";
        QTest::newRow("unit symbol") << "約１０㎏です" << "１０㎏→10kg@1-4";
        QTest::newRow("exclamation") << "「はい」！" << "！→!@4-5";
        QTest::newRow("circled digit") << "①番" << "①→1@0-1";
    }
    void nfkc()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        const std::string s = text.toStdString();
        QStringList got;
        for (const auto& d : nfkcDifferences(s))
            got << QString("%1→%2@%3-%4").arg(q(d.original), q(d.normalized)).arg(d.span.cpBegin).arg(d.span.cpEnd);
        QCOMPARE(got.join(";"), expected);
    }

    void language_data()
    {
        QTest::addColumn<QString>("prompt");
        QTest::addColumn<QString>("answer");
        QTest::addColumn<QString>("promptLanguage");
        QTest::addColumn<QString>("answerLanguage");
        QTest::addColumn<bool>("mismatch");
        QTest::newRow("ja → en") << "日本の首都はどこですか？" << "The capital of Japan is Tokyo." << "ja" << "en" << true;
        QTest::newRow("translation asked") << "次の文を英語に翻訳してください：猫が好きです。" << "I like cats." << "ja" << "en"
                                           << false;
        QTest::newRow("ja → ja") << "日本の首都はどこですか？" << "日本の首都は東京です。" << "ja" << "ja" << false;
        QTest::newRow("answer language named") << "What is the capital of Japan? Answer in Japanese."
                                               << "日本の首都は東京です。" << "en" << "ja" << false;
        QTest::newRow("code answer") << "Pythonでリストを逆順にする方法は？"
                                     << "次のように書きます。\n```python\nxs.reverse()\nprint(xs)\n```" << "ja" << "ja" << false;
        QTest::newRow("too short to say") << "首都は？" << "Tokyo" << "" << "en" << false;
        QTest::newRow("ja → ko") << "日本の首都はどこですか？" << "일본의 수도는 도쿄입니다." << "ja" << "ko" << true;
        QTest::newRow("zh") << "中国的首都是哪里" << "北京是中国的首都" << "zh" << "zh" << false;
    }
    void language()
    {
        QFETCH(QString, prompt);
        QFETCH(QString, answer);
        QFETCH(QString, promptLanguage);
        QFETCH(QString, answerLanguage);
        QFETCH(bool, mismatch);
        const LanguageMismatch m = checkLanguageMismatch(prompt.toStdString(), answer.toStdString());
        QCOMPARE(q(m.promptLanguage), promptLanguage);
        QCOMPARE(q(m.answerLanguage), answerLanguage);
        QCOMPARE(m.mismatch, mismatch);
    }

    // ---- PII ------------------------------------------------------------------------------------
    void checkDigits()
    {
        // 12345678901 from the right: 1·2 + 0·3 + 9·4 + 8·5 + 7·6 + 6·7 + 5·2 + 4·3 + 3·4 + 2·5
        // + 1·6 = 212; 212 mod 11 = 3; 11 − 3 = 8.
        QCOMPARE(myNumberCheckDigit("12345678901"), 8);
        QVERIFY(luhnValid("4111111111111111"));
        QVERIFY(luhnValid("79927398713"));
        QVERIFY(!luhnValid("4111111111111112"));
        QVERIFY(!luhnValid("1234567890123456"));
    }

    void pii_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("email") << "連絡先は taro.yamada@example.co.jp です。" << "email:taro.yamada@example.co.jp@5-30";
        QTest::newRow("url") << "詳しくは https://example.com/docs?id=1 を見てください。"
                             << "url:https://example.com/docs?id=1@5-34";
        QTest::newRow("www, final full stop") << "URL: www.example.org." << "url:www.example.org@5-20";
        QTest::newRow("url then japanese") << "https://example.jp/a_(b)です" << "url:https://example.jp/a_(b)@0-24";
        QTest::newRow("fixed line") << "電話: 03-1234-5678" << "phone:03-1234-5678@4-16";
        QTest::newRow("mobile") << "携帯は090-1234-5678です" << "phone:090-1234-5678@3-16";
        QTest::newRow("mobile, no hyphens") << "携帯は09012345678です" << "phone:09012345678@3-14";
        QTest::newRow("free dial") << "フリーダイヤル0120-123-456まで" << "phone:0120-123-456@7-19";
        QTest::newRow("0800") << "0800-123-4567" << "phone:0800-123-4567@0-13";
        QTest::newRow("full-width") << "０９０－１２３４－５６７８に電話" << "phone:０９０－１２３４－５６７８@0-13";
        QTest::newRow("+81 mobile") << "海外から+81-90-1234-5678へ" << "phone:+81-90-1234-5678@4-20";
        QTest::newRow("+81 with spaces") << "代表 +81 3 1234 5678" << "phone:+81 3 1234 5678@3-18";
        QTest::newRow("area code in parentheses") << "受付(03)1234-5678まで" << "phone:(03)1234-5678@2-15";
        QTest::newRow("postal after 〒") << "〒100-0001 東京都千代田区千代田1-1" << "postal_code:100-0001@1-9";
        QTest::newRow("postal after 郵便番号") << "郵便番号：123-4567" << "postal_code:123-4567@5-13";
        QTest::newRow("postal before a prefecture") << "150-0002 東京都渋谷区渋谷" << "postal_code:150-0002@0-8";
        QTest::newRow("postal full-width") << "〒１００－０００１" << "postal_code:１００－０００１@1-9";
        QTest::newRow("my number") << "個人番号は123456789018です" << "my_number:123456789018@5-17";
        QTest::newRow("my number grouped") << "マイナンバー 9876 5432 1018" << "my_number:9876 5432 1018@7-21";
        QTest::newRow("visa") << "カード番号 4111 1111 1111 1111 です" << "card_number:4111 1111 1111 1111@6-25";
        QTest::newRow("jcb") << "JCB 3530111333300000" << "card_number:3530111333300000@4-20";
        QTest::newRow("two kinds") << "メール a@b.jp 電話 0312345678"
                                   << "email:a@b.jp@4-10;phone:0312345678@14-24";
        // Must not be flagged.
        QTest::newRow("date with hyphens") << "2026-11-25に開催します" << "";
        QTest::newRow("date with slashes") << "締切は2026/11/25です" << "";
        QTest::newRow("era date") << "令和8年11月25日" << "";
        QTest::newRow("price yen sign") << "価格は¥12,800です" << "";
        QTest::newRow("price 円") << "12,800円（税込）" << "";
        QTest::newRow("isbn glued") << "ISBN978-4-06-512345-6" << "";
        QTest::newRow("isbn") << "ISBN 978-4-7741-9352-9 の本" << "";
        QTest::newRow("version") << "バージョン1.2.3をリリース" << "";
        QTest::newRow("windows build") << "v10.0.19045で確認" << "";
        QTest::newRow("order number failing Luhn") << "注文番号 1234-5678-9012-3456" << "";
        QTest::newRow("order number failing check digit") << "注文番号 123456789012" << "";
        QTest::newRow("post office lot, no context") << "郵便局は123-4567番地" << "";
        QTest::newRow("score") << "試合は3-1で勝った" << "";
        QTest::newRow("zeros") << "例: 0000-00-0000" << "";
        QTest::newRow("stock count") << "在庫 1234567890 個" << "";
        QTest::newRow("id glued to letters") << "ID09012345678" << "";
        QTest::newRow("no dot in domain") << "a@b に送る" << "";
        QTest::newRow("mention") << "メール@メンション" << "";
        QTest::newRow("decimal") << "円周率は3.14159265358979です" << "";
    }
    void pii()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        const std::string s = text.toStdString();
        const auto findings = scanPii(s);
        QCOMPARE(describe(findings), expected);
        for (const auto& f : findings) QCOMPARE(s.substr(f.span.begin, f.span.end - f.span.begin), f.text);
    }

    void piiDigits()
    {
        const auto f = scanPii("+81-90-1234-5678");
        QCOMPARE(f.size(), size_t(1));
        QCOMPARE(f[0].digits, std::string("09012345678"));  // national form
        QCOMPARE(scanPii("０３－１２３４－５６７８")[0].digits, std::string("0312345678"));
    }

    // ---- NG words -----------------------------------------------------------------------------
    void ngWords_data()
    {
        QTest::addColumn<QStringList>("words");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");  // word@code points
        QTest::newRow("three words, ASCII case folded") << QStringList{"死ね", "バカ", "spam"} << "このバカ！SPAMは死ね"
                                                        << "バカ@2-4;spam@5-9;死ね@10-12";
        // Overlaps: all three reported, longest first at one start.
        QTest::newRow("overlapping") << QStringList{"東京", "東京都", "京都"} << "東京都に住む"
                                     << "東京都@0-3;東京@0-2;京都@1-3";
        QTest::newRow("none") << QStringList{"禁止語"} << "問題のない文です。" << "";
        QTest::newRow("repeated") << QStringList{"ああ"} << "あああ" << "ああ@0-2;ああ@1-3";
    }
    void ngWords()
    {
        QFETCH(QStringList, words);
        QFETCH(QString, text);
        QFETCH(QString, expected);
        std::vector<std::string> list;
        for (const auto& w : words) list.push_back(w.toStdString());
        const NgWordMatcher m(list);
        QStringList got;
        for (const auto& match : m.find(text.toStdString()))
            got << QString("%1@%2-%3").arg(q(list[match.word])).arg(match.span.cpBegin).arg(match.span.cpEnd);
        QCOMPARE(got.join(";"), expected);
    }

    // ---- settings --------------------------------------------------------------------------------
    void thresholdsFromSettings()
    {
        const Thresholds t = thresholdsFromJson(nlohmann::json::parse(
            R"({"hiragana_fraction_min": 0.15, "min_chars": 10, "top_ngram_fraction_max": {"3": 0.25}})"));
        QCOMPARE(t.hiraganaFractionMin, 0.15);
        QCOMPARE(*t.minChars, size_t(10));
        QCOMPARE(t.topNgramFractionMax[3], 0.25);
        QCOMPARE(t.topNgramFractionMax[2], 0.20);  // untouched default
        QCOMPARE(t.katakanaFractionMax, 0.5);
        QVERIFY(thresholdsFromJson(thresholdsToJson(t)).topNgramFractionMax == t.topNgramFractionMax);
        QVERIFY_THROWS_EXCEPTION(Error, thresholdsFromJson(nlohmann::json::parse(R"({"hiragana_min": 0.1})")));
        QVERIFY_THROWS_EXCEPTION(Error, thresholdsFromJson(nlohmann::json::parse(R"({"katakana_fraction_max": 1.5})")));
        QVERIFY_THROWS_EXCEPTION(Error, thresholdsFromJson(nlohmann::json::parse(R"({"top_ngram_fraction_max": {"7": 0.1}})")));
        QVERIFY_THROWS_EXCEPTION(Error, ngWordsFromJson(nlohmann::json::parse(R"(["ok", 3])")));
        QCOMPARE(ngWordsFromJson(nlohmann::json::parse(R"(["NG", ""])")).size(), size_t(1));
    }

    // ---- near duplicates ---------------------------------------------------------------------
    void bandsAndRows()
    {
        // r = 6: 0.8^6 = 0.262; (1 − 0.262)^b ≤ 0.01 needs b ≥ 15.2 → 16 (96 hashes); r = 7
        // would need 20 × 7 = 140 > 100.
        const BandsRows br = chooseBandsRows(0.8);
        QCOMPARE(br.bands, size_t(16));
        QCOMPARE(br.rows, size_t(6));
        QVERIFY(candidateProbability(0.8, br) >= 0.99);
        QVERIFY(candidateProbability(0.5, br) < 0.25);
    }

    void jaccardByHand()
    {
        // あいうえおか: あいうえお, いうえおか; あいうえおき: あいうえお, いうえおき → 1 shared of 3.
        QVERIFY(near(jaccard("あいうえおか", "あいうえおき"), 1.0 / 3));
        QVERIFY(near(jaccard("同じ文です。", "同じ文です。"), 1.0));
        QVERIFY(near(jaccard("短い", "短い"), 1.0));  // shorter than 5: one gram, the text
        QVERIFY(near(jaccard("短い", "長い"), 0.0));
    }

    void clusters()
    {
        const std::vector<std::string> texts = {
            "京都でおすすめの観光地を三つ、理由と一緒に教えてください。できれば春に行きたいです。",
            "京都でおすすめの観光地を三つ、理由と一緒に教えてください。できれば秋に行きたいです。",
            "京都でおすすめの観光地を三つ、理由と一緒に教えてください。できれば春に行きたいです。",
            "大阪で安くておいしいラーメン屋を探しています。",
            "富士山に登るときの持ち物を箇条書きで教えてください。",
        };
        // 0 and 1 differ in one character of 42: 38 five-grams each, the 5 that cover the
        // changed character differ, so 33 shared of 43 in the union: 0.767 < 0.8. With
        // threshold 0.7 they join.
        NearDuplicateParams params;
        params.threshold = 0.7;
        NearDuplicateFinder finder(params);
        for (const auto& t : texts) finder.add(t);
        const auto r = finder.run([&](uint32_t d) { return std::string_view(texts[d]); });
        QCOMPARE(r.clusters.size(), size_t(1));
        QCOMPARE(r.clusters[0], (std::vector<uint32_t>{0, 1, 2}));
        const double j01 = jaccard(texts[0], texts[1]);
        QVERIFY2(near(j01, 33.0 / 43), qPrintable(QString::number(j01)));
        bool exact02 = false;
        for (const auto& p : r.pairs) exact02 |= p.a == 0 && p.b == 2 && p.exact;
        QVERIFY(exact02);

        NearDuplicateFinder strict;  // 0.8: only the exact copy
        for (const auto& t : texts) strict.add(t);
        const auto s = strict.run([&](uint32_t d) { return std::string_view(texts[d]); });
        QCOMPARE(s.clusters.size(), size_t(1));
        QCOMPARE(s.clusters[0], (std::vector<uint32_t>{0, 2}));
    }

    void acrossGroups()
    {
        const std::vector<std::string> texts = {"日本の四季について説明してください。", "日本の四季について説明してください。",
                                                "日本の四季について説明してください。", "全く別の話題です。"};
        NearDuplicateFinder finder;
        finder.add(texts[0], 0);
        finder.add(texts[1], 0);
        finder.add(texts[2], 1);
        finder.add(texts[3], 1);
        const auto r = finder.run([&](uint32_t d) { return std::string_view(texts[d]); }, true);
        QCOMPARE(r.pairs.size(), size_t(1));  // the copy within group 0 is not reported
        QCOMPARE(r.pairs[0].a, 0u);
        QCOMPARE(r.pairs[0].b, 2u);
    }

    // Planted near duplicates, scored against exact Jaccard computed independently (sets of
    // 5-character strings, no hashing). 100,000 documents take about 2 s on one core here;
    // bench_quality times the same detection over 1M.
    void recallAndPrecision()
    {
        plantedRun(100000);
    }

    // ---- contamination ------------------------------------------------------------------------
    void evalLayouts()
    {
        QTemporaryDir dir;
        const std::string elyza = write(dir, "elyza.jsonl", test::kElyzaLines);
        const std::string mt = write(dir, "mt.jsonl", test::kMtBenchLines);
        const auto e = readTextFields(elyza);
        QCOMPARE(e.size(), size_t(4));  // input and output of two lines; eval_aspect left out
        QCOMPARE(e[1].field, std::string("output"));
        QCOMPARE(e[3].line, int64_t(2));
        const auto m = readTextFields(mt);
        QCOMPARE(m.size(), size_t(4));
        QCOMPARE(m[1].field, std::string("turns[1]"));
        QVERIFY(m[1].text.rfind("前の回答", 0) == 0);
        const std::string bad = write(dir, "bad.jsonl", test::kBadEvalLines);
        try {
            readTextFields(bad);
            QFAIL("a line without text fields must be refused");
        } catch (const ParseError& err) {
            QCOMPARE(err.line(), int64_t(1));
            QVERIFY(std::string(err.what()).find("--field") != std::string::npos);
        }
        QCOMPARE(readTextFields(bad, {"category"}).size(), size_t(1));
    }

    void contamination_data()
    {
        QTest::addColumn<QString>("item");
        QTest::addColumn<int>("ngram");
        QTest::addColumn<QString>("expected");  // eval line:field:shared length, …
        // The second ELYZA output's last sentence, 53 non-whitespace characters, reflowed.
        const QString quoted = "回答例：一つ目の文章では、相手が何度もテストで赤点を取っていることに\n対して苛立ちを感じているように見受けられます。以上です。";
        QTest::newRow("quoted, reflowed") << quoted << 50 << "2:output:53";
        QTest::newRow("shorter than n") << quoted << 60 << "";
        // MT-Bench question 82's first turn (29 characters) whole: shorter than n, so matched
        // whole.
        QTest::newRow("short question whole") << "課題：上司にフィードバックを求めるプロのメールを書いてください。" << 50
                                              << "2:turns[0]:29";
        QTest::newRow("clean") << "東京の天気は晴れです。" << 50 << "";
    }
    void contamination()
    {
        QFETCH(QString, item);
        QFETCH(int, ngram);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        auto texts = readTextFields(write(dir, "elyza.jsonl", test::kElyzaLines));
        for (auto& t : readTextFields(write(dir, "mt.jsonl", test::kMtBenchLines))) texts.push_back(t);
        const ContaminationIndex index(texts, size_t(ngram));
        const std::string s = item.toStdString();
        QStringList got;
        for (const auto& h : index.find(s)) {
            const auto& e = index.texts()[h.eval];
            got << QString("%1:%2:%3").arg(e.line).arg(q(e.field)).arg(h.length);
            // The spans hold the same characters, whitespace aside.
            auto strip = [](std::string x) {
                std::string out;
                for (char c : x)
                    if (c != '\n' && c != ' ') out += c;
                return out;
            };
            QCOMPARE(strip(s.substr(h.itemSpan.begin, h.itemSpan.end - h.itemSpan.begin)),
                     strip(e.text.substr(h.evalSpan.begin, h.evalSpan.end - h.evalSpan.begin)));
        }
        QCOMPARE(got.join(","), expected);
    }

    // ---- all at once ---------------------------------------------------------------------------
    void checkTextReport()
    {
        const NgWordMatcher ng({"バカ"});
        const std::string text = "バカなことを言うな。電話は090-1234-5678、「本当に？";
        const TextReport r = checkText(text, Thresholds{}, ng);
        QCOMPARE(r.ngWords.size(), size_t(1));
        QCOMPARE(r.pii.size(), size_t(1));
        QCOMPARE(r.brackets.size(), size_t(1));
        QCOMPARE(r.chars, size_t(utf8Length(text)));
        QVERIFY(!r.clean());
        const auto j = reportJson(r, ng);
        QCOMPARE(j["pii"][0]["span"]["cp_begin"].get<int>(), 13);
        QCOMPARE(j["ng_words"][0]["word"].get<std::string>(), std::string("バカ"));
    }

private:
    static size_t utf8Length(const std::string& s) { return QString::fromStdString(s).toStdU32String().size(); }

    static bool sameRepetition(const RepetitionStats& a, const RepetitionStats& b)
    {
        return a.lines == b.lines && a.sentences == b.sentences && a.duplicateLineFraction == b.duplicateLineFraction &&
               a.duplicateLineCharFraction == b.duplicateLineCharFraction &&
               a.duplicateSentenceFraction == b.duplicateSentenceFraction &&
               a.duplicateSentenceCharFraction == b.duplicateSentenceCharFraction &&
               a.topNgramFraction == b.topNgramFraction && a.duplicateNgramFraction == b.duplicateNgramFraction;
    }

    // Class counts one code point at a time through classify(), as the definitions read.
    static ClassCounts referenceCounts(const std::string& text)
    {
        ClassCounts c;
        for (size_t pos = 0; pos < text.size();) {
            const char32_t cp = utf8::next(text, pos);
            const CharClass k = classify(cp);
            ++c.chars;
            ++c.byClass[size_t(k)];
            if (cp < 0x80) {
                c.asciiDigits += k == CharClass::Digit;
                c.asciiLatin += k == CharClass::Latin;
                continue;
            }
            c.kutenToten += std::u32string_view(U"、，。．！？").find(cp) != std::u32string_view::npos;
            c.fullwidthDigits += k == CharClass::Digit;
            c.fullwidthLatin += k == CharClass::Latin && cp >= 0xFF21;
            c.halfwidthKatakana += k == CharClass::Katakana && cp >= 0xFF66;
            const bool hangul =
                (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F);
            c.hangul += k == CharClass::OtherLetter && hangul;
        }
        return c;
    }

    // Every occurrence of every word by comparing at each byte, ASCII letters folded; a word
    // that folds to an earlier one is that one.
    static std::vector<NgWordMatch> naiveNgWords(const std::vector<std::string>& words, const std::string& text)
    {
        auto fold = [](std::string s) {
            for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
            return s;
        };
        const std::string folded = fold(text);
        std::vector<NgWordMatch> out;
        std::set<std::string> seen;
        for (size_t w = 0; w < words.size(); ++w) {
            const std::string word = fold(words[w]);
            if (word.empty() || !seen.insert(word).second) continue;
            for (size_t at = folded.find(word); at != std::string::npos; at = folded.find(word, at + 1))
                out.push_back({w, {at, at + word.size(), utf8::length(text.substr(0, at)),
                                   utf8::length(text.substr(0, at + word.size()))}});
        }
        std::sort(out.begin(), out.end(), [](const NgWordMatch& a, const NgWordMatch& b) {
            return a.span.begin != b.span.begin ? a.span.begin < b.span.begin : a.span.end > b.span.end;
        });
        return out;
    }

    static std::string write(QTemporaryDir& dir, const char* name, const char* content)
    {
        const std::string path = dir.filePath(name).toStdString();
        QFile f(QString::fromStdString(path));
        if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", path.c_str());
        f.write(content);
        return path;
    }

public:
    static void plantedRun(size_t documents)
    {
        test::DocumentGenerator gen(20261125);
        std::vector<std::u32string> docs;
        std::vector<int64_t> family;  // planted family, -1 for a lone document
        while (docs.size() < documents) {
            const std::u32string d = gen.document(40, 160);
            const bool plant = std::uniform_int_distribution<int>(0, 9)(gen.rng()) == 0;  // one in ten
            const int64_t fam = plant ? int64_t(docs.size()) : -1;
            docs.push_back(d);
            family.push_back(fam);
            if (!plant) continue;
            const int copies = std::uniform_int_distribution<int>(1, 3)(gen.rng());
            for (int c = 0; c < copies && docs.size() < documents; ++c) {
                // 0 … 8 edits: similarities from 1 down to below 0.6, around the threshold.
                const size_t edits = std::uniform_int_distribution<size_t>(0, 8)(gen.rng());
                docs.push_back(gen.variant(d, edits));
                family.push_back(fam);
            }
        }
        std::vector<std::string> texts;
        for (const auto& d : docs) texts.push_back(test::toUtf8(d));

        NearDuplicateFinder finder;  // threshold 0.8
        for (const auto& t : texts) finder.add(t);
        const auto result = finder.run([&](uint32_t d) { return std::string_view(texts[d]); });

        // Reference Jaccard: sets of 5-code-point strings.
        auto grams = [&](size_t d) {
            std::set<std::u32string> g;
            const auto& s = docs[d];
            if (s.size() < 5) g.insert(s);
            for (size_t i = 0; i + 5 <= s.size(); ++i) g.insert(s.substr(i, 5));
            return g;
        };
        auto reference = [&](size_t a, size_t b) {
            const auto ga = grams(a), gb = grams(b);
            size_t common = 0;
            for (const auto& x : ga) common += gb.count(x);
            return double(common) / double(ga.size() + gb.size() - common);
        };
        // Truth: pairs within a planted family at ≥ 0.8.
        std::map<int64_t, std::vector<size_t>> families;
        for (size_t d = 0; d < docs.size(); ++d)
            if (family[d] >= 0) families[family[d]].push_back(d);
        std::set<std::pair<uint32_t, uint32_t>> truth;
        size_t belowThreshold = 0;
        for (const auto& [f, members] : families)
            for (size_t x = 0; x < members.size(); ++x)
                for (size_t y = x + 1; y < members.size(); ++y) {
                    if (reference(members[x], members[y]) >= 0.8) truth.emplace(uint32_t(members[x]), uint32_t(members[y]));
                    else ++belowThreshold;
                }
        // Unrelated documents must really be unrelated for the truth above to be whole: a
        // sample of random pairs stays far below the threshold.
        std::mt19937_64 rng(7);
        double maxRandom = 0;
        for (int k = 0; k < 2000; ++k) {
            const size_t a = rng() % docs.size(), b = rng() % docs.size();
            if (a != b && (family[a] < 0 || family[a] != family[b])) maxRandom = std::max(maxRandom, reference(a, b));
        }
        QVERIFY2(maxRandom < 0.5, qPrintable(QString("random pair at %1").arg(maxRandom)));

        // Exact duplicates come as a star around the first copy; the pairs between the other
        // copies are reported through it, so count them as reported.
        std::vector<SimilarPair> reported = result.pairs;
        std::map<uint32_t, std::vector<uint32_t>> stars;
        for (const auto& p : result.pairs)
            if (p.exact) stars[p.a].push_back(p.b);
        for (const auto& [first, copies] : stars)
            for (size_t x = 0; x < copies.size(); ++x)
                for (size_t y = x + 1; y < copies.size(); ++y)
                    reported.push_back({std::min(copies[x], copies[y]), std::max(copies[x], copies[y]), 1.0, true});
        size_t truePositives = 0, reportedTrue = 0;
        for (const auto& p : reported) {
            const double s = reference(p.a, p.b);
            reportedTrue += s >= 0.8;
            truePositives += truth.count({p.a, p.b});
            if (!truth.count({p.a, p.b}) && s >= 0.8) truth.emplace(p.a, p.b);  // a real pair the plan missed
        }
        const double recall = double(truePositives) / double(truth.size());
        const double precision = double(reportedTrue) / double(reported.size());
        qInfo("documents %zu, planted pairs ≥ 0.8: %zu (below: %zu), reported %zu, candidates %zu, recall %.4f, "
              "precision %.4f, clusters %zu",
              docs.size(), truth.size(), belowThreshold, reported.size(), result.candidates, recall, precision,
              result.clusters.size());
        QVERIFY(truth.size() > documents / 40);
        QVERIFY(belowThreshold > 0);  // the plan does test the threshold
        QVERIFY2(recall >= 0.95, qPrintable(QString::number(recall)));
        QVERIFY2(precision >= 0.95, qPrintable(QString::number(precision)));
    }
};

QTEST_GUILESS_MAIN(TestQuality)
#include "test_quality.moc"
