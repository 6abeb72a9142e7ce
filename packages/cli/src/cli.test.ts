import { describe, expect, it } from "vitest";
import { buildCli, skipHelpCache } from "./cli.js";

describe("buildCli", () => {
  it("does not render a command's help when the command starts (yargs' cache), yet shows help when asked", async () => {
    // A yargs upgrade that renames the hook makes this false: the start-up cost would be back.
    expect(skipHelpCache(buildCli([]))).toBe(true);
    let ran = false;
    let help = "";
    const cli = buildCli(["--help"]).command("probe", "a command", {}, () => {
      ran = true;
    });
    await cli.exitProcess(false).parseAsync(["--help"], {}, (_error, _argv, output) => {
      help = output;
    });
    expect(ran).toBe(false);
    expect(help).toContain("hive <command> [options]");
    expect(help).toContain("apply");
  });
});
