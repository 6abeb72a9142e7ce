import { randomBytes } from "node:crypto";
import { isHiveError, type DeployEvent, type NodeName } from "@hive/core";
import type { PathInfo } from "@hive/nix";
import type { Host } from "./host.js";
import {
  copyBetweenPeers,
  makeSenderKey,
  removeSenderKey,
  verifyPeerCopy,
  type PeerAddress,
  type SenderKey,
} from "./peer-copy.js";

/** A node's place in fan-out (deployment.fanOut): where peers reach it, and who may copy with it. */
export interface PeerSpec extends PeerAddress {
  group: string;
}

/** Copies one host sends at once: a source serves two, so holders double each round. */
const SENDS_PER_SOURCE = 2;
/** Below this, waiting for a peer costs more than the uplink saves. */
const MIN_SHARED_BYTES = 1024 * 1024;

/** A host that holds (or is being sent) a closure other hosts may copy from. */
interface Holder {
  node: NodeName;
  host: Host;
  peer: PeerSpec;
  /** Its system's closure: what it will hold once its push is done. */
  closure: Set<string>;
  /** What its store holds now (valid before, or copied since): all another host may copy from it. */
  held: Set<string>;
  state: "receiving" | "ready" | "failed";
  sending: number;
  /** Bytes per millisecond of its fastest copy to a peer so far (0 before its first). */
  speed: number;
  key?: Promise<SenderKey>;
}

/** What a node's push ends with: call `done` once it holds its whole closure (or failed to). */
export interface Holding {
  done(ok: boolean): void;
}

export interface PeerBrokerOptions {
  /** A peer copy with no progress for this long is given up (and the node pushed direct). */
  stallMs: number;
  onEvent: (event: DeployEvent) => void;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const bytesOf = (paths: readonly PathInfo[]) => paths.reduce((sum, p) => sum + p.narSize, 0);

/**
 * Push once, fan out: the first host that lacks a set of paths gets them from this machine; hosts
 * that lack the same paths wait for a host that holds them and copy from it over the fleet's own
 * network (deployment.fanOut), each source serving a couple at a time and the fastest preferred,
 * so holders double each round. What no peer holds, and any copy that fails or stalls, comes
 * direct from this machine afterwards: fan-out never fails a node.
 */
export class PeerBroker {
  private readonly holders: Holder[] = [];
  private readonly id = randomBytes(8).toString("hex");
  private waiters: (() => void)[] = [];

  constructor(private readonly options: PeerBrokerOptions) {}

  private changed(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  private nextChange(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => reject(signal?.reason as Error);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /**
   * Before a node's direct push: copies from peers what they hold of what it lacks (`missing`,
   * in the closure's order), waiting for a peer still being sent them. Errors of peer copies are
   * warnings; the direct push that follows sends whatever is still missing.
   */
  async fill(
    host: Host,
    peer: PeerSpec,
    closure: readonly PathInfo[],
    missing: readonly PathInfo[],
    pushDirect: (paths: readonly PathInfo[]) => Promise<void>,
  ): Promise<Holding> {
    const lacking = new Set(missing.map((p) => p.path));
    const me: Holder = {
      node: host.node,
      host,
      peer,
      closure: new Set(closure.map((p) => p.path)),
      held: new Set(closure.filter((p) => !lacking.has(p.path)).map((p) => p.path)),
      state: "receiving",
      sending: 0,
      speed: 0,
    };
    // Only holders registered before this node are waited for: no two nodes wait on each other.
    const earlier = this.holders.filter((h) => h.peer.group === peer.group && h.node !== host.node);
    this.holders.push(me);
    const holding: Holding = {
      done: (ok) => {
        me.state = ok ? "ready" : "failed";
        if (ok) me.held = new Set(me.closure);
        this.changed();
      },
    };
    const shared = (h: Holder) => missing.filter((p) => h.closure.has(p.path));
    const worth = (h: Holder) => {
      const bytes = bytesOf(shared(h));
      return bytes >= MIN_SHARED_BYTES && bytes * 2 >= bytesOf(missing);
    };
    // A source can send once it holds all it shares with this node (a peer copy made it so, or its push).
    const usable = (h: Holder) => h.sending < SENDS_PER_SOURCE && shared(h).every((p) => h.held.has(p.path));
    let candidates = earlier.filter(worth);
    // What no candidate will hold goes direct while this node waits, once the group holds the
    // shared paths somewhere (until then the uplink is theirs).
    const early = directFirst(missing, candidates);
    let direct: Promise<void> | undefined;
    const sendEarly = () => {
      const sent = pushDirect(early).then(() => {
        for (const p of early) me.held.add(p.path);
      });
      // Awaited after the wait; a failure before then must not go unhandled meanwhile.
      sent.catch(() => undefined);
      return sent;
    };
    try {
      while (candidates.length > 0) {
        if (early.length > 0 && direct === undefined && candidates.some((h) => h.state === "ready"))
          direct = sendEarly();
        const free = candidates
          .filter(usable)
          .sort((a, b) => bytesOf(shared(b)) - bytesOf(shared(a)) || a.sending - b.sending || b.speed - a.speed);
        const source = free[0];
        if (source !== undefined) {
          direct ??= early.length > 0 ? sendEarly() : undefined;
          await this.copyFrom(source, me, shared(source));
          break;
        }
        await this.nextChange(host.signal);
        candidates = candidates.filter((h) => h.state !== "failed");
      }
      await direct;
    } catch (error) {
      await direct?.catch(() => undefined);
      holding.done(false);
      throw error;
    }
    return holding;
  }

  private async copyFrom(source: Holder, to: Holder, paths: readonly PathInfo[]): Promise<void> {
    source.sending++;
    const started = Date.now();
    try {
      source.key ??= makeSenderKey(source.host, this.id);
      const key = await source.key;
      const bytes = await copyBetweenPeers(source.host, key, source.peer, to.host, to.peer, paths, {
        // Fixed length, so that no marker is a prefix of another.
        marker: `hive-fan-out-${this.id}-${randomBytes(6).toString("hex")}`,
        stallMs: this.options.stallMs,
        onProgress: (sent) =>
          this.options.onEvent({
            type: "progress",
            node: to.node,
            step: "push",
            bytes: Math.min(sent, bytesOf(paths)),
          }),
      });
      await verifyPeerCopy(to.host, source.node, paths);
      for (const p of paths) to.held.add(p.path);
      const ms = Math.max(1, Date.now() - started);
      source.speed = Math.max(source.speed, bytes / ms);
      this.options.onEvent({ type: "transfer", node: to.node, from: source.node, bytes });
      this.options.onEvent({
        type: "log",
        node: to.node,
        step: "push",
        line: `${paths.length} paths (${mib(bytes)}) copied from peer ${source.node} in ${(ms / 1000).toFixed(1)} s`,
      });
    } catch (error) {
      // Content other than what was built is not a fault to route around: the node fails.
      if (to.host.signal?.aborted || (isHiveError(error) && error.code === "HIVE_PEER_CONTENT_MISMATCH")) throw error;
      // What arrived before the copy broke is checked too, before the direct push relies on it.
      await verifyPeerCopy(to.host, source.node, paths);
      const why = isHiveError(error) ? error.message : String(error);
      this.options.onEvent({
        type: "warning",
        node: to.node,
        message: `fan-out: copying from peer ${source.node} failed, pushing direct instead: ${why}`,
      });
    } finally {
      source.sending--;
      this.changed();
    }
  }

  /** Removes every ephemeral key this run made (on success, failure and interruption alike). */
  async close(): Promise<void> {
    await Promise.all(
      this.holders.map(async (h) => {
        const key = await h.key?.catch(() => undefined);
        if (key !== undefined) await removeSenderKey(h.host, key);
      }),
    );
  }
}

/**
 * The paths a node lacks that no candidate source will hold, and whose references the host has
 * or gets with them (an import needs them first): these need not wait for a peer.
 */
function directFirst(missing: readonly PathInfo[], candidates: readonly Holder[]): PathInfo[] {
  const lacking = new Set(missing.map((p) => p.path));
  const early = new Set<string>();
  for (const p of missing) {
    if (candidates.some((h) => h.closure.has(p.path))) continue;
    if (p.references.every((r) => r === p.path || !lacking.has(r) || early.has(r))) early.add(p.path);
  }
  return missing.filter((p) => early.has(p.path));
}
