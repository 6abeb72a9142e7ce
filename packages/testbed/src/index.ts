export { Testbed, DEFAULT_FLEET_ROOT, type TestbedOptions } from "./fleet.js";
export { TestbedHost, type HostSpec, type HostStartOptions } from "./host.js";
export { LinkProxy, Uplink, type LinkOptions } from "./link-proxy.js";
export { SUDO_USER, SUDO_PASSWORD_USER } from "./host-layout.js";
export { miniNixpkgsPath, nixEnvironment, testNixConfig } from "./assets.js";
export { processesOfHostsUnder, killProcesses } from "./namespaces.js";
export { describeFleet, type HostStatus } from "./status.js";
export { checkPrerequisites } from "./prerequisites.js";
export { SystemdHost } from "./systemd-host.js";
