import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HiveError, type HiveMeta } from "@hive/core";
import { viaCacheFrom } from "./via-cache.js";

const meta: HiveMeta = { name: "hive", description: "", machinesFile: null, allowApplyAll: true };
// A Nix signing key: 32 bytes of seed, then the 32-byte public key.
const seed = Buffer.alloc(32, 1);
const pub = Buffer.alloc(32, 2);
const secretKey = `cache-1:${Buffer.concat([seed, pub]).toString("base64")}`;

describe("--via-cache", () => {
  it("derives the public key from the URL's secret-key file, and hosts substitute from the URL without its query", () => {
    const dir = mkdtempSync(join(tmpdir(), "hive-cache-key-"));
    const file = join(dir, "secret.key");
    writeFileSync(file, `${secretKey}\n`);
    const settings = viaCacheFrom({ "via-cache": `http://cache:8080?secret-key=${file}&compression=zstd` }, meta);
    expect(settings).toEqual({
      pushUrl: `http://cache:8080?secret-key=${file}&compression=zstd`,
      substituter: "http://cache:8080",
      publicKey: `cache-1:${pub.toString("base64")}`,
    });
    // The secret never appears in what hive keeps (only the file's path, in the URL).
    expect(JSON.stringify(settings)).not.toContain(Buffer.concat([seed, pub]).toString("base64"));
  });

  it("takes the hive's meta.viaCache, which the command line overrides or turns off", () => {
    const fromHive = { ...meta, viaCache: { url: "s3://c", publicKey: "c-1:AAAA", substituter: "https://c" } };
    expect(viaCacheFrom({}, fromHive)).toEqual({ pushUrl: "s3://c", substituter: "https://c", publicKey: "c-1:AAAA" });
    expect(viaCacheFrom({ "via-cache": "off" }, fromHive)).toBeUndefined();
    expect(viaCacheFrom({}, meta)).toBeUndefined();
  });

  it("refuses a cache without a public key, or a key that is not NAME:BASE64, with a hint", () => {
    const missing = (() => {
      try {
        viaCacheFrom({ "via-cache": "https://c" }, meta);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(missing).toBeInstanceOf(HiveError);
    expect((missing as HiveError).hint).toMatch(/--via-cache-public-key/);
    expect(() => viaCacheFrom({ "via-cache": "https://c", "via-cache-public-key": "no colon" }, meta)).toThrow(
      /is not NAME:BASE64/,
    );
  });
});
