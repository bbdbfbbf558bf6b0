import { RpcError, type OxenMQ } from "@oxenmq-ts/runtime";
import {
  registerBlink,
  registerRpc,
  registerSn,
  registerSystem,
  type BlinkHandlers,
  type RpcHandlers,
  type SnHandlers,
  type SystemHandlers,
} from "../generated/node.js";

/** Implementations of the handler interfaces generated from schemas/node.ts. */
export function registerNodeHandlers(omq: OxenMQ): void {
  let logLevel = "warn";
  let height = 1_000;
  const rpc: RpcHandlers = {
    info: (_args, ctx) => ({
      version: "0.1.0",
      network: "devnet",
      height,
      serviceNode: ctx.serviceNode,
      uptimeSeconds: Math.round(process.uptime()),
    }),
    headers: ({ from, count = 1 }) => {
      if (count > 100) throw new RpcError(400, "count must be at most 100");
      if (from + count > height)
        throw new RpcError(404, `no block at height ${from + count - 1} (tip is ${height - 1})`);
      return Array.from({ length: count }, (_, i) => ({
        height: from + i,
        hash: new Uint8Array(32).fill((from + i) & 0xff),
        timestamp: 1_700_000_000 + (from + i) * 120,
        emission: BigInt(from + i) * 18_000_000_000_000_000n, // beyond 2^53: carried as bigint
      }));
    },
    echo: ({ text, times = 1 }) => ({ text: text.repeat(times) }),
    statusJson: () => ({ status: "OK", height }),
  };
  const system: SystemHandlers = {
    setLogLevel: ({ level }) => {
      const previous = logLevel;
      logLevel = level;
      omq.logLevel = level;
      return { previous };
    },
    flush: () => {
      height++;
    },
  };
  const sn: SnHandlers = {
    vote: ({ height: h }) => ({ accepted: h <= height }),
    gossip: () => {},
  };
  const blink: BlinkHandlers = {
    submit: ({ tx }) => (tx.length ? { approved: true } : { approved: false, reason: "empty transaction" }),
  };
  registerRpc(omq, rpc);
  registerSystem(omq, system);
  registerSn(omq, sn);
  registerBlink(omq, blink);
}
