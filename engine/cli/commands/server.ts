import { Dwe } from "../../api/dwe.js";
import { serve } from "../../server/server.js";
import { type GlobalOptions, dbPath, parseDurability } from "./context.js";
import { parseSize } from "./options.js";

export interface ServerFlags extends GlobalOptions {
  listen?: string;
  token?: string;
  maxBody?: string;
  metrics?: boolean;
}

/**
 * `dwe server [--listen 127.0.0.1:7070]`: the JSON HTTP API (docs/http-api.md) until SIGTERM/SIGINT.
 * Prints the bound URL on stdout (the real port when 0 was asked for), then serves.
 */
export async function serverCommand(flags: ServerFlags): Promise<number> {
  const token = flags.token ?? (process.env.DWE_TOKEN || undefined);
  const maxBodyBytes = flags.maxBody === undefined ? undefined : parseSize(flags.maxBody, "--max-body");
  const dwe = await Dwe.open({ db: dbPath(flags), durability: parseDurability(flags.durability), metrics: flags.metrics === true });
  try {
    const server = await serve(dwe, {
      ...(flags.listen !== undefined && { listen: flags.listen }),
      ...(token !== undefined && { token }),
      ...(maxBodyBytes !== undefined && { maxBodyBytes }),
      ...(flags.metrics && { metrics: true }),
    });
    process.stdout.write(`${server.url}\n`);
    process.stderr.write(
      `dwe server: listening on ${server.url}/api/ (database ${dwe.location}${token ? ", bearer token required" : ""}); the console is at ${server.url}/\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (sig: NodeJS.Signals) => {
        process.stderr.write(`dwe server: ${sig}: stopping\n`);
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void server.close().then(resolve);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    return 0;
  } finally {
    await dwe.close();
  }
}
