import type { Machine } from "./machines.js";

/** Where a node's system is built. */
export type Placement =
  | { kind: "local" }
  | { kind: "builders"; machines: Machine[] }
  | { kind: "target" }
  | { kind: "nowhere"; reason: string; hint: string };

export interface BuildCapabilities {
  /** This machine's system and extra-platforms. */
  localSystems: readonly string[];
  machines: readonly Machine[];
}

/** The builders that can build a derivation of this system with these features. */
export function machinesFor(machines: readonly Machine[], system: string, features: readonly string[] = []): Machine[] {
  return machines.filter(
    (m) =>
      m.maxJobs > 0 &&
      m.systems.includes(system) &&
      features.every((f) => m.supportedFeatures.includes(f) || m.mandatoryFeatures.includes(f)) &&
      m.mandatoryFeatures.every((f) => features.includes(f)),
  );
}

/**
 * Decides where a node's system is built, before anything runs: on the target when asked; here
 * when this machine builds its system (cross-compiled systems are this machine's system); else on
 * remote builders that declare it; else nowhere, with the three ways out.
 */
export function placeNode(system: string, buildOnTarget: boolean, capabilities: BuildCapabilities): Placement {
  if (buildOnTarget) return { kind: "target" };
  if (capabilities.localSystems.includes(system)) return { kind: "local" };
  const machines = machinesFor(capabilities.machines, system);
  if (machines.length > 0) return { kind: "builders", machines };
  return {
    kind: "nowhere",
    reason: `its system is ${system}, which this machine (${capabilities.localSystems.join(", ")}) cannot build and no remote builder declares`,
    hint: `add a builder for ${system} (meta.machinesFile or --builders), build on the target (deployment.buildOnTarget or --build-on-target), or cross-compile (nixpkgs' crossSystem, so that its derivations are ${capabilities.localSystems[0] ?? "this machine's"})`,
  };
}

export function describePlacement(placement: Placement): string {
  switch (placement.kind) {
    case "local":
      return "here";
    case "builders":
      return `on ${placement.machines.map((m) => m.uri).join(", ")}`;
    case "target":
      return "on the target";
    case "nowhere":
      return "nowhere";
  }
}
