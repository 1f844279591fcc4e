// What every benchmark shares: the machine line, a fixed-seed generator of Japanese text,
// a temporary folder, timing, percentiles, JSONL writing and the final "RESULT" line.
// Header-only: each benchmark is one program that reads setup → measure → report → cleanup.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <sqlite3.h>

namespace tsumugi::bench {

// ~350 words and phrases: 50 particles, endings and connectives, then ~300 content words,
// most frequent first (draws follow a Zipf law over this order), so some words fill most
// messages and the last ones appear in a few percent of them.
inline const std::vector<std::string_view>& vocabulary()
{
    // clang-format off
    static const std::vector<std::string_view> words = {
        // particles and glue: very common
        "の", "は", "が", "を", "に", "で", "と", "も", "から", "まで", "より", "へ", "や", "など",
        "について", "として", "ため", "こと", "もの", "ように", "です", "ます", "でした", "ました", "ません",
        "でしょう", "ください", "ですね", "ですか", "それで", "しかし", "また", "そして", "つまり", "例えば",
        "なお", "ただし", "まず", "次に", "最後に", "とても", "少し", "かなり", "もっと", "すでに", "まだ",
        "よく", "必ず", "たぶん", "やはり",
        // common nouns and verbs
        "日本", "東京", "京都", "大阪", "学校", "会社", "仕事", "時間", "今日", "明日", "昨日", "天気",
        "電車", "先生", "学生", "友達", "家族", "子ども", "料理", "写真", "映画", "音楽", "本", "手紙",
        "電話", "言葉", "問題", "説明", "質問", "答え", "意味", "理由", "結果", "方法", "情報", "データ",
        "システム", "モデル", "ユーザー", "サービス", "アプリ", "コンピューター", "インターネット", "メール",
        "ファイル", "プログラム", "テスト", "レポート", "ニュース", "スマホ", "行きます", "来ます", "見ます",
        "食べます", "飲みます", "書きます", "読みます", "話します", "聞きます", "考えます", "思います",
        "使います", "作ります", "調べます", "教えます", "分かります", "できます", "あります", "います",
        "なります", "始めます", "終わります", "待ちます", "働きます", "休みます",
        // adjectives and mid-frequency words
        "大きい", "小さい", "新しい", "古い", "高い", "安い", "難しい", "易しい", "面白い", "楽しい",
        "忙しい", "静かな", "便利な", "大切な", "簡単な", "必要な", "有名な", "丁寧な", "正確な", "自然な",
        "春", "夏", "秋", "冬", "朝", "昼", "夜", "駅", "空港", "病院", "図書館", "公園", "銀行", "郵便局",
        "お茶", "コーヒー", "ラーメン", "寿司", "天ぷら", "おにぎり", "味噌汁", "弁当", "果物", "野菜",
        "経済", "政治", "歴史", "文化", "科学", "技術", "環境", "社会", "教育", "健康", "医療", "法律",
        "会議", "資料", "予定", "計画", "目標", "予算", "売上", "顧客", "製品", "品質", "改善", "提案",
        "要約", "翻訳", "分類", "抽出", "推論", "創作", "敬語", "雑談", "感想", "意見", "具体的に", "簡潔に",
        "丁寧に", "箇条書きで", "三つ", "五つ", "十分", "半分", "全部", "一つずつ",
        // rarer words
        "富士山", "北海道", "沖縄", "新幹線", "温泉", "旅館", "神社", "お寺", "桜", "紅葉", "花火", "祭り",
        "着物", "浴衣", "俳句", "短歌", "将棋", "囲碁", "相撲", "柔道", "剣道", "茶道", "書道", "生け花",
        "カタカナ", "ひらがな", "漢字", "ローマ字", "アルゴリズム", "データベース", "ネットワーク",
        "セキュリティ", "パスワード", "クラウド", "サーバー", "ブラウザ", "キーボード", "ディスプレイ",
        "プリンター", "カメラ", "ロボット", "エンジニア", "デザイナー", "マネージャー", "プロジェクト",
        "スケジュール", "ミーティング", "プレゼンテーション", "トラブル", "メンテナンス", "バージョン",
        "アップデート", "インストール", "ダウンロード", "アップロード", "バックアップ", "ログイン", "地震",
        "台風", "梅雨", "猛暑", "大雪", "火山", "津波", "避難", "防災", "保険", "年金", "税金", "確定申告",
        "住民票", "印鑑", "契約書", "請求書", "見積書", "領収書", "納品書", "議事録", "就職活動", "面接",
        "履歴書", "転職", "退職", "昇進", "出張", "残業", "有給休暇", "在宅勤務", "猫", "犬", "鳥", "魚",
        "金魚", "うさぎ", "ハムスター", "カブトムシ", "ひまわり", "あじさい", "たんぽぽ", "すみれ", "竹",
        "松", "梅", "蛍", "鶴", "亀", "狐", "狸",
        // rarest (kRareWords): drawn apart, for one content word in 200
        "囲炉裏", "蚊帳", "風鈴", "羊羹", "最中", "饅頭", "煎餅", "団扇", "扇子", "提灯", "鏑矢", "篳篥",
        "蹴鞠", "薙刀", "鎧兜", "瓦版", "寺子屋", "飛脚", "駕籠", "行灯", "鬼灯", "蕗の薹", "土筆", "蓬餅",
        "柏餅", "粽", "雛祭り", "七夕", "盂蘭盆", "大晦日",
    };
    // clang-format on
    return words;
}

// Index ranges of vocabulary(): particles, sentence endings, connectives and adverbs, then
// the ~300 content words (nouns, verbs, adjectives) in frequency order.
inline constexpr size_t kParticlesEnd = 20;
inline constexpr size_t kEndingsEnd = 29;
inline constexpr size_t kContentBegin = 50;
inline constexpr size_t kRareWords = 30;  // the last 30: a tail of rare words

// Generates sentences with a fixed seed: (content word + particle [、]) × 1–4, then a
// content word and an ending, 。. Content words follow a Zipf law over the vocabulary's
// order, one in 200 comes from the rare tail (its own Zipf law), so queries range from
// "in nearly every message" to "in a few hundred of a million"; a few words are quoted in
// 「」; some sentences open with a connective.
class JapaneseText {
public:
    explicit JapaneseText(uint64_t seed = 20260101) : m_rng(seed)
    {
        auto zipf = [](size_t n, double exponent) {
            std::vector<double> weights;
            for (size_t i = 0; i < n; ++i) weights.push_back(1.0 / std::pow(double(i + 1), exponent));
            return std::discrete_distribution<size_t>(weights.begin(), weights.end());
        };
        m_content = zipf(vocabulary().size() - kContentBegin - kRareWords, 0.9);
        m_rare = zipf(kRareWords, 1.0);
    }

    // A text of minChars..maxChars characters (code points), whole sentences.
    std::string next(int minChars, int maxChars)
    {
        const int target = uniform(minChars, maxChars);
        std::string out;
        int length = 0;
        for (int attempt = 0; length < target && attempt < 64; ++attempt) {
            const std::string s = sentence();
            const int chars = codePoints(s);
            if (length + chars > maxChars) {
                if (length >= minChars) break;
                continue;  // too long for what is left; draw another
            }
            out += s;
            length += chars;
        }
        while (length < minChars) {  // rare: every draw ran past the limit
            out += "はい。";
            length += 3;
        }
        return out;
    }

    std::mt19937_64& rng() { return m_rng; }

    static int codePoints(std::string_view s)
    {
        int n = 0;
        for (unsigned char c : s) n += (c & 0xC0) != 0x80;
        return n;
    }

private:
    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(m_rng); }
    std::string_view pick(size_t begin, size_t end) { return vocabulary()[size_t(uniform(int(begin), int(end) - 1))]; }
    std::string content()
    {
        const size_t rareBegin = vocabulary().size() - kRareWords;
        const std::string word(uniform(0, 199) == 0 ? vocabulary()[rareBegin + m_rare(m_rng)]
                                                    : vocabulary()[kContentBegin + m_content(m_rng)]);
        return uniform(0, 99) < 5 ? "「" + word + "」" : word;
    }

    std::string sentence()
    {
        std::string s;
        if (uniform(0, 99) < 15) s += std::string(pick(kEndingsEnd, kContentBegin)) + "、";
        const int clauses = uniform(1, 4);
        for (int i = 0; i < clauses; ++i) {
            s += content();
            s += pick(0, kParticlesEnd);
            if (uniform(0, 99) < 20) s += "、";
        }
        s += content();
        s += pick(kParticlesEnd, kEndingsEnd);
        s += "。";
        return s;
    }

    std::mt19937_64 m_rng;
    std::discrete_distribution<size_t> m_content;
    std::discrete_distribution<size_t> m_rare;
};

// One instruction and its answer (the `messages` format's two turns).
struct Conversation {
    std::string user;
    std::string assistant;
};

inline std::vector<Conversation> generateConversations(int64_t count, uint64_t seed)
{
    JapaneseText gen(seed);
    std::vector<Conversation> out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        Conversation c;
        c.user = gen.next(40, 160);
        c.assistant = gen.next(80, 300);
        out.push_back(std::move(c));
    }
    return out;
}

inline std::string jsonString(std::string_view s)
{
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"')
            out += "\\\"";
        else if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else
            out += ch;
    }
    return out + "\"";
}

// {"messages":[{"role":"user","content":…},{"role":"assistant","content":…}]}
inline std::string messagesLine(const Conversation& c)
{
    return R"({"messages":[{"role":"user","content":)" + jsonString(c.user) + R"(},{"role":"assistant","content":)" +
           jsonString(c.assistant) + "}]}\n";
}

inline void writeMessagesJsonl(const std::filesystem::path& path, const std::vector<Conversation>& conversations)
{
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + path.string());
    for (const Conversation& c : conversations) out << messagesLine(c);
    if (!out.flush()) throw std::runtime_error("writing " + path.string() + " failed (disk full?)");
}

// Generates `count` conversations straight into a `messages` JSONL file, 10k at a time, so a
// million messages never sit in memory at once; returns the first `keep` of them (samples).
inline std::vector<Conversation> generateMessagesJsonl(const std::filesystem::path& path, int64_t count, uint64_t seed,
                                                       int64_t keep = 0)
{
    JapaneseText gen(seed);
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + path.string());
    std::vector<Conversation> kept;
    std::string chunk;
    for (int64_t i = 0; i < count; ++i) {
        Conversation c{gen.next(40, 160), gen.next(80, 300)};
        chunk += messagesLine(c);
        if (i < keep) kept.push_back(std::move(c));
        if (chunk.size() > (4 << 20)) {
            out << chunk;
            chunk.clear();
        }
    }
    out << chunk;
    if (!out.flush()) throw std::runtime_error("writing " + path.string() + " failed (disk full?)");
    return kept;
}

// A fresh folder under the system's temporary directory, removed with everything in it.
class TempDir {
public:
    explicit TempDir(const std::string& prefix)
    {
        const auto base = std::filesystem::temp_directory_path();
        std::random_device rd;
        for (int attempt = 0; attempt < 100; ++attempt) {
            auto candidate = base / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000));
            if (std::filesystem::create_directory(candidate)) {
                m_path = candidate;
                return;
            }
        }
        throw std::runtime_error("cannot create a temporary folder under " + base.string());
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
    std::filesystem::path m_path;
};

class Stopwatch {
public:
    Stopwatch() : m_start(std::chrono::steady_clock::now()) {}
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count(); }
    double millis() const { return seconds() * 1000.0; }

private:
    std::chrono::steady_clock::time_point m_start;
};

// Nearest-rank percentile (p in 0..100) of unsorted samples.
inline double percentile(std::vector<double> samples, double p)
{
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(samples.size())));
    return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

inline std::string readFirstLine(const std::string& path, const std::string& key)
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) {
            const auto colon = line.find(':');
            std::string value = colon == std::string::npos ? line : line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            return value;
        }
    return "unknown";
}

inline void printMachine(const char* benchmark)
{
    std::cout << "== " << benchmark << " ==\n"
              << "machine: nproc=" << ::sysconf(_SC_NPROCESSORS_ONLN)
              << ", cpu=" << readFirstLine("/proc/cpuinfo", "model name")
              << ", mem=" << readFirstLine("/proc/meminfo", "MemTotal") << ", sqlite=" << sqlite3_libversion()
              << ", loadavg=" << readFirstLine("/proc/loadavg", "") << "\n";
}

// argv[index] as a positive count, or fallback when absent. Throws on a bad value.
inline int64_t sizeArg(int argc, char** argv, int index, int64_t fallback)
{
    if (argc <= index) return fallback;
    const std::string s = argv[index];
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != s.size() || v <= 0)
        throw std::runtime_error("argument " + std::to_string(index) + " ('" + s +
                                 "') must be a positive whole number");
    return v;
}

inline std::string fixed(double v, int digits = 2)
{
    std::ostringstream ss;
    ss.setf(std::ios::fixed);
    ss.precision(digits);
    ss << v;
    return ss.str();
}

// "RESULT name=value ..." — one line a person can copy into docs/benchmarks.md.
class ResultLine {
public:
    explicit ResultLine(std::string name) : m_text("RESULT " + std::move(name)) {}
    ResultLine& add(const std::string& key, const std::string& value)
    {
        m_text += " " + key + "=" + value;
        return *this;
    }
    ResultLine& add(const std::string& key, double value, int digits = 2) { return add(key, fixed(value, digits)); }
    ResultLine& add(const std::string& key, int64_t value) { return add(key, std::to_string(value)); }
    void print() const { std::cout << m_text << std::endl; }

private:
    std::string m_text;
};

inline const char* verdict(bool pass)
{
    return pass ? "PASS" : "FAIL";
}

}  // namespace tsumugi::bench
