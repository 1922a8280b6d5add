import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { cacheDir } from "./cache-dir.js";

/**
 * The per-user cache of instrumented modules, shared by every database of the user: instrumenting
 * takes seconds (binaryen), and a new database should not pay for it again. A database that holds
 * the artifact uses its own copy and never reads this cache.
 *
 * An entry is trusted only when it carries an HMAC-SHA256, under this cache's key, of the source
 * module's sha256, the artifact kind and the bytes. A file that fails it (planted, copied in from
 * another machine, left by an older dwe, damaged) is discarded and the module instrumented again:
 * it is never executed. The key (`<cache>/key`, 32 random bytes, mode 0600) is used only when it is
 * a regular file of this user that nobody else can read or write. What keeps a guest from reading
 * the key and forging an entry is that no `--dir` grant may contain or enter the cache directory
 * (docs/security.md, "dwe's own files").
 */
const MAC_BYTES = 32;

function entryFile(kind: string, sha: string): string {
  return join(cacheDir(), `${kind}-${sha}.signed`);
}

/**
 * Writes a new key whole under another name, then links it into place: a process killed while
 * making it leaves no short key behind, and of two processes making it at once one key wins.
 */
function makeKey(path: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeFileSync(fd, randomBytes(MAC_BYTES));
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** This cache's key, made on first use; undefined when it cannot be trusted (or made). */
function cacheKey(): Buffer | undefined {
  const dir = cacheDir();
  const path = join(dir, "key");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(path)) makeKey(path);
    const st = lstatSync(path);
    const mine = typeof process.getuid !== "function" || st.uid === process.getuid();
    if (!st.isFile() || !mine || (st.mode & 0o077) !== 0) return undefined;
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (fstatSync(fd).size !== MAC_BYTES) return undefined;
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

function mac(key: Buffer, kind: string, sha: string, bytes: Uint8Array): Buffer {
  return createHmac("sha256", key).update(`${kind}\0${sha}\0`).update(bytes).digest();
}

/** The cached artifact of module `sha`, if its entry verifies; anything else reads as a miss. */
export function readCachedArtifact(kind: string, sha: string): Uint8Array | undefined {
  const key = cacheKey();
  if (!key) return undefined;
  let file: Buffer;
  try {
    file = readFileSync(entryFile(kind, sha));
  } catch {
    return undefined;
  }
  if (file.length <= MAC_BYTES) return undefined;
  const bytes = new Uint8Array(file.buffer, file.byteOffset + MAC_BYTES, file.length - MAC_BYTES);
  return timingSafeEqual(file.subarray(0, MAC_BYTES), mac(key, kind, sha, bytes)) ? bytes : undefined;
}

/** Writes the entry atomically (temp file, rename); a cache that cannot be written only costs speed. */
export function writeCachedArtifact(kind: string, sha: string, bytes: Uint8Array): void {
  const key = cacheKey();
  if (!key) return;
  try {
    const file = entryFile(kind, sha);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([mac(key, kind, sha, bytes), bytes]), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A read-only cache only costs speed.
  }
}
