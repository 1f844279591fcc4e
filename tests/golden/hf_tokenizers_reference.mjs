// Reference ids from Hugging Face's JavaScript implementation of tokenizer.json
// (@huggingface/tokenizers), for the golden tests and the benchmark of tokenizer/hf_*.
//
//   node hf_tokenizers_reference.mjs NPM_PREFIX TOKENIZER_JSON encode CASES_JSON
//       CASES_JSON is a JSON array of strings; prints one JSON array of ids per case, in
//       order, encoded with add_special_tokens = false (our encode() never adds BOS/EOS).
//   node hf_tokenizers_reference.mjs NPM_PREFIX TOKENIZER_JSON bench TEXT_FILE WARMUP_LINES
//       encodes the first WARMUP_LINES lines (warm-up), then times one pass over every line
//       and prints {"bytes": …, "seconds": …, "tokens": …} (one core).
//
// NPM_PREFIX is the folder `npm install --prefix` filled; tokenizer_config.json beside
// TOKENIZER_JSON is passed along when it exists.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [prefix, tokenizerPath, mode, input, warmupLines] = process.argv.slice(2);
if (!prefix || !tokenizerPath || !mode || !input) {
    console.error("usage: hf_tokenizers_reference.mjs NPM_PREFIX TOKENIZER_JSON encode CASES_JSON | bench TEXT_FILE WARMUP_LINES");
    process.exit(2);
}
const require = createRequire(path.join(path.resolve(prefix), "package.json"));
const loaded = await import(pathToFileURL(require.resolve("@huggingface/tokenizers")).href);
const Tokenizer = loaded.Tokenizer ?? loaded.default.Tokenizer;

const tokenizerJson = JSON.parse(fs.readFileSync(tokenizerPath, "utf8"));
const configPath = path.join(path.dirname(tokenizerPath), "tokenizer_config.json");
const config = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, "utf8")) : {};
const tokenizer = new Tokenizer(tokenizerJson, config);

if (mode === "encode") {
    const cases = JSON.parse(fs.readFileSync(input, "utf8"));
    const out = [];
    for (const text of cases) out.push(JSON.stringify(tokenizer.encode(text, { add_special_tokens: false }).ids));
    process.stdout.write(out.join("\n") + "\n");
} else if (mode === "bench") {
    const lines = fs.readFileSync(input, "utf8").split("\n").filter((l) => l.length > 0);
    const warmup = Number(warmupLines ?? 200);
    for (const l of lines.slice(0, warmup)) tokenizer.encode(l, { add_special_tokens: false });
    let bytes = 0, tokens = 0;
    const start = process.hrtime.bigint();
    for (const l of lines) {
        tokens += tokenizer.encode(l, { add_special_tokens: false }).ids.length;
        bytes += Buffer.byteLength(l, "utf8");
    }
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ bytes, seconds: elapsed, tokens }) + "\n");
} else {
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
