// Applies the mapping printed by `wasm-opt --minify-imports-and-exports-and-modules` to the
// wasm-bindgen glue (run before terser), so the glue and the minified wasm agree:
//   - import module "./clickstamp_sdk_bg.js" → "a" (the key of the imports object),
//   - each import `__wbg_name_<hash>: function` → its short name (keys of that object),
//   - each export `wasm.name` → `wasm.<short>` (and `readonly name:` in InitOutput of the .d.ts).
// Strict: an import name that does not occur exactly once, or an old name left over, fails the
// build instead of shipping a glue that cannot instantiate the wasm.
// Usage: node minify-names.cjs mapping.json glue.js glue.d.ts
"use strict";
const fs = require("fs");

const [mapFile, glueFile, dtsFile] = process.argv.slice(2);
const map = JSON.parse(fs.readFileSync(mapFile, "utf8"));
let glue = fs.readFileSync(glueFile, "utf8");
let dts = fs.readFileSync(dtsFile, "utf8");
const fail = (msg) => {
  console.error("minify-names: " + msg);
  process.exit(1);
};
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const count = (text, re) => (text.match(re) || []).length;

const modules = new Map();
for (const [module, name, short] of map.imports) {
  const key = new RegExp("(?<=[\\s{,])" + esc(name) + "(?=\\s*:)", "g");
  if (count(glue, key) !== 1) fail(`import ${name}: expected one key in the glue`);
  glue = glue.replace(key, short);
  if (count(glue, new RegExp("\\b" + esc(name) + "\\b", "g")) !== 0) fail(`import ${name} left over`);
  modules.set(module, true);
}
// The -and-modules pass names every import module "a" (its mapping does not list modules).
if (modules.size !== 1) fail("expected one import module, found " + [...modules.keys()].join(", "));
const moduleKey = JSON.stringify([...modules.keys()][0]);
if (count(glue, new RegExp(esc(moduleKey), "g")) !== 1) fail(`module ${moduleKey}: expected once in the glue`);
glue = glue.replace(moduleKey, '"a"');
for (const [name, short] of map.exports) {
  glue = glue.replace(new RegExp("\\bwasm\\." + esc(name) + "\\b", "g"), "wasm." + short);
  dts = dts.replace(new RegExp("\\breadonly " + esc(name) + ":", "g"), `readonly ${JSON.stringify(short)}:`);
}
for (const [name] of map.exports) {
  if (count(glue, new RegExp("\\bwasm\\." + esc(name) + "\\b", "g")) !== 0) fail(`export ${name} left over`);
}
fs.writeFileSync(glueFile, glue);
fs.writeFileSync(dtsFile, dts);
