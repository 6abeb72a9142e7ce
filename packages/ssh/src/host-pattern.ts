/** OpenSSH host patterns: `*` and `?` wildcards, whole-name match, case-insensitive. */
export default function matchHostPattern(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
      .join("")}$`,
    "i",
  );
  return regex.test(name);
}
