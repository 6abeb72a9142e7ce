import { readFileSync } from "node:fs";
import { HiveError, type HiveMeta } from "@hive/core";
import { publicKeyOf, type CacheSettings } from "@hive/deploy";

export interface ViaCacheArgs {
  "via-cache"?: string | undefined;
  "via-cache-public-key"?: string | undefined;
  "via-cache-substituter"?: string | undefined;
}

/** The `secret-key=FILE` of a store URL's query, if any. */
function secretKeyFile(url: string): string | undefined {
  const query = url.split("?")[1];
  return query === undefined ? undefined : (new URLSearchParams(query).get("secret-key") ?? undefined);
}

/**
 * `--via-cache` and its companions, else the hive's meta.viaCache (or hive.yaml's viaCache);
 * `--via-cache off` turns a hive's setting off. Undefined: no cache.
 */
export function viaCacheFrom(args: ViaCacheArgs, meta: HiveMeta): CacheSettings | undefined {
  const fromHive = meta.viaCache ?? undefined;
  const url = args["via-cache"] ?? fromHive?.url;
  if (url === undefined || url === "off") return undefined;
  const substituter = args["via-cache-substituter"] ?? fromHive?.substituter ?? url.split("?")[0] ?? url;
  let publicKey = args["via-cache-public-key"] ?? fromHive?.publicKey ?? undefined;
  if (publicKey === undefined) {
    const file = secretKeyFile(url);
    if (file === undefined)
      throw new HiveError(
        "HIVE_USAGE",
        `--via-cache ${url}: hive needs the cache's public key, to check that each host trusts it`,
        {
          hint: "pass --via-cache-public-key NAME:KEY (or publicKey in meta.viaCache / hive.yaml), or sign with ?secret-key=FILE in the URL",
        },
      );
    let secret: string;
    try {
      secret = readFileSync(file, "utf8");
    } catch (error) {
      throw new HiveError(
        "HIVE_USAGE",
        `--via-cache: cannot read the signing key ${file}: ${(error as Error).message}`,
      );
    }
    publicKey = publicKeyOf(secret);
  }
  if (!/^[^:\s]+:[A-Za-z0-9+/=]+$/.test(publicKey))
    throw new HiveError("HIVE_USAGE", `--via-cache-public-key ${JSON.stringify(publicKey)} is not NAME:BASE64`);
  return { pushUrl: url, substituter, publicKey };
}
