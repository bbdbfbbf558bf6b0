/** Byte encodings used for keys and addresses: hex, z-base-32 (oxenc's base32z), base64 and Z85. */

const B32Z = "ybndrfg8ejkmcpqxot1uwisza345h769";
const B32Z_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B32Z.length; i++) {
  B32Z_INDEX[B32Z.charCodeAt(i)] = i;
  B32Z_INDEX[B32Z.toUpperCase().charCodeAt(i)] = i;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function isHex(s: string): boolean {
  return s.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(s);
}

export function fromHex(s: string): Uint8Array {
  if (!isHex(s)) throw new TypeError("not a hex string");
  return new Uint8Array(Buffer.from(s, "hex"));
}

/** Encodes bytes as z-base-32, most significant bit first, as oxenc does (32 bytes give 52 characters). */
export function toBase32z(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32Z[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += B32Z[(acc << (5 - bits)) & 31];
  return out;
}

/** True when every character is a z-base-32 digit (either case). */
export function isBase32z(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || B32Z_INDEX[c] === -1) return false;
  }
  return true;
}

/** Decodes z-base-32 case-insensitively; trailing bits that do not fill a byte are dropped. */
export function fromBase32z(s: string): Uint8Array {
  if (!isBase32z(s)) throw new TypeError("not a base32z string");
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    acc = ((acc << 5) | B32Z_INDEX[s.charCodeAt(i)]!) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o < out.length) out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Unpadded standard base64 (43 characters for 32 bytes), as oxenc's address output. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

export function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

export function fromBase64(s: string): Uint8Array {
  if (!isBase64(s)) throw new TypeError("not a base64 string");
  return new Uint8Array(Buffer.from(s, "base64"));
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Z85 (ZeroMQ RFC 32): only needed because zeromq's CURVE key options take it. Input length must be a multiple of 4. */
export function toZ85(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError("Z85 input must be a multiple of 4 bytes");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.push(Z85[value % 85]!);
      value = Math.floor(value / 85);
    }
    out += chunk.reverse().join("");
  }
  return out;
}
