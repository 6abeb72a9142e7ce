// Replays a recorded NDJSON event stream (from `hive apply --log-format json`) through one of
// hive's renderers, with the recording's own pauses (capped), so tests can watch the result on a
// real terminal: node replay-events.mjs FILE live|plain|github [auto|always|never] [MIN_GAP_MS]
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { LiveRenderer, githubRenderer, plainRenderer, useColour } from "../../packages/cli/dist/index.js";

const [file, format = "live", colour = "auto", minGap = "0"] = process.argv.slice(2);
const records = readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l !== "")
  .map((l) => JSON.parse(l))
  .filter((r) => r.type !== "summary");

const nodes = [...new Set(records.map((r) => r.node).filter((n) => n !== undefined))];
let live;
let onEvent;
if (format === "live") {
  live = new LiveRenderer(process.stderr, { title: "apply switch", colour: useColour(colour, process.stderr) });
  live.expect(nodes);
  onEvent = live.onEvent;
} else if (format === "github") {
  onEvent = githubRenderer((line) => process.stdout.write(`${line}\n`));
} else {
  onEvent = plainRenderer((line) => process.stderr.write(`${line}\n`), { verbose: false });
}

let last;
for (const record of records) {
  // The stream's envelope (v, run, time, level, durationMs) is not part of the event.
  const event = { ...record };
  for (const key of ["level", "time", "v", "run", "durationMs"]) delete event[key];
  const at = Date.parse(record.time);
  if (last !== undefined) await sleep(Math.min(200, Math.max(Number(minGap), at - last)));
  last = at;
  onEvent(event);
}
live?.finish();
