import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every temporary directory a test makes (os.tmpdir(), mkdtemp, hive's own) goes below one
 * directory of this run, removed at its end whatever the tests left: a run leaves nothing in /tmp.
 * Workers start after this and inherit TMPDIR.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env["HIVE_TEST_TMPDIR"] !== undefined) return () => Promise.resolve();
  const root = await mkdtemp(join(tmpdir(), "hive-test-run-"));
  // As /tmp itself: Nix's build users make their build directories here.
  await chmod(root, 0o1777);
  process.env["HIVE_TEST_TMPDIR"] = root;
  process.env["TMPDIR"] = root;
  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
