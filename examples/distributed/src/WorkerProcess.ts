/**
 * The worker processes as the main process sees them: forked with an IPC channel, the store's
 * connection settings and secret in their environment (as a deployment would set them, and out of
 * `ps`), everything else as one JSON argument. A worker says `ready` once its store answers,
 * starts consuming on `go`, reports its counts after every acknowledged batch and leaves on `stop`.
 */
import { type ChildProcess, fork } from "node:child_process"
import { Effect, type Scope } from "effect"

/** What one worker is told besides the store settings. */
export interface WorkerConfig {
  readonly stream: string
  readonly group: string
  /** Its consumer name in the group. */
  readonly consumer: string
  /** Entries per batch (one store write each). */
  readonly batch: number
  readonly minIdleMs: number
  readonly blockMs: number
  /** Demonstrates a crash: the worker SIGKILLs itself after reading its n-th batch, before writing it. */
  readonly crashAfter?: number
}

/** What a worker has done so far. */
export interface Counts {
  /** Records acknowledged by this worker (an entry counts once, for the worker whose XACK removed it). */
  readonly records: number
  /** Records in batches it claimed from a consumer that held them too long. */
  readonly claimed: number
  /** Store writes it made. */
  readonly batches: number
  /** Entries that held no valid record (acknowledged, not written). */
  readonly rejected: number
}

/** Worker to main. */
export type Message =
  | { readonly type: "ready" }
  | { readonly type: "counts"; readonly counts: Counts }
  | { readonly type: "failed"; readonly error: string }

/** Main to worker. */
export type Command = { readonly type: "go" } | { readonly type: "stop" }

/** How a worker ended. */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running worker. */
export interface Worker {
  /** 1-based. */
  readonly id: number
  readonly counts: () => Counts
  /** Resolves when it is ready; rejects if it exits first. */
  readonly ready: Promise<void>
  readonly exited: Promise<Exit>
  readonly running: () => boolean
  /** The error it reported, if any. */
  readonly failure: () => string | undefined
  readonly stderr: () => string
  readonly send: (command: Command) => void
}

const ZERO: Counts = { records: 0, claimed: 0, batches: 0, rejected: 0 }

const open = (
  script: string,
  id: number,
  config: WorkerConfig,
  env: Record<string, string>
): { readonly worker: Worker; readonly kill: () => Promise<void> } => {
  const child: ChildProcess = fork(script, [JSON.stringify(config)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "pipe", "ipc"]
  })
  let counts = ZERO
  let failure: string | undefined
  let err = ""
  let done = false
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => {
    err += chunk
  })
  const exited = new Promise<Exit>((resolve) =>
    child.on("exit", (code, signal) => {
      done = true
      resolve({ code, signal })
    })
  )
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (m: Message) => {
      if (m.type === "ready") resolve()
      else if (m.type === "counts") counts = m.counts
      else failure = m.error
    })
    void exited.then(({ code, signal }) =>
      reject(new Error(`worker ${id} exited (${signal ?? code}) before it was ready: ${failure ?? err}`))
    )
  })
  // A worker that exits before it is ready is reported by whoever awaits `ready`.
  ready.catch(() => undefined)
  const worker: Worker = {
    id,
    counts: () => counts,
    ready,
    exited,
    running: () => !done,
    failure: () => failure,
    stderr: () => err,
    send: (command) => {
      if (!done && child.connected) child.send(command)
    }
  }
  const kill = async () => {
    if (!done && child.pid !== undefined) process.kill(child.pid, "SIGKILL")
    await exited
  }
  return { worker, kill }
}

/** Forks a worker for the scope; one still running when the scope ends is SIGKILLed (by its pid). */
export const start = (
  script: string,
  id: number,
  config: WorkerConfig,
  env: Record<string, string>
): Effect.Effect<Worker, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => open(script, id, config, env)),
    ({ kill }) => Effect.promise(kill)
  ).pipe(Effect.map(({ worker }) => worker))
