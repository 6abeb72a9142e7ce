import type { DeployEvent, NodeName } from "@hive/core";

/** When each node's first event and its `node-done` came: the node's time in the run. */
export class NodeTimes {
  private readonly started = new Map<NodeName, number>();
  private readonly ended = new Map<NodeName, number>();

  constructor(private readonly now: () => number = Date.now) {}

  readonly onEvent = (event: DeployEvent): void => {
    const node = "node" in event ? event.node : undefined;
    if (node === undefined) return;
    if (!this.started.has(node)) this.started.set(node, this.now());
    if (event.type === "node-done") this.ended.set(node, this.now());
  };

  durationMs(node: NodeName): number | undefined {
    const start = this.started.get(node);
    const end = this.ended.get(node);
    return start === undefined || end === undefined ? undefined : end - start;
  }
}
