// The bencode package ships no types; the tests use it only as an independent oracle for the wire format.
declare module "bencode" {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): unknown;
  };
  export default bencode;
}
