import { createConnection, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A port that is free now, below the kernel's ephemeral range so outgoing connections do not
 * take it. Callers retry when they lose a race for it.
 */
export async function pickPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port found between 20000 and 32000");
}

function readBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let data = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      if (data.includes("\n")) done(data.startsWith("SSH-2.0-"));
    });
    socket.on("error", () => done(false));
    socket.on("end", () => done(false));
  });
}

/** Waits until an SSH server greets on the port; false on timeout or when `abandon` says so. */
export async function waitForSshBanner(
  port: number,
  { timeoutMs, abandon }: { timeoutMs: number; abandon?: () => boolean },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (abandon?.()) return false;
    if (await readBanner(port)) return true;
    await sleep(25);
  }
  return false;
}
