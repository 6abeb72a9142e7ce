/** "3 min ago"-style times for tables. */
export function ago(when: Date, now: number): string {
  const seconds = Math.max(0, Math.round((now - when.getTime()) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** A store path without its hash, for narrow columns: /nix/store/abc…-nixos-system-web-1 → nixos-system-web-1. */
export function shortPath(path: string): string {
  return /^\/nix\/store\/[0-9a-z]{32}-(.+)$/.exec(path)?.[1] ?? path;
}

/** Bytes as KiB/MiB/GiB, signed when asked. */
export function bytes(n: number, signed = false): string {
  const sign = n < 0 ? "-" : signed ? "+" : "";
  const a = Math.abs(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = a;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${sign}${i === 0 ? v : v.toFixed(1)} ${units[i] ?? "B"}`;
}
