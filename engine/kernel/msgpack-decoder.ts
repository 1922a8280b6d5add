import { Unpackr } from "msgpackr";

/**
 * The one decoder for MessagePack that dwe did not just write itself: guest requests, journal
 * payloads read back from the store, portable run files, cached artifacts. Bytes are first checked
 * by a strict scan (one linear pass, no recursion, no allocation): size, nesting depth, the number
 * of values, declared lengths against the bytes that follow, exactly one value and nothing after
 * it, and no extension types. Only then does msgpackr see them, with none of its own extensions
 * reachable (records, structures, bundled strings, references and the other `moreTypes` all hide
 * behind ext types and 0xc1, which the scan refuses). What a guest can make the host spend is then
 * linear in the bytes it sent, with a small constant (docs/security.md, "Decoding").
 */
export interface DecodeLimits {
  /** Largest input, in bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of arrays and maps (a top-level map is depth 1). */
  readonly maxDepth: number;
  /** Most values in all (every scalar, container, map key and map value counts one). */
  readonly maxValues: number;
  /**
   * Accept msgpackr's encoding of `undefined` (fixext 1, type 0), which dwe's own encoder writes for
   * a field whose value is undefined. Never in guest requests: the ABI defines no extension type.
   */
  readonly undefinedExt: boolean;
}

/** Guest requests (`dwe.call`, and the requests WASI imports build from guest memory). */
export const REQUEST_LIMITS: DecodeLimits = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxValues: 65_536, undefinedExt: false };

/** Results and intents that dwe encoded and journaled, read back (replay, WASI, components). */
export const PAYLOAD_LIMITS: DecodeLimits = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxValues: 4_194_304, undefinedExt: true };

/** A portable run file's header and body, and cached artifacts (module bytes, a whole journal). */
export const FILE_LIMITS: DecodeLimits = { maxBytes: 2 ** 31 - 1, maxDepth: 16, maxValues: 16_777_216, undefinedExt: true };

/** Bytes the scan (or msgpackr after it) refused; callers turn it into their own typed error. */
export class RefusedMsgpack extends Error {
  override name = "RefusedMsgpack";
}

const DEEPEST = 64;
/** Values still to read in each open container; reused (decoding is synchronous and not re-entered). */
const OPEN = new Float64Array(DEEPEST + 1);

/** Why `bytes` is not one well-formed MessagePack value within `limits`, or null when it is. */
export function scanMsgpack(bytes: Uint8Array, limits: DecodeLimits): string | null {
  const end = bytes.length;
  if (end > limits.maxBytes) return `${end} bytes is over the ${limits.maxBytes}-byte limit`;
  const maxDepth = Math.min(limits.maxDepth, DEEPEST);
  let pos = 0;
  let depth = 0;
  let values = 0;
  OPEN[0] = 1;
  for (;;) {
    if (OPEN[depth] === 0) {
      if (depth === 0) break;
      depth--;
      continue;
    }
    OPEN[depth]!--;
    if (pos >= end) return "it ends in the middle of a value (truncated)";
    if (++values > limits.maxValues) return `it holds more than ${limits.maxValues} values`;
    const t = bytes[pos++]!;
    let items: number; // values in the container that starts here (map: keys and values)
    if (t < 0x80 || t >= 0xe0) continue; // fixint
    if (t < 0x90) items = (t - 0x80) * 2;
    else if (t < 0xa0) items = t - 0x90;
    else if (t < 0xc0) {
      pos += t - 0xa0;
      continue;
    } else {
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          continue;
        case 0xc1:
          return "it uses the byte 0xc1, which MessagePack never uses";
        case 0xc4:
        case 0xd9:
          if (pos + 1 > end) return "it ends in the middle of a value (truncated)";
          pos += 1 + bytes[pos]!;
          if (pos > end) return "a string or binary is longer than the bytes that follow";
          continue;
        case 0xc5:
        case 0xda:
          if (pos + 2 > end) return "it ends in the middle of a value (truncated)";
          pos += 2 + ((bytes[pos]! << 8) | bytes[pos + 1]!);
          if (pos > end) return "a string or binary is longer than the bytes that follow";
          continue;
        case 0xc6:
        case 0xdb:
          if (pos + 4 > end) return "it ends in the middle of a value (truncated)";
          pos += 4 + u32(bytes, pos);
          if (pos > end) return "a string or binary is longer than the bytes that follow";
          continue;
        case 0xd4:
          if (limits.undefinedExt && pos + 2 <= end && bytes[pos] === 0) {
            pos += 2;
            continue;
          }
          return extension(bytes, pos, end);
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          return extension(bytes, pos + (t === 0xc7 ? 1 : t === 0xc8 ? 2 : t === 0xc9 ? 4 : 0), end);
        case 0xcc:
        case 0xd0:
          pos += 1;
          continue;
        case 0xcd:
        case 0xd1:
          pos += 2;
          continue;
        case 0xca:
        case 0xce:
        case 0xd2:
          pos += 4;
          continue;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          pos += 8;
          continue;
        case 0xdc:
        case 0xde:
          if (pos + 2 > end) return "it ends in the middle of a value (truncated)";
          items = ((bytes[pos]! << 8) | bytes[pos + 1]!) * (t === 0xde ? 2 : 1);
          pos += 2;
          break;
        default: // 0xdd, 0xdf
          if (pos + 4 > end) return "it ends in the middle of a value (truncated)";
          items = u32(bytes, pos) * (t === 0xdf ? 2 : 1);
          pos += 4;
      }
    }
    // Every value takes at least one byte: a count past the end is a lie, refused before any work.
    if (items > end - pos) return `a container declares ${items} values but only ${Math.max(0, end - pos)} bytes follow`;
    if (depth + 1 > maxDepth) return `it nests arrays and maps more than ${maxDepth} deep`;
    if (items > 0) OPEN[++depth] = items;
  }
  if (pos > end) return "it ends in the middle of a value (truncated)";
  if (pos < end) return `${end - pos} bytes follow the value`;
  return null;
}

function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

function extension(b: Uint8Array, typeAt: number, end: number): string {
  if (typeAt >= end) return "it ends in the middle of a value (truncated)";
  const type = (b[typeAt]! << 24) >> 24;
  return `it uses MessagePack extension type ${type}, which dwe does not accept`;
}

// Records and structures off; no structures are ever loaded, so 0x40..0x7f stay integers.
const UNPACKR = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false, bundleStrings: false, moreTypes: false });

/** Decodes one MessagePack value within `limits`; throws RefusedMsgpack saying why not. */
export function decodeMsgpack(bytes: Uint8Array, limits: DecodeLimits): unknown {
  const refused = scanMsgpack(bytes, limits);
  if (refused !== null) throw new RefusedMsgpack(refused);
  try {
    return UNPACKR.unpack(bytes) as unknown;
  } catch (err) {
    // Left after the scan: map keys that are not strings or numbers, and the like.
    throw new RefusedMsgpack((err as Error).message);
  }
}
