import type { DeployEvent } from "@hive/core";

/** Store bytes hosts received in a run: from this machine (the uplink), and between peers (fan-out). */
export class TransferTally {
  uplinkBytes = 0;
  peerBytes = 0;

  readonly onEvent = (event: DeployEvent): void => {
    if (event.type !== "transfer") return;
    if (event.from === "deployer") this.uplinkBytes += event.bytes;
    else this.peerBytes += event.bytes;
  };

  /** The summary's line when peers copied anything; else undefined (nothing new to say). */
  line(): string | undefined {
    if (this.peerBytes === 0) return undefined;
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    return `fan-out: ${mib(this.uplinkBytes)} sent from this machine, ${mib(this.peerBytes)} copied between hosts`;
  }
}
