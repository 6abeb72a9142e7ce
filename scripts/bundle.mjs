// Bundles the hive CLI and every package it uses (workspace and npm alike) into packages/hive/dist
// (one CommonJS file and the launcher that starts it), beside the Nix files it reads at run time,
// so that the packed tarball installs with `npm install -g` or runs with `npx` on any machine with
// Node >= 20.19: no dependencies to fetch, no build step, no native addons (ssh2 runs in pure
// JavaScript). Input: the compiled workspace (`pnpm build`). Run by `pnpm pack` in packages/hive
// (prepack).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}packages/hive`;

rmSync(`${out}/dist`, { recursive: true, force: true });
rmSync(`${out}/assets`, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
for (const asset of ["evaluator.nix", "deployment-options.nix"])
  copyFileSync(`${root}packages/eval/assets/${asset}`, `${out}/assets/${asset}`);
copyFileSync(`${root}README.md`, `${out}/README.md`);

// The CLI itself, one CommonJS file: the launcher (dist/hive.mjs, from packages/cli/src/launch.ts)
// compiles it with V8's code cache, which Node 20 offers for scripts, not for ES modules.
// yargs measures text with string-width, whose module builds Unicode property regexes (emoji)
// and an Intl.Segmenter as it loads: about 30 ms of every start, for help text most runs never
// print. Each import of it gets a stand-in that loads the real module at the first call.
const lazyStringWidth = {
  name: "lazy-string-width",
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      // (cli-table3 requires an older, CommonJS string-width that loads cheaply: left as it is.)
      if (args.pluginData?.real || args.kind !== "import-statement") return undefined;
      const real = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: { real: true },
      });
      return real.errors.length > 0 ? undefined : { path: real.path, namespace: "lazy-string-width" };
    });
    build.onLoad({ filter: /.*/, namespace: "lazy-string-width" }, (args) => ({
      contents: [
        "let real;",
        "export default function stringWidth(...args) {",
        `  real ??= require(${JSON.stringify(args.path)}).default;`,
        "  return real(...args);",
        "}",
      ].join("\n"),
      loader: "js",
      resolveDir: dirname(args.path),
    }));
  },
};

/** What both files are built with: everything inlined, for the oldest Node hive runs on. */
const common = {
  outdir: `${out}/dist`,
  bundle: true,
  platform: "node",
  target: "node20.19",
  logLevel: "error",
  metafile: true,
};
const cli = await build({
  ...common,
  entryPoints: { hive: `${root}packages/cli/dist/main.js` },
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  // hive finds its files (package.json, the Nix assets) from import.meta.url, which a CommonJS
  // file lacks: it is the bundle's own URL, under a name of hive's own.
  banner: { js: 'const __hiveUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { "import.meta.url": "__hiveUrl" },
  // ssh2 looks up its optional native crypto addon and cpu-features inside try/catch: left out,
  // they are absent at run time and ssh2 uses its JavaScript code.
  external: ["cpu-features", "*.node"],
  legalComments: "linked",
  plugins: [lazyStringWidth],
});
const launcher = await build({
  ...common,
  entryPoints: { hive: `${root}packages/cli/dist/launch.js` },
  outExtension: { ".js": ".mjs" },
  format: "esm",
});
const outputs = { ...cli.metafile.outputs, ...launcher.metafile.outputs };
// The launcher reads the bundle as Latin-1 (a third of the time UTF-8 decoding takes), so it must
// be ASCII. esbuild escapes every string, template and regex; what is left is in dependencies'
// comments, written out as escapes there too.
const bundle = `${out}/dist/hive.cjs`;
const ascii = readFileSync(bundle, "utf8").replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
writeFileSync(bundle, ascii);
// Every file must parse: a name declared twice (the banner's and a module's own) fails here, not
// on an operator's machine. (The metafile's paths are relative to the working directory.)
for (const file of Object.keys(outputs).filter((f) => /\.[cm]js$/.test(f)))
  execFileSync(process.execPath, ["--check", resolve(file)], { stdio: "inherit" });
const bytes = Object.values(outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`bundled hive into packages/hive/dist (${Math.round(bytes / 1024)} KiB)\n`);
