import { GuestVisibleError } from "../engine/kernel/errors.js";

/**
 * Environment variables a guest may not set for its commands unless the user allows each one with
 * `--allow-env-override NAME`. The rule: a variable is protected when it makes the program, or the
 * loader, shell or language runtime inside it, find or run other code than the granted program:
 * - the dynamic loader and libc: LD_*, DYLD_*, GCONV_PATH, GETCONF_DIR, HOSTALIASES, LOCPATH, NLSPATH, MALLOC_*, GLIBC_TUNABLES;
 * - program lookup and the shell: PATH, IFS, CDPATH, ENV, BASH_ENV, BASH_FUNC_* (exported functions
 *   that replace commands), SHELLOPTS, BASHOPTS, PS4, PROMPT_COMMAND, ZDOTDIR;
 * - where programs read per-user startup files and configuration: HOME, XDG_CONFIG_HOME, XDG_CONFIG_DIRS, XDG_DATA_HOME, XDG_DATA_DIRS;
 * - language runtimes' options, startup files and module paths: NODE_*, PYTHON*, PERL5*, PERLLIB,
 *   PERLIO, PERLDB_OPTS, RUBY*, GEM_*, BUNDLE_*, JAVA_TOOL_OPTIONS, _JAVA_OPTIONS, JDK_JAVA_OPTIONS,
 *   CLASSPATH, LUA_*, TCLLIBPATH, PHPRC, PHP_INI_SCAN_DIR, GOFLAGS, RUSTC_WRAPPER, RUSTFLAGS, CARGO_*;
 * - tools that run helpers named in the environment: GIT_*, SSH_ASKPASS, EDITOR, VISUAL, PAGER, LESSOPEN, LESSCLOSE, MANPAGER.
 * (DWE_IDEMPOTENCY_KEY and DWE_OUTPUT are set by dwe after the guest's env, so they cannot be overridden.)
 * Names are matched case-sensitively, as the programs read them. Program-specific variables not
 * listed here are the granted program's business: granting a program grants what it does with its
 * arguments and environment.
 */
const PROTECTED_EXACT = new Set([
  "GCONV_PATH",
  "GETCONF_DIR",
  "HOSTALIASES",
  "LOCPATH",
  "NLSPATH",
  "GLIBC_TUNABLES",
  "PATH",
  "IFS",
  "CDPATH",
  "ENV",
  "BASH_ENV",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "PROMPT_COMMAND",
  "ZDOTDIR",
  "HOME",
  "XDG_CONFIG_HOME",
  "XDG_CONFIG_DIRS",
  "XDG_DATA_HOME",
  "XDG_DATA_DIRS",
  "PERLLIB",
  "PERLIO",
  "PERLDB_OPTS",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "CLASSPATH",
  "TCLLIBPATH",
  "PHPRC",
  "PHP_INI_SCAN_DIR",
  "GOFLAGS",
  "RUSTC_WRAPPER",
  "RUSTFLAGS",
  "SSH_ASKPASS",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "LESSOPEN",
  "LESSCLOSE",
  "MANPAGER",
]);
const PROTECTED_PREFIXES = [
  "LD_",
  "DYLD_",
  "MALLOC_",
  "BASH_FUNC_",
  "NODE_",
  "PYTHON",
  "PERL5",
  "RUBY",
  "GEM_",
  "BUNDLE_",
  "LUA_",
  "CARGO_",
  "GIT_",
];

export function isProtectedEnv(name: string): boolean {
  return PROTECTED_EXACT.has(name) || PROTECTED_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * Checks a command's environment as the guest asked for it: names and values the OS can carry
 * (`invalid` otherwise), and no protected variable unless it was allowed (`denied`).
 */
export function checkExecEnv(env: Record<string, string>, allowed: readonly string[]): void {
  for (const [name, value] of Object.entries(env)) {
    if (name === "" || name.includes("=") || name.includes("\0")) {
      throw new GuestVisibleError("invalid", `environment variable name ${JSON.stringify(name)} is empty or contains '=' or NUL`);
    }
    if (value.includes("\0")) throw new GuestVisibleError("invalid", `environment variable '${name}' has a NUL byte in its value`);
    if (isProtectedEnv(name) && !allowed.includes(name)) {
      throw new GuestVisibleError(
        "denied",
        `setting ${name} for a command was not granted (it can make the command run other code); run with --allow-env-override ${name} to allow it`,
      );
    }
  }
}
