/**
 * Child processes running storeWorker.mjs against the BUILT adapter: spawned with node, spoken to
 * in lines, killed by their own pid when the test's scope ends.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, type Scope } from "effect"

const here = dirname(fileURLToPath(import.meta.url))
const pkg = join(here, "..", "..")
const script = join(here, "storeWorker.mjs")

/** The modules of the store: a worker built from older ones would test other code than the test process. */
const STORE_MODULES = [
  "RedisProfileStore.ts",
  "Materialise.ts",
  "ProfileKeys.ts",
  "Sealing.ts",
  "RedisErrors.ts"
]

/**
 * Fails unless adapters/redis/dist is newer than the store's modules in src (turbo builds before
 * `test`; by hand: `npx tsup` in adapters/redis).
 */
export const assertBuilt = (): void => {
  const dist = join(pkg, "dist", "index.js")
  if (!existsSync(dist)) throw new Error("adapters/redis/dist is missing: run `npx tsup` in adapters/redis")
  const built = statSync(dist).mtimeMs
  const src = join(pkg, "src")
  const newer = STORE_MODULES.filter((f) => statSync(join(src, f)).mtimeMs > built)
  if (newer.length > 0)
    throw new Error(
      `adapters/redis/dist is older than src (${newer.join(", ")}): run \`npx tsup\` in adapters/redis`
    )
}

/** The configuration of one worker (see storeWorker.mjs). */
export type WorkerConfig =
  | {
      readonly mode: "ingest"
      readonly url: string
      readonly prefix: string
      readonly secret: string
      readonly encryption?: { readonly keys: Record<string, string>; readonly current: string }
      readonly records: number
      readonly seed: number
      readonly batchSize: number
      readonly slot: number
      readonly of: number
    }
  | {
      readonly mode: "write"
      readonly url: string
      readonly prefix: string
      readonly secret: string
      readonly encryption?: { readonly keys: Record<string, string>; readonly current: string }
      readonly upserts: ReadonlyArray<unknown>
    }

/** A running worker. */
export interface Worker {
  /** Every line it printed so far. */
  readonly lines: ReadonlyArray<string>
  /** Resolves with the first line (from the start) that satisfies `test`; rejects if it exits first or after `ms`. */
  readonly waitFor: (test: (line: string) => boolean, ms?: number) => Promise<string>
  readonly send: (line: string) => void
  /** SIGKILLs it (by pid) and waits until it is gone. */
  readonly kill: () => Promise<void>
  /** Its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  /** What it wrote to stderr. */
  readonly stderr: () => string
}

const open = (config: WorkerConfig): Worker => {
  const child: ChildProcess = spawn(process.execPath, [script, JSON.stringify(config)], {
    cwd: pkg,
    stdio: ["pipe", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  let err = ""
  let rest = ""
  let exitCode: number | null | undefined
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const l of [...listeners]) l()
  }
  child.stdout!.setEncoding("utf8")
  child.stdout!.on("data", (chunk: string) => {
    rest += chunk
    const parts = rest.split("\n")
    rest = parts.pop()!
    lines.push(...parts)
    notify()
  })
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => {
    err += chunk
  })
  // A killed worker's stdin may be closed under a late write.
  child.stdin!.on("error", () => undefined)
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      exitCode = code
      notify()
      resolve(code)
    })
  })
  const waitFor = (test: (line: string) => boolean, ms = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(
          new Error(`worker: no such line within ${ms} ms; lines: ${lines.slice(-5).join(" | ")}; ${err}`)
        )
      }, ms)
      const check = () => {
        const found = lines.find(test)
        if (found !== undefined || exitCode !== undefined) {
          clearTimeout(timer)
          listeners.delete(check)
          if (found !== undefined) resolve(found)
          else
            reject(
              new Error(`worker exited (${exitCode}) first; lines: ${lines.slice(-5).join(" | ")}; ${err}`)
            )
        }
      }
      listeners.add(check)
      check()
    })
  const kill = async () => {
    if (exitCode === undefined && child.pid !== undefined) process.kill(child.pid, "SIGKILL")
    await exited
  }
  return { lines, waitFor, send: (line) => child.stdin!.write(`${line}\n`), kill, exited, stderr: () => err }
}

/** Spawns a worker for the scope; a worker still running when the scope ends is SIGKILLed. */
export const worker = (config: WorkerConfig): Effect.Effect<Worker, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => open(config)),
    (w) => Effect.promise(() => w.kill())
  )

/** The indexes of the batches a worker acknowledged so far. */
export const acks = (w: Worker): Array<number> =>
  w.lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4)))
