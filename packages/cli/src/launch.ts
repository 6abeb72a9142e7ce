#!/usr/bin/env node
// The installed `hive` (packages/hive/dist/hive.mjs): runs the bundled CLI (hive.cjs, beside it)
// from V8's code cache when an earlier run left one, and leaves one when it did not. Node 20 has
// no code cache for modules it loads itself, so the bundle is CommonJS, compiled here.
import "./node-version.js";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { openCompileCache, saveCompileCache } from "./compile-cache.js";

const bundle = fileURLToPath(new URL("./hive.cjs", import.meta.url));
// CommonJS's own wrapper, on the first line so that stack traces keep the bundle's line numbers.
// ASCII (scripts/bundle.mjs makes it so): read as Latin-1, which is the same text, decoded quicker.
const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, "latin1").replace(/^#!.*/, "")}\n})`;
const cache = openCompileCache(bundle, process.argv[2]);
const script = new Script(source, {
  filename: bundle,
  ...(cache?.data !== undefined ? { cachedData: cache.data } : {}),
});
if (cache !== undefined && (cache.data === undefined || script.cachedDataRejected === true))
  // At exit, the cache holds every function this run compiled, not just the top level.
  process.once("exit", () => saveCompileCache(cache, script.createCachedData()));
const module = { exports: {} };
const run = script.runInThisContext() as (...args: unknown[]) => void;
run(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
