// Data for test_quality and test_quality_workspace kept out of the .cpp files (moc chokes
// on some raw string literals): evaluation-set lines in their published layouts, and a
// deterministic generator of Japanese-looking documents with planted near duplicates.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tsumugi::test {

// ELYZA-tasks-100 layout: input, output, eval_aspect. Line 2's output is quoted by the
// contaminated item in the tests.
inline const char* kElyzaLines =
    R"({"input": "仕事の熱意を取り戻すためのアイデアを5つ挙げてください。", "output": "1. 自分の仕事に対する興味を再発見するために、新しい技能や知識を学ぶこと。\n2. カレッジやセミナーなどで講演を聴くことで、仕事に対する新しいアイデアや視点を得ること。", "eval_aspect": "- 熱意を取り戻すのではなく、仕事の効率化・スキルアップのような文脈になっていたら1点減点"}
{"input": "次の文章を読んで、その人がどの程度怒っているか、1〜10の尺度で評価してください。(1＝怒っていない、10＝非常に怒っている)。\n\n1. またテストで赤点か。君は全く...\n2. テストで赤点？今回は難しかったね。", "output": "1. 7\n2. 1\n\n一つ目の文章では、相手が何度もテストで赤点を取っていることに対して苛立ちを感じているように見受けられます。", "eval_aspect": "- 1と2の怒りの程度が正しく区別できていれば満点"}
)";

// Japanese MT-Bench layout: question_id, category, turns (a list).
inline const char* kMtBenchLines =
    R"({"question_id": 81, "category": "writing", "turns": ["ハワイへの最近の旅行について、文化的な体験や必見の観光スポットを紹介する魅力的な旅行ブログ記事を作成してください。", "前の回答を書き直してください。すべての文を「あ」で始めてください。"]}
{"question_id": 82, "category": "writing", "turns": ["上司にフィードバックを求めるプロのメールを書いてください。", "自分の回答を評価して批評してください。"]}
)";

// A line with no text field, for the error.
inline const char* kBadEvalLines = R"({"question_id": 1, "category": "math"}
)";

// Documents of kana and kanji "words" drawn with a Zipf law, so unrelated documents share
// common words but few 5-grams, like real instructions do.
class DocumentGenerator {
public:
    explicit DocumentGenerator(uint64_t seed) : m_rng(seed)
    {
        static const char32_t* syllables =
            U"あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
            U"がぎぐげござじずぜぞだでどばびぶべぼアイウエオカキクケコサシスセソタチツテトナニヌネノ"
            U"日本語文章作成説明質問回答東京大阪京都時間会社仕事学校先生情報技術";
        std::u32string all(syllables);
        std::uniform_int_distribution<size_t> pick(0, all.size() - 1), length(1, 4);
        for (int w = 0; w < 3000; ++w) {
            std::u32string word;
            for (size_t k = length(m_rng); k > 0; --k) word += all[pick(m_rng)];
            m_words.push_back(word);
        }
        std::vector<double> weights;
        for (size_t i = 0; i < m_words.size(); ++i) weights.push_back(1.0 / double(i + 1));
        m_zipf = std::discrete_distribution<size_t>(weights.begin(), weights.end());
    }

    std::u32string document(size_t minChars, size_t maxChars)
    {
        const size_t target = std::uniform_int_distribution<size_t>(minChars, maxChars)(m_rng);
        std::u32string d;
        while (d.size() < target) {
            d += m_words[m_zipf(m_rng)];
            if (std::uniform_int_distribution<int>(0, 9)(m_rng) == 0) d += U'。';
        }
        return d.substr(0, target);
    }

    // A copy with `edits` random substitutions, insertions or deletions.
    std::u32string variant(std::u32string d, size_t edits)
    {
        for (size_t e = 0; e < edits && !d.empty(); ++e) {
            const size_t at = std::uniform_int_distribution<size_t>(0, d.size() - 1)(m_rng);
            const char32_t c = U'ぁ' + char32_t(std::uniform_int_distribution<int>(0, 80)(m_rng));
            switch (std::uniform_int_distribution<int>(0, 2)(m_rng)) {
            case 0: d[at] = c; break;
            case 1: d.insert(d.begin() + long(at), c); break;
            default: d.erase(d.begin() + long(at)); break;
            }
        }
        return d;
    }

    std::mt19937_64& rng() { return m_rng; }

private:
    std::mt19937_64 m_rng;
    std::vector<std::u32string> m_words;
    std::discrete_distribution<size_t> m_zipf;
};

inline std::string toUtf8(const std::u32string& s)
{
    std::string out;
    for (char32_t c : s) {
        if (c < 0x80) {
            out += char(c);
        } else if (c < 0x800) {
            out += char(0xC0 | (c >> 6));
            out += char(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += char(0xE0 | (c >> 12));
            out += char(0x80 | ((c >> 6) & 0x3F));
            out += char(0x80 | (c & 0x3F));
        } else {
            out += char(0xF0 | (c >> 18));
            out += char(0x80 | ((c >> 12) & 0x3F));
            out += char(0x80 | ((c >> 6) & 0x3F));
            out += char(0x80 | (c & 0x3F));
        }
    }
    return out;
}

}  // namespace tsumugi::test
