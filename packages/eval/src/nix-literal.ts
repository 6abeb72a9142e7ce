/** A Nix string literal holding exactly `value` (JSON escapes are Nix escapes, but for `${`). */
export function nixString(value: string): string {
  return JSON.stringify(value).replace(/\$\{/g, "\\${");
}

export function nixStringList(values: readonly string[]): string {
  return `[ ${values.map(nixString).join(" ")} ]`;
}
