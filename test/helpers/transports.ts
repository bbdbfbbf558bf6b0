import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Address,
  toHex,
  type AuthLevel,
  type ClientTransport,
  type ConnectionID,
  type ServerTransport,
} from "../../runtime/index.js";
import { InMemoryTransport } from "../../runtime/testing.js";
import { closeAll, makeOmq, type LogLine } from "./omq.js";

/**
 * One behaviour, every transport it applies to (as zeromq.js's `testProtos` does): CURVE over tcp and over ipc, the
 * instance's own inproc connection, and the in-memory transport of `@oxenmq-ts/runtime/testing`.
 */
export type TransportKind = "tcp" | "ipc" | "inproc" | "memory";
export const TRANSPORTS: readonly TransportKind[] = ["tcp", "ipc", "inproc", "memory"];
/** The transports on which a caller's identity can be chosen (inproc is always the instance itself, at admin). */
export const WITH_IDENTITIES: readonly TransportKind[] = ["tcp", "ipc", "memory"];

/** What the server is to have proven about a caller. */
export interface Identity {
  readonly auth?: AuthLevel;
  /** An active service node. */
  readonly serviceNode?: boolean;
}

export interface Caller {
  readonly transport: ClientTransport;
  readonly conn: ConnectionID;
  /** The key the server sees for this caller. */
  readonly pubkey: Uint8Array;
}

/** A server with handlers on one transport, and callers with chosen identities. */
export interface Harness {
  readonly kind: TransportKind;
  /** Register handlers here, before `start()`. */
  readonly server: ServerTransport;
  /** The serving side's log lines (at debug). */
  readonly logs: LogLine[];
  start(): Promise<void>;
  caller(identity?: Identity): Promise<Caller>;
  close(): Promise<void>;
}

export async function harness(kind: TransportKind): Promise<Harness> {
  if (kind === "memory") {
    const logs: LogLine[] = [];
    const t = new InMemoryTransport({ logger: (level, message) => logs.push({ level, message }), logLevel: "debug" });
    return {
      kind,
      server: t,
      logs,
      start: () => t.start(),
      caller: async ({ auth = "none", serviceNode = false } = {}) => {
        const pubkey = randomBytes(32);
        return { transport: t, conn: t.connect({ pubkey, auth, serviceNode }), pubkey };
      },
      close: () => t.close({ timeout: 1000 }),
    };
  }
  const server = await makeOmq();
  // closeAll: the server and its callers.
  const common = { kind, server, logs: server.logs, start: () => server.start(), close: closeAll };
  if (kind === "inproc")
    return {
      ...common,
      caller: async ({ auth = "admin", serviceNode = false } = {}) => {
        if (auth !== "admin" || serviceNode) throw new Error("inproc callers are the instance itself, at admin");
        return { transport: server, conn: await server.connectInproc(), pubkey: server.publicKey };
      },
    };
  const levels = new Map<string, AuthLevel>();
  const bind =
    kind === "tcp" ? "tcp://127.0.0.1:0" : `ipc://${join(tmpdir(), `omq-${randomBytes(6).toString("hex")}`)}`;
  const endpoint = server.listenCurve(bind, { allow: (_ip, pk) => levels.get(toHex(pk)) ?? "none" });
  return {
    ...common,
    caller: async ({ auth = "none", serviceNode = false } = {}) => {
      const client = await makeOmq();
      await client.start();
      levels.set(toHex(client.publicKey), auth);
      if (serviceNode) server.updateActiveSNs([client.publicKey], []);
      const conn = await client.connectRemote(new Address(await endpoint, server.publicKey));
      return { transport: client, conn, pubkey: client.publicKey };
    },
  };
}
