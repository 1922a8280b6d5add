// WASI guests written by hand in WebAssembly text for tests (compiled with binaryen, already a
// dependency), so WASI tests need no Rust toolchain.
import { join } from "node:path";
import { writeWat } from "./wat.js";

/** Compiles WebAssembly text to `<dir>/<name>.wasm`; returns its path. */
export function watModule(dir: string, name: string, text: string): string {
  return writeWat(join(dir, `${name}.wasm`), text);
}

/**
 * A WAT guest: `imports` (declarations only) plus helpers plus `body`. Helpers: $print(ptr, len),
 * $println(ptr, len) (and a newline), $printNum(n) (decimal and a newline), $strlen(ptr),
 * $argc() (loads argv), $arg(i) (pointer). Stdout is line-buffered by dwe: a log line ends at "\n".
 * Memory map: 0..16 iovec scratch, 16..24 argc/argv size, 96 "\n", 100..121 number scratch,
 * 1024.. argv pointers, 4096.. argv strings, 8192.. free for the test.
 */
export function wasiGuest(imports: string, body: string): string {
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  ${imports}
  (memory (export "memory") 2)
  ${HELPERS}
  ${body}
)`;
}

const HELPERS = `
  ;; writes [p, p+l) to stdout: one fd_write, so one log line
  (func $print (param $p i32) (param $l i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $l))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (data (i32.const 96) "\\n")
  (func $println (param $p i32) (param $l i32)
    (call $print (local.get $p) (local.get $l))
    (call $print (i32.const 96) (i32.const 1)))
  ;; prints n in decimal followed by a newline
  (func $printNum (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 120))
    (i32.store8 (i32.const 120) (i32.const 10))
    (loop $d
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $d (local.get $n)))
    (call $print (local.get $p) (i32.sub (i32.const 121) (local.get $p))))
  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $e (loop $l
      (br_if $e (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $n))
  ;; loads argv; returns argc
  (func $argc (result i32)
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (i32.load (i32.const 16)))
  (func $arg (param $i i32) (result i32) (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
`;
