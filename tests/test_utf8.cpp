#include <QTest>

#include "core/utf8.h"

using namespace tsumugi;

class TestUtf8 : public QObject {
    Q_OBJECT
private slots:
    void validation_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("firstBad");  // -1: valid
        QTest::newRow("ascii") << QByteArray("hello") << -1;
        QTest::newRow("japanese") << QByteArray("京都の猫") << -1;
        QTest::newRow("emoji") << QByteArray("\xF0\x9F\x98\x80") << -1;
        QTest::newRow("lone continuation") << QByteArray("ab\x80") << 2;
        QTest::newRow("truncated 3-byte") << QByteArray("a\xE4\xBA") << 1;
        QTest::newRow("overlong slash") << QByteArray("\xC0\xAF") << 0;
        QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80") << 0;
        QTest::newRow("past U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << 0;
        QTest::newRow("shift_jis") << QByteArray("\x82\xA0") << 0;
    }
    void validation()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(int, firstBad);
        const auto bad = utf8::firstInvalid(std::string_view(bytes.constData(), bytes.size()));
        QCOMPARE(bad ? static_cast<int>(*bad) : -1, firstBad);
    }

    void lengthCountsCodePoints()
    {
        QCOMPARE(utf8::length("京都"), size_t(2));
        QCOMPARE(utf8::length("a京b"), size_t(3));
        QCOMPARE(utf8::length("\xF0\x9F\x98\x80"), size_t(1));
    }

    void roundTripDecodeEncode()
    {
        const std::string text = "ｶﾀｶﾅとカタカナ、漢字々。😀";
        std::string rebuilt;
        for (size_t pos = 0; pos < text.size();) utf8::append(rebuilt, utf8::next(text, pos));
        QCOMPARE(rebuilt, text);
    }

    void characterClasses()
    {
        QVERIFY(utf8::isHiragana(U'あ'));
        QVERIFY(utf8::isKatakana(U'ア'));
        QVERIFY(utf8::isKatakana(U'ー'));
        QVERIFY(utf8::isKatakana(U'ｱ'));
        QVERIFY(utf8::isKanji(U'漢'));
        QVERIFY(utf8::isKanji(U'々'));
        QVERIFY(utf8::isJapanesePunctuation(U'。'));
        QVERIFY(utf8::isJapanesePunctuation(U'「'));
        QVERIFY(!utf8::isKanji(U'a'));
        QVERIFY(utf8::isWhitespace(U'\u3000'));
    }
};

QTEST_GUILESS_MAIN(TestUtf8)
#include "test_utf8.moc"
