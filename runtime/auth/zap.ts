import { Router, type Context } from "zeromq";
import type { AuthLevel } from "./access.js";
import { toHex } from "../base/encoding.js";
import type { Log } from "../base/log.js";

/** Decides whether a connecting peer is admitted, and at which level. `pubkey` is empty on plain listeners. */
export type AllowFunc = (address: string, pubkey: Uint8Array, serviceNode: boolean) => AuthLevel | Promise<AuthLevel>;

/** One valid ZAP request (RFC 27), with the route of the handshake session that sent it. */
export interface ZapRequest {
  /** Our ZAP socket's route to the session: unique per connection, assigned by us, never by the peer. */
  readonly zapRoute: Buffer;
  readonly requestId: Buffer;
  /** The peer's address, any IPv4-mapped `::ffff:` prefix removed. */
  readonly address: string;
  /** The CURVE public key (32 bytes), or empty for the NULL mechanism. */
  readonly pubkey: Uint8Array;
}

/** The listener that owns a ZAP domain. */
export interface ZapDomain {
  readonly curve: boolean;
  request(req: ZapRequest): void;
}

/** ZMTP metadata property `X-AuthLevel`, as C++ OxenMQ sends it: [name len][name][u32 BE value len][value]. */
function authMetadata(level: AuthLevel): Buffer {
  const name = Buffer.from("X-AuthLevel");
  const value = Buffer.from(level);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  return Buffer.concat([Buffer.from([name.length]), name, len, value]);
}

/**
 * The ZAP handler of one instance, on `inproc://zeromq.zap.01` in the instance's Context. It validates requests and
 * answers them as C++ OxenMQ does, but the decision belongs to the listener named by the request's domain
 * (docs/identity.md). It is a ROUTER with mandatory routing rather than a REP: each handshake session has its own
 * route, so a reply to a session that has already died fails (EHOSTUNREACH) instead of vanishing, and a send to that
 * route later tells whether the session (the connection) is still alive. libzmq's session does not read its ZAP pipe
 * after the handshake, so such a check never reaches or disturbs the peer.
 */
export class ZapHandler {
  private readonly socket: Router;
  private loop: Promise<void> | undefined;

  constructor(
    context: Context,
    private readonly log: Log,
    private readonly domainOf: (domain: string) => ZapDomain | undefined,
  ) {
    this.socket = new Router({ context, linger: 0, mandatory: true, sendTimeout: 0 });
  }

  async start(): Promise<void> {
    await this.socket.bind("inproc://zeromq.zap.01");
    this.loop = this.run();
  }

  close(): Promise<void> | undefined {
    this.socket.close();
    return this.loop;
  }

  /** Approves (200) or denies (400) a request; false when the session was gone (the reply went nowhere). */
  reply(req: ZapRequest, level: AuthLevel): Promise<boolean> {
    if (level === "denied") return this.send([req.zapRoute, "", "1.0", req.requestId, "400", "Access denied", "", ""]);
    const userId = req.pubkey.length ? toHex(req.pubkey) : "";
    return this.send([req.zapRoute, "", "1.0", req.requestId, "200", "", userId, authMetadata(level)]);
  }

  /** Whether the session behind `zapRoute` still exists. */
  alive(zapRoute: Buffer): Promise<boolean> {
    return this.send([zapRoute, "", "1.0", "0", "200", "", "", ""]);
  }

  private async send(frames: Array<string | Buffer>): Promise<boolean> {
    if (this.socket.closed) return false;
    try {
      await this.socket.send(frames);
      return true;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== "EHOSTUNREACH" && !this.socket.closed) this.log.warn(`ZAP: send failed: ${String(err)}`);
      return false;
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (err) {
        if (!this.socket.closed) this.log.error(`ZAP handler stopped: ${String(err)}`);
        return;
      }
      try {
        this.handle(frames);
      } catch (err) {
        this.log.error(`ZAP: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }

  /** Frames: [zapRoute, "", version, request id, domain, address, identity, mechanism, credentials...]. */
  private handle(m: Buffer[]): void {
    const zapRoute = m[0]!;
    const f = m.slice(2);
    const requestId = f[1] ?? Buffer.alloc(0);
    const fail = (code: string, text: string): void => {
      this.log.warn(`ZAP: ${text}`);
      void this.send([zapRoute, "", "1.0", requestId, code, text, "", ""]);
    };
    if (m[1]?.length !== 0 || f.length < 6 || f[0]!.toString() !== "1.0")
      return fail("500", "Internal error: invalid auth request");
    const domainText = f[2]!.toString();
    const domain = this.domainOf(domainText);
    if (!domain) return fail("400", `Unknown authentication domain: ${domainText}`);
    const mechanism = f[5]!.toString();
    if (domain.curve ? f.length !== 7 || mechanism !== "CURVE" : f.length !== 6 || mechanism !== "NULL")
      return fail("500", "Invalid authentication request mechanism");
    const pubkey = domain.curve ? Uint8Array.from(f[6]!) : new Uint8Array(0);
    if (domain.curve && pubkey.length !== 32) return fail("500", "Invalid public key size for CURVE authentication");
    const address = f[3]!.toString().replace(/^::ffff:/, "");
    domain.request({ zapRoute: Buffer.from(zapRoute), requestId: Buffer.from(requestId), address, pubkey });
  }
}
