// Bundles the hive CLI and every package it uses (workspace and npm alike) into ES modules in
// packages/hive/dist, beside the Nix files it reads at run time, so that the packed tarball
// installs with `npm install -g` or runs with `npx` on any machine with Node >= 20.19: no
// dependencies to fetch, no build step, no native addons (ssh2 runs in pure JavaScript).
// Input: the compiled workspace (`pnpm build`). Run by `pnpm pack` in packages/hive (prepack).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}packages/hive`;

rmSync(`${out}/dist`, { recursive: true, force: true });
rmSync(`${out}/assets`, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
for (const asset of ["evaluator.nix", "deployment-options.nix"])
  copyFileSync(`${root}packages/eval/assets/${asset}`, `${out}/assets/${asset}`);
copyFileSync(`${root}README.md`, `${out}/README.md`);

const result = await build({
  entryPoints: { hive: `${root}packages/cli/dist/main.js` },
  outdir: `${out}/dist`,
  outExtension: { ".js": ".mjs" },
  // What hive imports when it needs it (ssh2, once it connects) is a chunk of its own, loaded
  // then, not parsed at every start.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20.19",
  // The CommonJS dependencies (ssh2, pino and theirs) call require() for Node's own modules and
  // read __dirname, which an ES module lacks.
  banner: {
    js: [
      'import { createRequire as __hiveRequire } from "node:module";',
      'import { dirname as __hiveDirname } from "node:path";',
      'import { fileURLToPath as __hivePath } from "node:url";',
      "const require = __hiveRequire(import.meta.url);",
      "const __filename = __hivePath(import.meta.url);",
      "const __dirname = __hiveDirname(__filename);",
    ].join(" "),
  },
  // ssh2 looks up its optional native crypto addon and cpu-features inside try/catch: left out,
  // they are absent at run time and ssh2 uses its JavaScript code.
  external: ["cpu-features", "*.node"],
  logLevel: "error",
  legalComments: "linked",
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`bundled hive into packages/hive/dist (${Math.round(bytes / 1024)} KiB)\n`);
