// Generates a hive of N nodes against the mini nixpkgs, written the way fleets are: shared
// defaults and role modules, per-node settings, many small /etc files and activation snippets.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** @param {string} dir @param {number} count @param {string} nixpkgs */
export async function generateHive(dir, count, nixpkgs) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "role.nix"),
    `{ name, lib, pkgs, config, ... }: {
  options.fleet.role = lib.mkOption { type = lib.types.enum [ "web" "db" "cache" ]; default = "web"; };
  config = lib.mkMerge [
    { environment.systemPackages = [ pkgs.hello pkgs.htop ]; }
    (lib.mkIf (config.fleet.role == "web") { environment.systemPackages = [ pkgs.nginx ]; services.nginx.enable = true; })
    (lib.mkIf (config.fleet.role == "db") { environment.systemPackages = [ pkgs.postgresql ]; })
    { environment.etc = lib.genAttrs (map (i: "fleet/conf-\${toString i}") (lib.range 1 40)) (f: { text = "\${name} \${f}"; }); }
    { system.activationScripts = lib.genAttrs (map (i: "step\${toString i}") (lib.range 1 15)) (s: "echo \${s}"); }
    { users.users = lib.genAttrs (map (i: "user\${toString i}") (lib.range 1 10)) (u: { isNormalUser = true; }); }
  ];
}
`,
  );
  const roles = ["web", "db", "cache"];
  const nodes = Array.from({ length: count }, (_, i) => {
    const name = `node-${String(i + 1).padStart(3, "0")}`;
    return `  ${name} = { fleet.role = "${roles[i % 3]}"; deployment.tags = [ "${roles[i % 3]}" "rack-${i % 10}" ]; networking.hostName = "${name}"; };`;
  });
  await writeFile(
    join(dir, "hive.nix"),
    `{
  meta.nixpkgs = import ${nixpkgs} { system = "x86_64-linux"; };
  defaults = { imports = [ ./role.nix ]; };
${nodes.join("\n")}
}
`,
  );
}
