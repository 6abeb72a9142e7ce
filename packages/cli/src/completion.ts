import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { describeSource, Hive, resolveHiveSource, type HiveSource } from "@hive/eval";

interface Known {
  nodes: string[];
  tags: string[];
}

const CACHE_TTL_MS = 60 * 60 * 1000;

function cacheFile(source: HiveSource): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  const key = createHash("sha256").update(describeSource(source)).digest("hex").slice(0, 16);
  return join(base, "hive", `completion-${key}.json`);
}

/** When the hive's own files last changed (a cache older than that is stale). */
async function changedAt(source: HiveSource): Promise<number> {
  const files =
    source.kind === "file"
      ? [source.path]
      : source.dir === undefined
        ? []
        : [join(source.dir, "flake.nix"), join(source.dir, "flake.lock")];
  const times = await Promise.all(
    files.map((f) =>
      stat(f).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return Math.max(0, ...times);
}

/**
 * Node names and tags for completion: evaluated once, then cached for an hour under
 * $XDG_CACHE_HOME/hive (or until the hive file, flake.nix or flake.lock changes).
 */
async function knownNodes(config: string | undefined): Promise<Known> {
  const source = resolveHiveSource({ config, cwd: process.cwd() });
  const file = cacheFile(source);
  try {
    const cached = JSON.parse(await readFile(file, "utf8")) as Known & { at: number };
    if (Date.now() - cached.at < CACHE_TTL_MS && cached.at > (await changedAt(source))) return cached;
  } catch {
    // no cache yet, or unreadable: evaluate
  }
  const hive = await Hive.open({ config, cwd: process.cwd() });
  const tags = await hive.tags();
  const known: Known = { nodes: [...hive.nodes], tags: [...new Set([...tags.values()].flat())].sort() };
  try {
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, JSON.stringify({ ...known, at: Date.now() }));
  } catch {
    // an unwritable cache only costs the next completion an evaluation
  }
  return known;
}

/**
 * Completes the word under the cursor as an `--on` value: the last comma-separated item (after
 * an optional `!`) against node names and `@tags`.
 */
export function completeSelection(current: string, known: Known): string[] {
  const value = current.startsWith("--on=") ? current.slice("--on=".length) : current;
  const head = current.slice(0, current.length - value.length);
  const comma = value.lastIndexOf(",");
  const before = value.slice(0, comma + 1);
  const item = value.slice(comma + 1);
  const bang = item.startsWith("!") ? "!" : "";
  const partial = item.slice(bang.length);
  const candidates = [...known.nodes, ...known.tags.map((t) => `@${t}`)];
  return candidates.filter((c) => c.startsWith(partial)).map((c) => `${head}${before}${bang}${c}`);
}

/** yargs' completion hook: node names and @tags after --on, yargs' own completions elsewhere. */
export function completion(
  current: string,
  argv: { config?: unknown; f?: unknown },
  defaultCompletion: () => void,
  done: (completions: string[]) => void,
): void {
  const words = process.argv.slice(process.argv.indexOf("--get-yargs-completions") + 1);
  const previous = words.at(-2);
  if (previous !== "--on" && !current.startsWith("--on=")) {
    defaultCompletion();
    return;
  }
  const config = typeof argv.config === "string" ? argv.config : undefined;
  knownNodes(config).then(
    (known) => done(completeSelection(current, known)),
    () => done([]),
  );
}

/** The scripts `hive completion bash|zsh` prints: they ask `hive --get-yargs-completions`. */
export const COMPLETION_SCRIPTS = {
  // bash splits words at '=', ':' and '@' (COMP_WORDBREAKS; readline keeps a breaking '@' in the
  // word it replaces): hive completes the whole word as the user sees it, from the command line,
  // and hands readline only the part it replaces.
  bash: `# hive completion for bash: source <(hive completion bash), or save it in
# /etc/bash_completion.d/hive or ~/.local/share/bash-completion/completions/hive
_hive_completions() {
  local line="\${COMP_LINE:0:COMP_POINT}" cur words candidates prefix
  cur="\${line##*[[:space:]]}"
  read -ra words <<< "\${line}"
  [[ "\${line}" =~ [[:space:]]$ ]] && words+=("")
  mapfile -t candidates < <(hive --get-yargs-completions "\${words[@]:1}" 2>/dev/null)
  prefix="\${cur%"\${cur##*[=:@]}"}"
  prefix="\${prefix%@}"
  COMPREPLY=()
  local c
  for c in "\${candidates[@]}"; do
    [[ "\${c}" == "\${cur}"* ]] && COMPREPLY+=("\${c#"\${prefix}"}")
  done
}
complete -o bashdefault -o default -F _hive_completions hive
`,
  zsh: `#compdef hive
# hive completion for zsh: source <(hive completion zsh), or save it as _hive in your $fpath
_hive() {
  local -a candidates
  candidates=("\${(@f)$(hive --get-yargs-completions "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates%%:*}")
  if (( \${#candidates} )); then
    compadd -Q -S '' -- "\${candidates[@]}"
  else
    _files
  fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _hive "$@"
else
  compdef _hive hive
fi
`,
} as const;
