// Strips what the browser never needs from wasm-bindgen's JS glue: whole-line comments (the
// JSDoc lives on in clickstamp_sdk.d.ts), indentation and blank lines. Conservative on purpose:
// it touches nothing inside a line, and refuses (leaving the file as it was) when a line holds
// an odd number of backticks (a template literal spanning lines would be changed) or when the
// result no longer parses as a module. Usage: node strip-glue.cjs file.js
"use strict";
const fs = require("fs");
const { execFileSync } = require("child_process");
const path = require("path");
const os = require("os");

const file = process.argv[2];
const src = fs.readFileSync(file, "utf8");
const lines = src.split("\n");
if (lines.some((l) => (l.match(/`/g) || []).length % 2 !== 0)) {
  console.error("strip-glue: a template literal spans lines; glue left as generated");
  process.exit(0);
}
const out = [];
let inDoc = false;
for (const raw of lines) {
  const line = raw.trim();
  if (inDoc) {
    if (line.endsWith("*/")) inDoc = false;
    continue;
  }
  if (line.startsWith("/*") && !line.startsWith("/* @ts-self-types")) {
    if (!line.endsWith("*/")) inDoc = true;
    continue;
  }
  if (line === "" || line.startsWith("//")) continue;
  out.push(line);
}
const stripped = out.join("\n") + "\n";
const check = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "strip-glue-")), "glue.mjs");
fs.writeFileSync(check, stripped);
try {
  execFileSync(process.execPath, ["--check", check], { stdio: "pipe" });
} catch (e) {
  console.error("strip-glue: stripped glue does not parse; left as generated:\n" + e.stderr);
  process.exit(0);
} finally {
  fs.rmSync(path.dirname(check), { recursive: true, force: true });
}
fs.writeFileSync(file, stripped);
