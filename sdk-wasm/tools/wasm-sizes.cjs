// Where a wasm file's bytes go: its sections, and its largest functions by body size with names
// from the name section (build with names kept, e.g. wasm-bindgen --keep-debug, before wasm-opt
// strips them). Usage: node wasm-sizes.cjs file.wasm [how many functions; 0 = sections only]
"use strict";
const b = require("fs").readFileSync(process.argv[2]);
const top = +(process.argv[3] || 12);
const SECTIONS = ["custom", "type", "import", "function", "table", "memory", "global", "export",
  "start", "element", "code", "data", "datacount"];
let p = 8;
const leb = () => { let r = 0, s = 0, x; do { x = b[p++]; r += (x & 127) * 2 ** s; s += 7; } while (x & 128); return r; };
const skipLimits = () => { const f = b[p++]; leb(); if (f & 1) leb(); };
const sections = [], bodies = [], names = {};
let imported = 0;
while (p < b.length) {
  const id = b[p++], n = leb(), end = p + n;
  let label = SECTIONS[id] || String(id);
  if (id === 0) { const l = leb(); label = "custom:" + b.slice(p, p + l).toString(); p += l; }
  sections.push([label, n]);
  if (id === 2) {
    for (let c = leb(); c > 0; c--) {
      for (let k = 0; k < 2; k++) { const l = leb(); p += l; } // module and field names
      const kind = b[p++];
      if (kind === 0) { imported++; leb(); } else if (kind === 1) { p++; skipLimits(); }
      else if (kind === 2) skipLimits(); else if (kind === 3) p += 2; else { p++; leb(); }
    }
  } else if (id === 10) {
    for (let c = leb(); c > 0; c--) { const s = leb(); bodies.push(s); p += s; }
  } else if (label === "custom:name") {
    while (p < end) {
      const sub = b[p++], size = leb(), next = p + size;
      if (sub === 1) for (let c = leb(); c > 0; c--) { const i = leb(), l = leb(); names[i] = b.slice(p, p + l).toString(); p += l; }
      p = next;
    }
  }
  p = end;
}
if (top === 0) {
  console.log("sections (raw bytes):");
  sections.sort((x, y) => y[1] - x[1]).forEach(([s, n]) => console.log("  " + s.padEnd(22) + String(n).padStart(7)));
  process.exit(0);
}
const tidy = (n) => n.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{16}\]/g, "");
console.log("largest functions (raw bytes, before wasm-opt):");
bodies.map((s, i) => [s, tidy(names[i + imported] || "func" + (i + imported))])
  .sort((x, y) => y[0] - x[0]).slice(0, top)
  .forEach(([s, n]) => console.log("  " + String(s).padStart(6) + "  " + n.slice(0, 110)));
