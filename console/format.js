// How the console writes times, durations and values.

const FINAL = new Set(["completed", "failed", "cancelled"]);
export const isFinal = (status) => FINAL.has(status);

/** A duration in ms as `850 ms`, `12.4 s`, `3m 05s`, `2h 10m`. */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** An ISO time as local `HH:MM:SS` today, else `YYYY-MM-DD HH:MM`. */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time.slice(0, 5)}`;
}

/** How long ago (or how far ahead) an ISO time is: `5 s ago`, `in 2m 10s`. */
export function relative(iso, now = Date.now()) {
  if (!iso) return "";
  const d = new Date(iso).getTime() - now;
  return d >= 0 ? `in ${duration(d)}` : `${duration(-d)} ago`;
}

/** A time in ms since the epoch from what an API field may hold (ISO text or a number), else null. */
export function millis(v) {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v !== "") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** A value as indented JSON text, for <pre>. */
export const pretty = (v) => (v === undefined ? "" : JSON.stringify(v, null, 2));

/** A one-line preview of a value, at most `max` characters. */
export function preview(v, max = 80) {
  if (v === undefined || v === null) return "";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
