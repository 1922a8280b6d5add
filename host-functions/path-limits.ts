/** Longest path a guest may name, in bytes (Linux's PATH_MAX); also the longest symlink target followed. */
export const MAX_PATH_BYTES = 4096;
