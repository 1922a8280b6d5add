import { ChildLimitReached } from "../kernel/errors.js";

/**
 * How many child runs a run tree may make (docs/security.md, "Limits"): each run's direct
 * children, all descendants of the tree's root, and the depth of the tree (the root is depth 0).
 * Stored with the run (`config.childLimits`) and inherited by its children, so one tree has one set.
 */
export interface ChildLimits {
  children: number;
  descendants: number;
  depth: number;
}

export const DEFAULT_CHILD_LIMITS: ChildLimits = { children: 256, descendants: 4096, depth: 16 };

/** What a tree holds when a run asks for one more child. */
export interface TreeCounts {
  /** Direct children of the parent. */
  children: number;
  /** Descendants of the tree's root. */
  descendants: number;
  /** Depth of the parent (the root is 0). */
  parentDepth: number;
}

/** Refuses one more child under `parent` when it would pass one of `limits`. The same rule for both stores. */
export function checkChildLimits(parent: string, counts: TreeCounts, limits: ChildLimits = DEFAULT_CHILD_LIMITS): void {
  const refuse = (what: string, flag: string, n: number) =>
    new ChildLimitReached(`run ${parent} cannot start another child run: ${what} (${flag} ${n}); no child was started`);
  if (counts.children >= limits.children) throw refuse(`it has ${counts.children} children, the limit`, "--max-children", limits.children);
  if (counts.parentDepth + 1 > limits.depth) {
    throw refuse(`the child would be at depth ${counts.parentDepth + 1}, past the limit`, "--max-depth", limits.depth);
  }
  if (counts.descendants >= limits.descendants) {
    throw refuse(`its run tree has ${counts.descendants} descendants, the limit`, "--max-descendants", limits.descendants);
  }
}

/**
 * The queries both stores count with (`?`/`$1` is the parent's id): the parent's depth (its
 * distance to the root, guarded against cycles), its direct children, and the root's descendants.
 */
export const TREE_SQL = {
  up: `WITH RECURSIVE up(id, parent_id, depth) AS (
         SELECT id, parent_id, 0 FROM runs WHERE id = $1
         UNION ALL SELECT r.id, r.parent_id, up.depth + 1 FROM runs r JOIN up ON r.id = up.parent_id WHERE up.depth < 10000)
       SELECT id, depth FROM up ORDER BY depth DESC LIMIT 1`,
  children: "SELECT COUNT(*) AS n FROM runs WHERE parent_id = $1",
  descendants: `WITH RECURSIVE down(id) AS (
         SELECT id FROM runs WHERE parent_id = $1 UNION SELECT r.id FROM runs r JOIN down ON r.parent_id = down.id)
       SELECT COUNT(*) AS n FROM down`,
} as const;
