/** The codec builders generated code uses (`$rt.codec.*`); nothing else of codec.ts is part of the API. */
export {
  array,
  bigint,
  boolean,
  bytes,
  empty,
  field,
  frames,
  int,
  lazy,
  literals,
  object,
  optional,
  string,
} from "./codec.js";
