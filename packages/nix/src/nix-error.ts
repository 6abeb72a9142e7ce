/**
 * The useful part of a Nix error for a person: the `error:` message and where it happened,
 * without Nix's source excerpts and the --show-trace reminder. With `showTrace`, everything.
 */
export function summarizeNixError(stderr: string, { showTrace = false }: { showTrace?: boolean } = {}): string {
  // eslint-disable-next-line no-control-regex -- Nix colours its errors on a terminal
  const lines = stderr.replace(/\u001b\[[0-9;]*m/g, "").split("\n");
  if (showTrace)
    return lines
      .filter((l) => !isNoise(l))
      .join("\n")
      .trim();
  const start = lines.findIndex((l) => l.startsWith("error:"));
  if (start === -1)
    return lines
      .filter((l) => l.trim() !== "" && !isNoise(l))
      .slice(-10)
      .join("\n");
  const kept: string[] = [];
  for (const line of lines.slice(start)) {
    if (line.startsWith("(use '--show-trace'")) break;
    if (/^\s+(\d+\||\|)/.test(line) || /^\s+\^\s*$/.test(line)) continue;
    if (isNoise(line)) continue;
    kept.push(line.replace(/^ {7}/, "  "));
  }
  return kept
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function isNoise(line: string): boolean {
  return /^warning: Git tree '.*' is dirty$/.test(line) || /^warning: unknown setting/.test(line);
}
