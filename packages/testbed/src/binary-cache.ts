import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { dirname, join, normalize } from "node:path";
import { pipeline } from "node:stream/promises";

/**
 * A Nix binary cache over HTTP, as operators run one (nix-serve, an S3 bucket behind HTTP): GET
 * and HEAD read files under `dir`, PUT writes them (what `nix copy --to http://...` does). Hosts
 * substitute from it; put it behind the fleet's uplink to count what the deployer sends it.
 */
export class BinaryCacheServer {
  private constructor(
    readonly dir: string,
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(dir: string): Promise<BinaryCacheServer> {
    await mkdir(dir, { recursive: true });
    const server = createServer((request, response) => {
      const path = normalize(decodeURIComponent((request.url ?? "/").split("?")[0] ?? "/"));
      const file = join(dir, path);
      if (path.includes("..") || !file.startsWith(dir)) {
        response.writeHead(400).end();
        return;
      }
      const done = (code: number) => {
        if (!response.headersSent) response.writeHead(code);
        response.end();
      };
      if (request.method === "PUT") {
        const partial = `${file}.part`;
        mkdir(dirname(file), { recursive: true })
          .then(() => pipeline(request, createWriteStream(partial)))
          .then(() => rename(partial, file))
          .then(
            () => done(200),
            () => done(500),
          );
        return;
      }
      stat(file).then(
        (info) => {
          if (!info.isFile()) return done(404);
          response.writeHead(200, { "content-length": info.size });
          if (request.method === "HEAD") return void response.end();
          pipeline(createReadStream(file), response).catch(() => response.destroy());
        },
        () => done(404),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the binary cache has no TCP address");
    return new BinaryCacheServer(dir, server, address.port);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
