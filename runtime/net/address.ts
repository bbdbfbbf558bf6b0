import { OmqError } from "../base/errors.js";
import { keyBytes } from "../auth/keys.js";
import {
  fromBase32z,
  fromBase64,
  fromHex,
  isBase32z,
  isBase64,
  isHex,
  toBase32z,
  toBase64,
  toHex,
} from "../base/encoding.js";

export type AddressProtocol = "tcp" | "tcp_curve" | "ipc" | "ipc_curve";
export type KeyEncoding = "hex" | "base32z" | "BASE32Z" | "base64";

const bad = (msg: string): OmqError => new OmqError("INVALID_ADDRESS", msg);

/** Decodes a pubkey written as 64 hex, 52 base32z or 43 base64 characters (optionally with one `=`). */
function decodePubkey(s: string, qr: boolean): Uint8Array | undefined {
  if (s.length === 64 && isHex(s)) return fromHex(s);
  if (s.length === 52 && isBase32z(s)) return fromBase32z(s);
  if (!qr && (s.length === 43 || (s.length === 44 && s.endsWith("="))) && isBase64(s)) return fromBase64(s);
  return undefined;
}

function parsePort(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw bad(`Invalid address: port '${s}' is not a number`);
  const port = Number(s);
  if (port < 1 || port > 65535) throw bad(`Invalid address: port ${s} is out of range`);
  return port;
}

/**
 * An OxenMQ address (docs/protocol.md#addresses): `tcp://HOST:PORT`, `curve://HOST:PORT/PUBKEY` (alias `tcp+curve://`),
 * `ipc://PATH`, `ipc+curve://PATH/PUBKEY`, and the QR forms `TCP://` and `CURVE://`. Immutable.
 *
 * @example new Address("curve://127.0.0.1:5555/" + pubkeyHex).zmqAddress // "tcp://127.0.0.1:5555"
 */
export class Address {
  readonly protocol: AddressProtocol;
  readonly host: string = "";
  readonly port: number = 0;
  readonly socket: string = "";
  /** 32 raw bytes for curve addresses, empty otherwise. */
  readonly pubkey: Uint8Array = new Uint8Array(0);

  constructor(addr: string, pubkey?: Uint8Array) {
    if (pubkey !== undefined) keyBytes(pubkey, "Address pubkey");
    const sep = addr.indexOf("://");
    if (sep <= 0) throw bad(`Invalid address '${addr}': missing protocol`);
    const proto = addr.slice(0, sep);
    let rest = addr.slice(sep + 3);
    if (rest.length === 0) throw bad(`Invalid address '${addr}': nothing after the protocol`);
    const qr = proto === "TCP" || proto === "CURVE";
    if (qr) {
      if (!/^[A-Z0-9$:/.-]*$/.test(rest)) throw bad(`Invalid QR address '${addr}': invalid characters`);
    }
    switch (proto) {
      case "tcp":
      case "TCP":
        this.protocol = "tcp";
        break;
      case "curve":
      case "tcp+curve":
      case "CURVE":
        this.protocol = "tcp_curve";
        break;
      case "ipc":
        this.protocol = "ipc";
        break;
      case "ipc+curve":
        this.protocol = "ipc_curve";
        break;
      default:
        throw bad(`Invalid protocol '${proto}' in address '${addr}'`);
    }
    if (this.protocol === "ipc" || this.protocol === "ipc_curve") {
      if (this.protocol === "ipc_curve") {
        const slash = rest.lastIndexOf("/");
        const key = slash >= 0 ? decodePubkey(rest.slice(slash + 1), false) : undefined;
        if (!key || slash <= 0) throw bad("icp+curve:// requires a trailing /PUBKEY value");
        this.pubkey = key;
        rest = rest.slice(0, slash);
      }
      this.socket = rest;
    } else {
      let hostEnd: number;
      if (rest.startsWith("[") || (qr && rest.startsWith("$"))) {
        const close = rest.indexOf(qr ? "$" : "]", 1);
        if (close < 0) throw bad(`Invalid address '${addr}': unterminated IPv6 host`);
        const inner = rest.slice(1, close);
        if (!/^[:.0-9a-fA-F]+$/.test(inner)) throw bad(`Invalid address '${addr}': bad IPv6 host`);
        this.host = `[${inner.toLowerCase()}]`;
        hostEnd = close + 1;
        if (rest[hostEnd] !== ":") throw bad(`Invalid address '${addr}': missing port`);
      } else {
        hostEnd = rest.indexOf(":");
        if (hostEnd < 0) throw bad(`Invalid address '${addr}': missing port`);
        if (hostEnd === 0) throw bad(`Invalid address '${addr}': empty host`);
        this.host = qr ? rest.slice(0, hostEnd).toLowerCase() : rest.slice(0, hostEnd);
      }
      const afterHost = rest.slice(hostEnd + 1);
      const slash = afterHost.indexOf("/");
      this.port = parsePort(slash < 0 ? afterHost : afterHost.slice(0, slash));
      if (this.protocol === "tcp_curve") {
        const keyText = slash < 0 ? "" : afterHost.slice(slash + 1);
        const key = decodePubkey(keyText, qr);
        if (!key) throw bad(`Invalid address '${addr}': curve:// requires a /PUBKEY (64 hex, 52 base32z or 43 base64)`);
        this.pubkey = key;
      } else if (slash >= 0) {
        throw bad(`Invalid address '${addr}': trailing data after the port`);
      }
    }
    if (pubkey !== undefined) return this.withPubkey(pubkey);
  }

  /** A copy with the pubkey set (32 bytes: curve protocol) or removed (0 bytes: plain protocol). */
  withPubkey(pubkey: Uint8Array): Address {
    keyBytes(pubkey, "pubkey");
    if (pubkey.length !== 0 && pubkey.length !== 32) throw bad("Invalid pubkey: expected 0 or 32 bytes");
    const copy = Object.create(Address.prototype) as { -readonly [K in keyof Address]: Address[K] };
    Object.assign(copy, this);
    copy.pubkey = pubkey;
    const ipc = this.isIpc;
    copy.protocol = pubkey.length ? (ipc ? "ipc_curve" : "tcp_curve") : ipc ? "ipc" : "tcp";
    return copy;
  }

  static tcp(host: string, port: number): Address {
    return new Address(`tcp://${host}:${port}`);
  }
  static tcpCurve(host: string, port: number, pubkey: Uint8Array): Address {
    return new Address(`tcp://${host}:${port}`, pubkey);
  }
  static ipc(path: string): Address {
    return new Address(`ipc://${path}`);
  }
  static ipcCurve(path: string, pubkey: Uint8Array): Address {
    return new Address(`ipc://${path}`, pubkey);
  }

  get isCurve(): boolean {
    return this.protocol === "tcp_curve" || this.protocol === "ipc_curve";
  }
  get isTcp(): boolean {
    return this.protocol === "tcp" || this.protocol === "tcp_curve";
  }
  get isIpc(): boolean {
    return !this.isTcp;
  }

  /** The address zeromq connects to, without the pubkey. */
  get zmqAddress(): string {
    return this.isTcp ? `tcp://${this.host}:${this.port}` : `ipc://${this.socket}`;
  }

  encodePubkey(enc: KeyEncoding = "base32z"): string {
    switch (enc) {
      case "hex":
        return toHex(this.pubkey);
      case "base32z":
        return toBase32z(this.pubkey);
      case "BASE32Z":
        return toBase32z(this.pubkey).toUpperCase();
      case "base64":
        return toBase64(this.pubkey);
    }
  }

  fullAddress(enc: KeyEncoding = "base32z"): string {
    switch (this.protocol) {
      case "tcp":
        return this.zmqAddress;
      case "ipc":
        return this.zmqAddress;
      case "tcp_curve":
        return `curve://${this.host}:${this.port}/${this.encodePubkey(enc)}`;
      case "ipc_curve":
        return `ipc+curve://${this.socket}/${this.encodePubkey(enc)}`;
    }
  }

  /** Upper-case form for QR codes: `TCP://HOST:PORT` or `CURVE://HOST:PORT/BASE32Z`, `$` instead of brackets. */
  get qrAddress(): string {
    if (this.isIpc) throw new OmqError("INVALID_ARGUMENT", "QR addresses are only for tcp addresses");
    if (!this.host) throw new OmqError("INVALID_ARGUMENT", "QR address needs a host");
    const host = this.host.replace("[", "$").replace("]", "$").toUpperCase();
    return this.isCurve ? `CURVE://${host}:${this.port}/${this.encodePubkey("BASE32Z")}` : `TCP://${host}:${this.port}`;
  }

  equals(other: Address): boolean {
    if (this.protocol !== other.protocol) return false;
    const same = this.isTcp ? this.host === other.host && this.port === other.port : this.socket === other.socket;
    return same && (!this.isCurve || Buffer.compare(this.pubkey, other.pubkey) === 0);
  }

  toString(): string {
    return this.fullAddress();
  }
}
