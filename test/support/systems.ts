import { miniNixpkgsPath } from "@hive/testbed";

export interface SystemOptions {
  hostName: string;
  /** Keys root's authorized_keys will hold after activation. */
  rootKeys: readonly string[];
  /** Extra NixOS module text, e.g. `system.activationScripts.x = "...";`. */
  extra?: string;
}

/** A Nix string literal holding `value` exactly. */
export function nixString(value: string): string {
  return JSON.stringify(value).replace(/\$\{/g, "\\${");
}

/** A Nix expression for a mini-nixpkgs NixOS system's toplevel. */
export function systemExpression(options: SystemOptions): string {
  return `
    (import ${miniNixpkgsPath}/nixos/lib/eval-config.nix {
      system = "x86_64-linux";
      modules = [ ({ pkgs, lib, ... }: {
        networking.hostName = ${nixString(options.hostName)};
        environment.systemPackages = [ pkgs.hello ];
        users.users.root.openssh.authorizedKeys.keys = [ ${options.rootKeys.map(nixString).join(" ")} ];
        ${options.extra ?? ""}
      }) ];
    }).config.system.build.toplevel`;
}
