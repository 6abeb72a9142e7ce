import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface LinkOptions {
  /** One-way delay added to every chunk, in milliseconds. */
  latencyMs?: number;
  /** Bandwidth cap per direction, in bytes per second (unlimited when absent). */
  bytesPerSecond?: number;
  /**
   * One bandwidth budget shared by every link given the same Uplink (a deployer's uplink in
   * front of many hosts); without it, each connection has the whole cap to itself.
   */
  uplink?: Uplink;
}

/** A shared link: when each direction is next free, across every connection of every link on it. */
export class Uplink {
  /** [towards the hosts, back from them]. */
  readonly freeAt: [number, number] = [0, 0];
  private readonly links: LinkProxy[] = [];

  add(link: LinkProxy): void {
    this.links.push(link);
  }

  /** Bytes forwarded through every link on this uplink, both directions. */
  get bytesForwarded(): number {
    return this.links.reduce((sum, l) => sum + l.bytesForwarded, 0);
  }
}

const HIGH_WATER = 1 << 20;

/** One direction of a connection: chunks leave in order, each no earlier than the link allows. */
class Lane {
  private readonly queue: { chunk: Buffer; at: number }[] = [];
  private queued = 0;
  private lastDeparture = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly link: LinkProxy,
    /** 0: towards the host, 1: back (which half of a shared uplink it uses). */
    private readonly direction: 0 | 1,
  ) {
    from.on("data", (chunk: Buffer) => this.push(chunk));
    from.on("end", () => this.push(undefined));
  }

  private ended = false;

  private push(chunk: Buffer | undefined): void {
    if (chunk === undefined) {
      this.ended = true;
      this.queue.push({ chunk: Buffer.alloc(0), at: Math.max(Date.now() + this.link.latencyMs, this.lastDeparture) });
      this.pump();
      return;
    }
    const now = Date.now();
    const bps = this.link.bytesPerSecond;
    const uplink = this.link.uplink;
    const free = uplink ? uplink.freeAt[this.direction] : this.lastDeparture - this.link.latencyMs;
    const sent = Math.max(now, free) + (bps ? (chunk.length / bps) * 1000 : 0);
    if (uplink) uplink.freeAt[this.direction] = sent;
    const at = Math.max(sent + this.link.latencyMs, this.lastDeparture);
    this.lastDeparture = at;
    this.queue.push({ chunk, at });
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER) this.from.pause();
    this.pump();
  }

  private pump(): void {
    if (this.timer) return;
    const head = this.queue[0];
    if (!head) return;
    const wait = head.at - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.queue.shift();
    if (head.chunk.length === 0 && this.ended && this.queue.length === 0) {
      this.to.end();
      return;
    }
    this.queued -= head.chunk.length;
    this.link.count(head.chunk.length);
    if (!this.to.destroyed) this.to.write(head.chunk);
    if (this.queued <= HIGH_WATER / 2) this.from.resume();
    this.pump();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

/**
 * A TCP proxy in front of a host's sshd that models a WAN link: latency, a bandwidth cap, and a
 * switch that cuts live connections (now, or once some number of bytes went through).
 */
export class LinkProxy {
  latencyMs: number;
  bytesPerSecond: number | undefined;
  readonly uplink: Uplink | undefined;
  /** Bytes forwarded in both directions since the link started. */
  bytesForwarded = 0;
  /** Connections accepted since the link started. */
  connectionsAccepted = 0;
  private cutAt: number | undefined;
  private readonly connections = new Set<{ client: Socket; upstream: Socket; lanes: Lane[] }>();

  private readonly server: Server;
  private listeningPort = 0;

  private constructor(targetPort: number, options: LinkOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.bytesPerSecond = options.bytesPerSecond;
    this.uplink = options.uplink;
    options.uplink?.add(this);
    this.server = createServer((client) => this.accept(client, targetPort));
  }

  static async start(options: LinkOptions & { targetPort: number }): Promise<LinkProxy> {
    const proxy = new LinkProxy(options.targetPort, options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen(0, "127.0.0.1", resolve);
    });
    const address = proxy.server.address();
    if (address === null || typeof address === "string") throw new Error("link proxy has no TCP address");
    proxy.listeningPort = address.port;
    return proxy;
  }

  /** The port the link listens on (127.0.0.1). */
  get port(): number {
    return this.listeningPort;
  }

  private accept(client: Socket, targetPort: number): void {
    this.connectionsAccepted++;
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const connection = { client, upstream, lanes: [] as Lane[] };
    connection.lanes.push(new Lane(client, upstream, this, 0), new Lane(upstream, client, this, 1));
    this.connections.add(connection);
    const close = () => {
      connection.lanes.forEach((l) => l.stop());
      client.destroy();
      upstream.destroy();
      this.connections.delete(connection);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  }

  count(bytes: number): void {
    this.bytesForwarded += bytes;
    if (this.cutAt !== undefined && this.bytesForwarded >= this.cutAt) {
      this.cutAt = undefined;
      this.cut();
    }
  }

  /** Drops every live connection at once, as a broken link would. New connections still work. */
  cut(): void {
    for (const { client, upstream, lanes } of [...this.connections]) {
      lanes.forEach((l) => l.stop());
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.connections.clear();
  }

  /** Cuts live connections once `bytes` more have gone through the link. */
  cutAfter(bytes: number): void {
    this.cutAt = this.bytesForwarded + bytes;
  }

  get liveConnections(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
