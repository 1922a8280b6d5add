/**
 * Loads by key, once per process: concurrent callers share the load in flight (a worker hands its
 * threads up to `--concurrency` runs of one module at once, and instrumenting is seconds of
 * synchronous binaryen work: a hundred runs must not instrument the same module a hundred times).
 * A failed load is forgotten, so the next caller tries again.
 */
export class OnceByKey<T> {
  private readonly loads = new Map<string, Promise<T>>();
  constructor(private readonly keepResults: boolean) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const known = this.loads.get(key);
    if (known) return known;
    const p = load();
    this.loads.set(key, p);
    const forget = () => {
      if (this.loads.get(key) === p) this.loads.delete(key);
    };
    void p.then(() => (this.keepResults ? undefined : forget()), forget);
    return p;
  }
}
