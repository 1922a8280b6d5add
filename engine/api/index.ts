// dwe as a library: `import { Dwe } from "dwe"` (docs/api.md). Everything the CLI does, typed.
export { Dwe, DEFAULT_DB } from "./dwe.js";
export { Run } from "./run.js";
export { DweWorker } from "./worker.js";
export type { ImportOptions, ImportOutcome } from "./portable.js";
export type { ForkOptions } from "./fork.js";
export type {
  CancelOutcome,
  ChildLimits,
  Durability,
  ExecuteOptions,
  GrantSpec,
  Grants,
  JournalEntryInfo,
  JournalOptions,
  JournalSummary,
  ListOptions,
  LiveHandler,
  LogLine,
  LogsOptions,
  ModuleSource,
  OpenOptions,
  ResultOptions,
  ResumeOptions,
  ResumeWait,
  RunConfig,
  RunDetails,
  RunError,
  RunInfo,
  RunPage,
  RunStatus,
  ScheduleInfo,
  ScheduleOptions,
  ScheduleUpdate,
  StartOptions,
  VerifyOptions,
  VerifyOutcome,
  VerifyReport,
  WaitsFor,
  WorkerOptions,
} from "./types.js";
export {
  DweError,
  UsageError,
  RunNotFound,
  RunStateError,
  RunFailed,
  RunNotDue,
  StoreError,
  InvalidModule,
  InvalidRunFile,
  CorruptJournal,
  NonDeterminismError,
} from "../kernel/errors.js";
