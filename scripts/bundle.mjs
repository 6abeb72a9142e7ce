// Bundles the hive CLI and every package it uses (workspace and npm alike) into ES modules in
// packages/hive/dist, beside the Nix files it reads at run time, so that the packed tarball
// installs with `npm install -g` or runs with `npx` on any machine with Node >= 20.19: no
// dependencies to fetch, no build step, no native addons (ssh2 runs in pure JavaScript).
// Input: the compiled workspace (`pnpm build`). Run by `pnpm pack` in packages/hive (prepack).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
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
  // read __dirname and __filename, which an ES module lacks. Those two are defined under names of
  // hive's own, so that they never clash with a module's own top-level __dirname (yargs has one).
  banner: {
    js: [
      'import { createRequire as __hiveCreateRequire } from "node:module";',
      'import { dirname as __hiveDirnameOf } from "node:path";',
      'import { fileURLToPath as __hivePath } from "node:url";',
      "const require = __hiveCreateRequire(import.meta.url);",
      "const __hiveFilename = __hivePath(import.meta.url);",
      "const __hiveDirname = __hiveDirnameOf(__hiveFilename);",
    ].join(" "),
  },
  define: { __filename: "__hiveFilename", __dirname: "__hiveDirname" },
  // ssh2 looks up its optional native crypto addon and cpu-features inside try/catch: left out,
  // they are absent at run time and ssh2 uses its JavaScript code.
  external: ["cpu-features", "*.node"],
  logLevel: "error",
  legalComments: "linked",
  metafile: true,
});
// Every file must parse: a name declared twice (the banner's and a module's own) fails here, not
// on an operator's machine. (The metafile's paths are relative to the working directory.)
for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".mjs")))
  execFileSync(process.execPath, ["--check", resolve(file)], { stdio: "inherit" });
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`bundled hive into packages/hive/dist (${Math.round(bytes / 1024)} KiB)\n`);
