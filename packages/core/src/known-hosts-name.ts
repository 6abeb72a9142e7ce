/** How known_hosts names a host: the name alone on port 22, else `[name]:port` (as OpenSSH writes it). */
export function knownHostsName(name: string, port: number): string {
  return port === 22 ? name : `[${name}]:${port}`;
}
