export { shellQuote } from "./shell-quote.js";
export { parseSshOptions, type SshCommandLine } from "./ssh-options.js";
export {
  resolveSshTarget,
  defaultConfigSources,
  type ConfigSources,
  type ResolvedHost,
  type SshTarget,
  type StrictHostKeyChecking,
} from "./ssh-config.js";
export { checkHostKey, addKnownHost, fingerprint, knownHostsName, type HostKeyVerdict } from "./known-hosts.js";
export { SshConnection } from "./ssh-connection.js";
export { SshTransport, SshTransportPool, type SshBackend } from "./ssh-transport.js";
export { OpenSshTransport, type OpenSshTarget } from "./openssh-transport.js";
export { EscalatingTransport, type SshTransportOptions } from "./escalating-transport.js";
export { configText, setsStrictness } from "./openssh-settings.js";
