/**
 * 32-bit FNV-1a over bytes. Used for request digests (divergence checks) and per-entry checksums
 * (corruption checks). Not cryptographic: it detects accidents, not attacks, and it is fast for
 * the small payloads that make up most journals.
 */
export function hash32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes a 32-bit integer into a running FNV-1a hash. */
export function hashInt(h: number, value: number): number {
  let x = h >>> 0;
  for (let i = 0; i < 4; i++) {
    x ^= (value >>> (i * 8)) & 0xff;
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

export function digestRequest(op: number, request: Uint8Array): number {
  return hash32(request, hashInt(0x811c9dc5, op));
}

export function entryChecksum(seq: number, op: number, digest: number, state: number, payload: Uint8Array): number {
  let h = hashInt(0x811c9dc5, seq);
  h = hashInt(h, op);
  h = hashInt(h, digest);
  h = hashInt(h, state);
  return hash32(payload, h);
}
