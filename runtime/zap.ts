import { Reply, type Context } from "zeromq";
import { authRank, type AuthLevel } from "./auth.js";
import { toHex } from "./encoding.js";
import type { Log } from "./log.js";

/** Decides whether a connecting peer is admitted, and at which level (reference §1.3). `pubkey` is empty on plain listeners. */
export type AllowFunc = (address: string, pubkey: Uint8Array, serviceNode: boolean) => AuthLevel | Promise<AuthLevel>;

export interface ZapDomain {
  readonly curve: boolean;
  readonly allow: AllowFunc | undefined;
}

/** One admitted CURVE handshake that no route has claimed yet. */
interface Approval {
  readonly level: AuthLevel;
  readonly address: string;
  readonly at: number;
}

/** How long an approval waits for its route proof; our clients send it as the very first thing after the handshake. */
const APPROVAL_TTL_MS = 30_000;

/** ZMTP metadata property `X-AuthLevel`, as C++ OxenMQ sends it: [name len][name][u32 BE value len][value]. */
function authMetadata(level: AuthLevel): Buffer {
  const name = Buffer.from("X-AuthLevel");
  const value = Buffer.from(level);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  return Buffer.concat([Buffer.from([name.length]), name, len, value]);
}

/**
 * The ZAP handler (RFC 27, reference §2.6) of one instance, on `inproc://zeromq.zap.01` in the instance's Context.
 * It answers exactly as C++ OxenMQ does, and keeps the approvals of CURVE keys for route binding (reference §4.1).
 */
export class ZapHandler {
  private readonly socket: Reply;
  private readonly approvals = new Map<string, Approval[]>();
  private loop: Promise<void> | undefined;
  private inserts = 0;

  constructor(
    context: Context,
    private readonly log: Log,
    private readonly domainOf: (domain: string) => ZapDomain | undefined,
    private readonly isServiceNode: (pubkeyHex: string) => boolean,
  ) {
    this.socket = new Reply({ context, linger: 0 });
  }

  async start(): Promise<void> {
    await this.socket.bind("inproc://zeromq.zap.01");
    this.loop = this.run();
  }

  close(): Promise<void> | undefined {
    this.socket.close();
    return this.loop;
  }

  /**
   * Claims an approval of `pubkeyHex` for a route that proved that key. The level is the lowest of all pending
   * approvals of the key, and the highest one is consumed: whatever the order of handshakes and proofs, a route never
   * gets more than the approval of its own handshake. Undefined when no handshake of that key is pending.
   */
  claim(pubkeyHex: string, now = Date.now()): { level: AuthLevel; address: string } | undefined {
    const list = this.approvals.get(pubkeyHex)?.filter((a) => now - a.at < APPROVAL_TTL_MS);
    if (!list?.length) {
      this.approvals.delete(pubkeyHex);
      return undefined;
    }
    let lowest = list[0]!;
    let highestIdx = 0;
    list.forEach((a, i) => {
      if (authRank(a.level) < authRank(lowest.level)) lowest = a;
      if (authRank(a.level) > authRank(list[highestIdx]!.level)) highestIdx = i;
    });
    list.splice(highestIdx, 1);
    if (list.length) this.approvals.set(pubkeyHex, list);
    else this.approvals.delete(pubkeyHex);
    return { level: lowest.level, address: lowest.address };
  }

  /** Drops approvals no proof claimed in time (clients without proofs, such as C++ OxenMQ, leave them behind). */
  private sweep(now = Date.now()): void {
    for (const [key, list] of this.approvals) {
      const live = list.filter((a) => now - a.at < APPROVAL_TTL_MS);
      if (live.length) this.approvals.set(key, live);
      else this.approvals.delete(key);
    }
  }

  private async run(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        const reply = await this.handle(frames);
        await this.socket.send(reply);
      }
    } catch (err) {
      if (!this.socket.closed) this.log.error(`ZAP handler stopped: ${String(err)}`);
    }
  }

  private async handle(f: Buffer[]): Promise<Array<string | Buffer>> {
    const requestId = f[1] ?? Buffer.alloc(0);
    const fail = (code: string, text: string): Array<string | Buffer> => {
      this.log.warn(`ZAP: ${text}`);
      return ["1.0", requestId, code, text, "", ""];
    };
    if (f.length < 6 || f[0]!.toString() !== "1.0") return fail("500", "Internal error: invalid auth request");
    const domainText = f[2]!.toString();
    const domain = this.domainOf(domainText);
    if (!domain) return fail("400", `Unknown authentication domain: ${domainText}`);
    const mechanism = f[5]!.toString();
    if (domain.curve ? f.length !== 7 || mechanism !== "CURVE" : f.length !== 6 || mechanism !== "NULL")
      return fail("500", "Invalid authentication request mechanism");
    const pubkey = domain.curve ? Uint8Array.from(f[6]!) : new Uint8Array(0);
    if (domain.curve && pubkey.length !== 32) return fail("500", "Invalid public key size for CURVE authentication");

    const address = f[3]!.toString().replace(/^::ffff:/, "");
    const hex = domain.curve ? toHex(pubkey) : "";
    const sn = domain.curve && this.isServiceNode(hex);
    let level: AuthLevel = "none";
    if (domain.allow) {
      try {
        level = await domain.allow(address, pubkey, sn);
      } catch (err) {
        this.log.error(`allow callback threw, denying ${address}: ${String(err)}`);
        level = "denied";
      }
    }
    if (level !== "none" && level !== "basic" && level !== "admin") {
      this.log.info(`Access denied for incoming ${domain.curve ? "curve" : "plain"} connection from ${address}`);
      return ["1.0", requestId, "400", "Access denied", "", ""];
    }
    if (domain.curve) {
      const list = this.approvals.get(hex) ?? [];
      list.push({ level, address, at: Date.now() });
      this.approvals.set(hex, list);
      if (++this.inserts % 256 === 0) this.sweep();
    }
    this.log.debug(`Accepted ${domain.curve ? "curve" : "plain"} connection from ${address} at auth level ${level}`);
    return ["1.0", requestId, "200", "", hex, authMetadata(level)];
  }
}
