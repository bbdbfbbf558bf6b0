/**
 * Example schema modelled on the OxenMQ README's categories: a public read API, an admin `system` category, a
 * service-node-only `sn` category and a local-service-node `blink` category.
 */
import { category, command, request, type Frames } from "@oxenmq-ts/codegen/schema";

/** Network a node runs on. */
export type Network = "mainnet" | "testnet" | "devnet";

/** A block header, as the public API returns it. */
export interface BlockHeader {
  height: number;
  /** 32-byte block hash. */
  hash: Uint8Array;
  timestamp: number;
  /** Total coins emitted up to this block, in atomic units (exceeds 2^53). */
  emission: bigint;
}

export interface NodeInfo {
  version: string;
  network: Network;
  height: number;
  /** Whether this node is an active service node. */
  serviceNode: boolean;
  uptimeSeconds?: number;
}

/** Public, read-only API: anyone may call it. */
export const rpc = category("rpc", {
  access: "none",
  reservedThreads: 1,
  maxQueue: 200,
  commands: {
    /** Basic information about the node. */
    info: request<void, NodeInfo>({ aliases: ["get_info"] }),
    /** The headers of the blocks in [from, from + count). */
    headers: request<{ from: number; count?: number }, BlockHeader[]>(),
    /** Echoes its arguments (for connectivity checks). */
    echo: request<{ text: string; times?: number }, { text: string }>(),
    /** The node's status as JSON, as older tools expect it. */
    status_json: request<void, { status: "OK" | "BUSY"; height: number }>({ encoding: "json" }),
  },
});

/** Administrative commands: only callers admitted at "admin". */
export const system = category("system", {
  access: "admin",
  reservedThreads: 1,
  commands: {
    /** Changes the log level. */
    set_log_level: request<{ level: "error" | "warn" | "info" | "debug" }, { previous: string }>(),
    /** Asks the node to flush its caches (no reply). */
    flush: command(),
  },
});

/** Service-node to service-node traffic: only proven, active service nodes may call it. */
export const sn = category("sn", {
  access: { auth: "none", remoteSN: true },
  reservedThreads: 2,
  commands: {
    /** A vote for a block, by a quorum member. */
    vote: request<{ height: number; hash: Uint8Array; signature: Uint8Array }, { accepted: boolean }>(),
    /** Gossip: raw frames relayed as they are. */
    gossip: command<Frames>({ encoding: "raw" }),
  },
});

/** Blink transaction handling: only served while this node runs in service-node mode. */
export const blink = category("blink", {
  access: { auth: "none", localSN: true },
  commands: {
    /** Submits a transaction for blink approval. */
    submit: request<{ tx: Uint8Array }, { approved: boolean; reason?: string }>(),
  },
});
