/**
 * The kit's backdoor into the newsletter tool: it reads and writes the JSON file directly, with its
 * own few lines of parsing and none of the adapter's code, so that the adapter cannot pass by
 * agreeing with itself. It changes the file as the tool's own UI would (bumping `seq`).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ConsentLedger, ConsentTarget } from "@living-profile/core"
import type { Backdoor, Fault } from "@living-profile/testkit/ConsentTargetSuite"
import { Effect, Option, type Scope } from "effect"

interface RawSubscription {
  status: "subscribed" | "unsubscribed"
  changedAt: string
  seq: number
  consentVersion?: string
}

interface RawSubscriber {
  id: string
  email: string
  mergeFields: Record<string, string>
  seq: number
  updatedAt: string
  lists: Record<string, RawSubscription>
  locked?: boolean
}

interface RawFile {
  format: "tinyletter/1"
  seq: number
  nextId: number
  subscribers: Array<RawSubscriber>
  tombstones: Array<{ id: string; deletedAt: string; seq: number }>
}

const emptyFile = (): RawFile => ({
  format: "tinyletter/1",
  seq: 0,
  nextId: 1,
  subscribers: [],
  tombstones: []
})

/** A fresh, empty subscriber file in its own temporary folder, removed when the scope closes. */
export const tempFile: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await mkdtemp(join(tmpdir(), "newsletter-kit-"))
    const path = join(dir, "subscribers.json")
    await writeFile(path, JSON.stringify(emptyFile()), "utf8")
    return path
  }),
  (path) => Effect.promise(() => rm(join(path, ".."), { recursive: true, force: true }))
)

/** The backdoor over the file at `path`. */
export const backdoor = (path: string): Backdoor => {
  const load = Effect.promise(async () => JSON.parse(await readFile(path, "utf8")) as RawFile)
  const store = (file: RawFile) => Effect.promise(() => writeFile(path, JSON.stringify(file), "utf8"))
  const change = <A>(f: (file: RawFile) => A) =>
    Effect.flatMap(load, (file) => {
      const out = f(file)
      return Effect.as(store(file), out)
    })
  const toolStatus = (status: ConsentLedger.EffectiveStatus): RawSubscription["status"] => {
    if (status === "granted") return "subscribed"
    if (status === "denied") return "unsubscribed"
    throw new Error(`the tool cannot hold ${status}`)
  }
  return {
    read: (externalId) =>
      Effect.map(load, (file) => {
        const s = file.subscribers.find((x) => x.id === externalId)
        if (s === undefined) return Option.none()
        const fields = new Map<string, ConsentTarget.HeldField>()
        for (const [list, sub] of Object.entries(s.lists))
          fields.set(list, {
            status: sub.status === "subscribed" ? "granted" : "denied",
            modifiedAt: sub.changedAt,
            ...(sub.consentVersion === undefined ? {} : { policyVersion: sub.consentVersion })
          })
        return Option.some({ externalId: s.id, identifiers: { email: [s.email] }, fields })
      }),
    find: (type, value) =>
      Effect.map(load, (file) =>
        type !== "email"
          ? Option.none()
          : Option.fromNullable(
              file.subscribers.find((s) => s.email.toLowerCase() === value.toLowerCase())?.id
            )
      ),
    create: ({ identifiers, attributes }) =>
      change((file) => {
        const id = `s${file.nextId++}`
        file.subscribers.push({
          id,
          email: identifiers["email"]?.[0] ?? `${id}@example.invalid`,
          mergeFields: { ...attributes },
          seq: ++file.seq,
          updatedAt: new Date().toISOString(),
          lists: {}
        })
        return id
      }),
    write: (externalId, field, status, modifiedAt) =>
      change((file) => {
        const s = file.subscribers.find((x) => x.id === externalId)
        if (s === undefined) throw new Error("backdoor.write: no such subscriber")
        s.lists[field] = { status: toolStatus(status), changedAt: modifiedAt, seq: ++file.seq }
      }),
    // The tool has no rate limits or network; an editor's lock is its one per-item failure.
    faults: ["Item"],
    failNext: (fault: Fault) =>
      fault._tag === "Item"
        ? change((file) => {
            const s = file.subscribers.find((x) => x.id === fault.externalId)
            if (s !== undefined) s.locked = true
          })
        : Effect.dieMessage(`the newsletter tool cannot simulate ${fault._tag}`)
  }
}
