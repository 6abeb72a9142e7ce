/** Compiled wildcard patterns: a run matches every host against the same known_hosts lines. */
const compiled = new Map<string, RegExp>();

/** OpenSSH host patterns: `*` and `?` wildcards, whole-name match, case-insensitive. */
export default function matchHostPattern(pattern: string, name: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return pattern.toLowerCase() === name.toLowerCase();
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(
      `^${pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
        .join("")}$`,
      "i",
    );
    compiled.set(pattern, regex);
  }
  return regex.test(name);
}
