const SAFE = /^[A-Za-z0-9_/.=:,@%+-]+$/;

/**
 * The one way hive turns an argv into a command line for a remote shell: every word that is not
 * plainly safe is single-quoted, so names, paths, tags and key names are never interpreted.
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("shellQuote: empty argv");
  return argv.map((word) => (SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(" ");
}
