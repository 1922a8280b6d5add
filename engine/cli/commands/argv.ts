// `--allow-shell [PROGRAMS]` takes an optional value, so commander reads the word after it as the
// program list: `dwe run --allow-shell flow.wasm` would lose its module. Program names never hold a
// '/' (the grant refuses one) nor end in .wasm or .yaml, so such a word is a path: the flag is bare.

const SHELL = "--allow-shell";
const isPath = (word: string) => word.includes("/") || /\.(wasm|wat|ya?ml)$/i.test(word);
const isWord = (word: string | undefined): word is string => word !== undefined && !word.startsWith("-");

/**
 * The command line with each bare `--allow-shell` that stands before a path moved after the words
 * that follow it, where commander reads it as bare (words after `--` are the guest's, untouched).
 */
export function placeAllowShell(argv: readonly string[]): string[] {
  const out = [...argv];
  const end = () => (out.indexOf("--") < 0 ? out.length : out.indexOf("--"));
  for (let i = 0; i < end(); i++) {
    if (out[i] !== SHELL || !isWord(out[i + 1]) || !isPath(out[i + 1]!)) continue;
    let j = i + 1;
    while (j < end() && isWord(out[j])) j++;
    out.splice(i, 1);
    out.splice(j - 1, 0, SHELL);
    i = j - 1;
  }
  return out;
}

/** What to add to a "missing argument" error when `--allow-shell` took the word after it as its program list. */
export function allowShellHint(argv: readonly string[]): string {
  const i = argv.indexOf(SHELL);
  const next = argv[i + 1];
  if (i < 0 || !isWord(next)) return "";
  return ` (--allow-shell took '${next}' as its program list: write --allow-shell=PROGRAMS, or put --allow-shell after the arguments)`;
}
