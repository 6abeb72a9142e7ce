# Shell snippets the system builders share.
lib:
{
  # A command that writes `content` to `target` (a shell word), whatever the content holds.
  writeFile = target: content:
    let delimiter = "HIVE_EOF_${builtins.hashString "sha256" content}"; in
    ''
      mkdir -p "$(dirname ${target})"
      cat > ${target} <<'${delimiter}'
      ${content}${if lib.hasSuffix "\n" content || content == "" then "" else "\n"}${delimiter}
    '';
}
