// Reference renderings from Hugging Face's JavaScript Jinja (@huggingface/jinja), for the
// golden tests of our interpreter (tokenizer/jinja*.cpp).
//
//   node jinja_reference.mjs NPM_PREFIX CASES_JSON
//       CASES_JSON is a file holding a JSON array of {"template": …, "context": {…}};
//       prints one JSON array with, per case, {"text": …} or {"error": …}.
//
// NPM_PREFIX is the folder `npm install --prefix` filled.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [prefix, casesPath] = process.argv.slice(2);
if (!prefix || !casesPath) {
    console.error("usage: jinja_reference.mjs NPM_PREFIX CASES_JSON");
    process.exit(2);
}
const require = createRequire(path.join(path.resolve(prefix), "package.json"));
const loaded = await import(pathToFileURL(require.resolve("@huggingface/jinja")).href);
const Template = loaded.Template ?? loaded.default.Template;

const cases = JSON.parse(fs.readFileSync(casesPath, "utf8"));
const compiled = new Map();
const results = cases.map(({ template, context }) => {
    try {
        if (!compiled.has(template)) compiled.set(template, new Template(template));
        return { text: compiled.get(template).render(context) };
    } catch (e) {
        return { error: String(e && e.message ? e.message : e) };
    }
});
process.stdout.write(JSON.stringify(results));
