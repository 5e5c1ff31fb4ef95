/**
 * The conformance suite of consent targets. An adapter's whole test is
 *
 * ```ts
 * import { consentTargetSuite } from "@living-profile/testkit/ConsentTargetSuite"
 * consentTargetSuite({ name: "my-target", makeTarget: (o) => makeMyTargetForTests(o) })
 * ```
 *
 * Every write is checked through the backdoor (a read path into the system that does not go
 * through the adapter), so an adapter cannot pass by agreeing with itself. Every test makes its own
 * target and its own random persons, so no test depends on another and a shared sandbox works.
 * Groups switch on what the target declares in `capabilities` (and on the faults its backdoor can
 * inject); nothing here knows any particular adapter.
 */
import { describe, expect, it } from "@effect/vitest"
import { AdapterError, ConsentEvent, type ConsentLedger, ConsentTarget } from "@living-profile/core"
import { Duration, Effect, Either, Option, type Scope, Stream } from "effect"
import {
  changeKey,
  diffOf,
  email,
  identifiersFor,
  keys,
  largeValue,
  minus,
  own,
  pastInstant,
  statusOf,
  token,
  unicodeAttributes,
  unicodeEmail
} from "./internal/consentTarget.js"

/** Opens a group only where the target declares it: vitest fails a group with no test in it. */
const group = (missing: boolean): typeof describe =>
  missing ? ((() => undefined) as unknown as typeof describe) : describe

/**
 * Registers a test only where the target declares what it needs. A test the target cannot run is
 * left out rather than skipped: CI must not report skipped tests, and an adapter that declares a
 * capability runs every test of it.
 */
const unless = (missing: boolean): typeof it.scopedLive =>
  missing ? ((() => undefined) as unknown as typeof it.scopedLive) : it.scopedLive

/** A failure the backdoor makes the system produce on the next call of the target. */
export type Fault =
  /** Answer "too many requests, retry after `retryAfter`". */
  | { readonly _tag: "RateLimited"; readonly retryAfter: Duration.Duration }
  /** Answer "credentials refused" (an expired token mid-run). */
  | { readonly _tag: "Unauthorized" }
  /** Drop the connection. */
  | { readonly _tag: "Transport" }
  /** Fail the next push for this one person only, the other items of the call going through. */
  | { readonly _tag: "Item"; readonly externalId: string }

/** The kinds of fault a backdoor can inject. */
export type FaultKind = Fault["_tag"]

/**
 * A read and write path into the system that does not go through the adapter: the emulator's
 * state, the database rows, the file, the Redis keys. Part of the kit's contract: an adapter's
 * test supplies one.
 */
export interface Backdoor {
  /** What the system holds for the person, read from its storage directly; none when it holds nothing. */
  readonly read: (externalId: string) => Effect.Effect<Option.Option<ConsentTarget.HeldPerson>, unknown>
  /** The externalId of the person holding this identifier, found in storage directly. */
  readonly find: (type: string, value: string) => Effect.Effect<Option.Option<string>, unknown>
  /** Creates a person as someone using the system would; returns the externalId it got. */
  readonly create: (person: {
    readonly identifiers: ConsentTarget.Identifiers
    readonly attributes?: Readonly<Record<string, string>>
  }) => Effect.Effect<string, unknown>
  /** Sets a field as the person would in the system, recorded at `modifiedAt` (ISO-8601). */
  readonly write: (
    externalId: string,
    field: string,
    status: ConsentLedger.EffectiveStatus,
    modifiedAt: string
  ) => Effect.Effect<void, unknown>
  /** The faults `failNext` can inject; the fault tests of the others are not registered. */
  readonly faults?: ReadonlyArray<FaultKind>
  /** Makes the next call of the target to the system fail with `fault`, once. */
  readonly failNext?: (fault: Fault) => Effect.Effect<void, unknown>
}

/** What `makeTarget` gives the suite for one test. */
export interface Harness {
  readonly target: ConsentTarget.ConsentTarget
  readonly backdoor: Backdoor
  /** Run when the test ends (or add finalizers to the scope instead). */
  readonly close?: Effect.Effect<void, unknown>
  /** Another adapter instance over the same system, as after a restart (enables the cursor-restart test). */
  readonly reconnect?: () => Effect.Effect<ConsentTarget.ConsentTarget, unknown, Scope.Scope>
}

/** What the suite asks of `makeTarget`. */
export interface MakeOptions {
  /** Configure the adapter with credentials the system refuses (a wrong key, a revoked token). */
  readonly badCredentials: boolean
}

/** Options of the suite. */
export interface SuiteOptions {
  /** Names the describe block. */
  readonly name: string
  /** A fresh target over a system with no persons the test did not make (sharing one is fine). */
  readonly makeTarget: (options: MakeOptions) => Effect.Effect<Harness, unknown, Scope.Scope>
  /**
   * What to test, when it should differ from what the target declares: set a flag to false to
   * switch a group off while the feature is in progress. Switching on what the target does not
   * declare fails the contract test.
   */
  readonly capabilities?: Partial<ConsentTarget.Capabilities>
  /** Set to false for a system without authentication; then `badCredentials` is never asked for. */
  readonly badCredentials?: boolean
  /** Per-test timeout in milliseconds (default 30 s). */
  readonly timeout?: number
}

interface Probe {
  readonly declared: ConsentTarget.Capabilities
  readonly faults: ReadonlySet<FaultKind>
  readonly reconnect: boolean
}

const STATUSES_BEYOND: ReadonlyArray<"withdrawn" | "expired" | "pending"> = [
  "withdrawn",
  "expired",
  "pending"
]

/** Registers the conformance tests of a consent target (call it at the top level of a test file). */
export const consentTargetSuite = (options: SuiteOptions): void => {
  const timeout = options.timeout ?? 30_000
  const harness = (badCredentials = false): Effect.Effect<Harness, unknown, Scope.Scope> =>
    Effect.acquireRelease(options.makeTarget({ badCredentials }), (h) =>
      h.close === undefined ? Effect.void : Effect.orDie(h.close)
    )

  describe(`${options.name}: consent target conformance`, async () => {
    // Groups must be known while tests are registered, before any test runs: ask one target.
    const probe: Probe = await Effect.runPromise(
      Effect.scoped(
        Effect.map(harness(), (h) => ({
          declared: h.target.capabilities,
          faults: new Set(h.backdoor.failNext === undefined ? [] : (h.backdoor.faults ?? [])),
          reconnect: h.reconnect !== undefined
        }))
      )
    )
    const caps: ConsentTarget.Capabilities = { ...probe.declared, ...options.capabilities }
    const L = Math.min(caps.maxValueLength ?? 10_000, 10_000)
    const canFault = (kind: FaultKind) => probe.faults.has(kind)
    const byIdentifiers = caps.identifiers.length > 0
    const idType = caps.identifiers[0] ?? "email"
    const idValue = () => (idType === "email" ? email("id") : `kit-${idType}-${token()}`)
    const beyond = STATUSES_BEYOND.filter((s) => !caps.holds.includes(s))

    // Shared steps -------------------------------------------------------------------------------

    const fieldsOf = (t: ConsentTarget.ConsentTarget) => t.mapping.keys.map((k) => k.field)
    const field0 = (t: ConsentTarget.ConsentTarget) => fieldsOf(t)[0] ?? "newsletter"

    const person = (h: Harness, mail?: string, attributes?: Readonly<Record<string, string>>) =>
      h.backdoor.create({
        identifiers: identifiersFor(caps, mail),
        ...(attributes === undefined ? {} : { attributes })
      })

    const held = (h: Harness, externalId: string) =>
      Effect.flatMap(h.backdoor.read(externalId), (o) =>
        Option.isSome(o)
          ? Effect.succeed(o.value)
          : Effect.dieMessage(`the backdoor finds no person ${externalId} after the test made it`)
      )

    const drain = (t: ConsentTarget.ConsentTarget, from: Option.Option<string>) =>
      ConsentTarget.pullAll(t, from)

    const expectApplied = (r: ConsentTarget.PushResult | undefined, externalId?: string) => {
      expect(r?._tag, r?._tag === "Failed" ? r.error.message : r?._tag === "Rejected" ? r.reason : "").toBe(
        "Applied"
      )
      if (r?._tag === "Applied") {
        expect(r.externalId.length).toBeGreaterThan(0)
        if (externalId !== undefined) expect(r.externalId).toBe(externalId)
        if (r.modifiedAt !== undefined) expect(Number.isNaN(ConsentEvent.toMillis(r.modifiedAt))).toBe(false)
        return r.externalId
      }
      return ""
    }

    const expectError = (e: unknown, reason: AdapterError.Reason) => {
      expect(AdapterError.isAdapterError(e), String(e)).toBe(true)
      const err = e as AdapterError.AdapterError
      expect(err._tag).toBe("AdapterError")
      expect(err.reason, err.message).toBe(reason)
      return err
    }

    /** A push that must not go through: a failed call or a Failed result, with this reason. */
    const expectPushFails = (
      outcome: Either.Either<ReadonlyArray<ConsentTarget.PushResult>, AdapterError.AdapterError>,
      reason: AdapterError.Reason
    ) => {
      if (Either.isLeft(outcome)) return expectError(outcome.left, reason)
      const r = outcome.right[0]
      expect(r?._tag).toBe("Failed")
      return expectError(r?._tag === "Failed" ? r.error : undefined, reason)
    }

    // Contract -----------------------------------------------------------------------------------

    describe("contract", () => {
      it.scopedLive(
        "declares a name, a mapping of its own and consistent capabilities",
        () =>
          Effect.gen(function* () {
            const { target } = yield* harness()
            expect(target.name.length).toBeGreaterThan(0)
            expect(target.mapping.target).toBe(target.name)
            expect(target.mapping.keys.length).toBeGreaterThan(0)
            const checked = ConsentTarget.checkMapping(target)
            expect(Either.isRight(checked), Either.isLeft(checked) ? checked.left.message : "").toBe(true)
            expect(Number.isInteger(target.capabilities.maxBatchSize)).toBe(true)
            expect(target.capabilities.maxBatchSize).toBeGreaterThanOrEqual(1)
            for (const flag of ["pull", "read", "erase", "records", "policyVersion"] as const)
              if (caps[flag])
                expect(target.capabilities[flag], `${flag} is tested but not declared`).toBe(true)
          }),
        timeout
      )

      it.scopedLive(
        "fails undeclared operations with AdapterError Invalid instead of throwing",
        () =>
          Effect.gen(function* () {
            const { target } = yield* harness()
            const declared = target.capabilities
            if (!declared.pull) expectError(yield* Effect.flip(target.pull(Option.none())), "Invalid")
            if (!declared.read) expectError(yield* Effect.flip(target.read([{ externalId: "x" }])), "Invalid")
            if (!declared.erase)
              expectError(yield* Effect.flip(target.erase([{ externalId: "x" }])), "Invalid")
            // Declared operations answer an empty input with an empty result.
            expect(yield* target.push([])).toEqual([])
            if (declared.read) expect(yield* target.read([])).toEqual([])
            if (declared.erase) expect(yield* target.erase([])).toEqual([])
          }),
        timeout
      )
    })

    // Push ---------------------------------------------------------------------------------------

    describe("push", () => {
      it.scopedLive(
        "applies every change of a diff; the backdoor reads them back",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const id = yield* person(h)
            const sets = fieldsOf(target).map((f, i) => [f, i % 2 === 0 ? "granted" : "denied"] as const)
            const results = yield* target.push([diffOf(target, { externalId: id }, sets)])
            expect(results).toHaveLength(1)
            expectApplied(results[0], id)
            const p = yield* held(h, id)
            for (const [f, s] of sets) expect(statusOf(p, f), f).toBe(s)
          }),
        timeout
      )

      it.scopedLive(
        "re-pushing the same diff is harmless: same person, same state",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const mail = email("again")
            const id = yield* person(h, mail)
            const diff = diffOf(target, { externalId: id }, [[f, "granted"]])
            expectApplied((yield* target.push([diff]))[0], id)
            const first = yield* held(h, id)
            expectApplied((yield* target.push([diff]))[0], id)
            const second = yield* held(h, id)
            expect(statusOf(second, f)).toBe("granted")
            expect([...second.fields.keys()].sort()).toEqual([...first.fields.keys()].sort())
            expect(yield* h.backdoor.find("email", mail)).toEqual(Option.some(id))
            // And the state still moves when the diff does.
            expectApplied((yield* target.push([diffOf(target, { externalId: id }, [[f, "denied"]])]))[0], id)
            expect(statusOf(yield* held(h, id), f)).toBe("denied")
          }),
        timeout
      )

      unless(!byIdentifiers)(
        "a person named only by identifiers is created once, then found",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const value = idValue()
            const ref = { identifiers: { [idType]: [value] } }
            const id = expectApplied((yield* target.push([diffOf(target, ref, [[f, "granted"]])]))[0])
            expect(yield* h.backdoor.find(idType, value)).toEqual(Option.some(id))
            expectApplied((yield* target.push([diffOf(target, ref, [[f, "granted"]])]))[0], id)
            expect(yield* h.backdoor.find(idType, value)).toEqual(Option.some(id))
            expect(statusOf(yield* held(h, id), f)).toBe("granted")
          }),
        timeout
      )

      unless(!byIdentifiers)(
        "an existing person named by identifiers is found, not duplicated",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const value = idValue()
            const id = yield* h.backdoor.create({
              identifiers: { ...identifiersFor(caps), [idType]: [value] }
            })
            const ref = { identifiers: { [idType]: [value] } }
            expectApplied((yield* target.push([diffOf(target, ref, [[field0(target), "denied"]])]))[0], id)
            expect(yield* h.backdoor.find(idType, value)).toEqual(Option.some(id))
            expect(statusOf(yield* held(h, id), field0(target))).toBe("denied")
          }),
        timeout
      )

      it.scopedLive(
        "results line up with inputs: applied, rejected and failed items in one call",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const [a, b, c] = [yield* person(h), yield* person(h), yield* person(h)]
            const unknownId = `kit-unknown-${token()}`
            const results = yield* target.push([
              diffOf(target, { externalId: a }, [[f, "granted"]]),
              diffOf(target, { externalId: b }, [[f, "granted"]], { targetName: `not-${target.name}` }),
              diffOf(target, { externalId: b }, [[f, "denied"]]),
              diffOf(target, { externalId: unknownId }, [[f, "granted"]]),
              diffOf(target, {}, [[f, "granted"]]),
              diffOf(target, { externalId: c }, [[f, "granted"]])
            ])
            expect(results).toHaveLength(6)
            expectApplied(results[0], a)
            expect(results[1]?._tag).toBe("Rejected")
            expectApplied(results[2], b)
            expect(results[3]?._tag).toBe("Failed")
            if (results[3]?._tag === "Failed") expectError(results[3].error, "NotFound")
            expect(results[4]?._tag).toBe("Rejected")
            expectApplied(results[5], c)
            expect(statusOf(yield* held(h, a), f)).toBe("granted")
            expect(statusOf(yield* held(h, b), f)).toBe("denied")
            expect(statusOf(yield* held(h, c), f)).toBe("granted")
            expect(yield* h.backdoor.read(unknownId)).toEqual(Option.none())
          }),
        timeout
      )

      it.scopedLive(
        "max batch size + 1 diffs are split and all applied",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const n = target.capabilities.maxBatchSize + 1
            const ids = yield* Effect.forEach(Array.from({ length: n }), () => person(h))
            const status = (i: number) => (i % 3 === 0 ? "denied" : "granted")
            const results = yield* target.push(
              ids.map((id, i) => diffOf(target, { externalId: id }, [[f, status(i)]]))
            )
            expect(results).toHaveLength(n)
            for (let i = 0; i < n; i++) expectApplied(results[i], ids[i])
            for (let i = 0; i < n; i++)
              expect(statusOf(yield* held(h, ids[i]!), f), `item ${i}`).toBe(status(i))
          }),
        timeout
      )

      unless(beyond.length === 0)(
        "a status the target cannot hold is rejected and not stored",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const id = yield* person(h)
            expectApplied((yield* target.push([diffOf(target, { externalId: id }, [[f, "granted"]])]))[0], id)
            const results = yield* target.push([diffOf(target, { externalId: id }, [[f, beyond[0]!]])])
            expect(results[0]?._tag).toBe("Rejected")
            expect(statusOf(yield* held(h, id), f)).toBe("granted")
          }),
        timeout
      )

      unless(caps.holds.length === 0)(
        "a status beyond granted / denied that it declares is stored",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const id = yield* person(h)
            const s = caps.holds[0]!
            expectApplied((yield* target.push([diffOf(target, { externalId: id }, [[f, s]])]))[0], id)
            expect(statusOf(yield* held(h, id), f)).toBe(s)
          }),
        timeout
      )

      unless(caps.fields === undefined)(
        "a field the target does not have is rejected",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const id = yield* person(h)
            const missing = `kit-no-such-field-${token()}`
            const results = yield* target.push([diffOf(target, { externalId: id }, [[missing, "granted"]])])
            expect(results[0]?._tag).toBe("Rejected")
            expect((yield* held(h, id)).fields.has(missing)).toBe(false)
          }),
        timeout
      )

      unless(!caps.policyVersion)(
        "keeps the policy version of a change",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const id = yield* person(h)
            const version = `privacy-2025-05 ${token()} — Gizlilik Politikası`
            const diff = diffOf(target, { externalId: id }, [[f, "granted"]], { policyVersion: version })
            expectApplied((yield* target.push([diff]))[0], id)
            expect((yield* held(h, id)).fields.get(f)?.policyVersion).toBe(version)
          }),
        timeout
      )
    })

    // Read ---------------------------------------------------------------------------------------

    group(!caps.read)("read", () => {
      unless(!caps.read)(
        "reads what the system holds, with the system's modification time",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const mail = email("read")
            const id = yield* person(h, mail)
            const at = pastInstant(3)
            yield* h.backdoor.write(id, f, "denied", at)
            const [got] = yield* target.read([{ externalId: id }])
            expect(got !== undefined && Option.isSome(got)).toBe(true)
            if (got === undefined || Option.isNone(got)) return
            expect(got.value.externalId).toBe(id)
            expect(got.value.identifiers["email"]).toContain(mail)
            const held = got.value.fields.get(f)
            expect(held?.status).toBe("denied")
            if (held?.modifiedAt !== undefined)
              expect(ConsentEvent.toMillis(held.modifiedAt)).toBe(ConsentEvent.toMillis(at))
          }),
        timeout
      )

      unless(!caps.read)(
        "an unknown ref reads as none, in input order, and is not an error",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const [a, b] = [yield* person(h), yield* person(h)]
            const got = yield* target.read([
              { externalId: a },
              { externalId: `kit-unknown-${token()}` },
              { externalId: b },
              ...(byIdentifiers ? [{ identifiers: { [idType]: [idValue()] } }] : [])
            ])
            expect(got).toHaveLength(byIdentifiers ? 4 : 3)
            expect(Option.map(got[0]!, (p) => p.externalId)).toEqual(Option.some(a))
            expect(got[1]).toEqual(Option.none())
            expect(Option.map(got[2]!, (p) => p.externalId)).toEqual(Option.some(b))
            if (byIdentifiers) expect(got[3]).toEqual(Option.none())
          }),
        timeout
      )

      unless(!caps.read || !byIdentifiers)(
        "reads a person named by identifiers",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const value = idValue()
            const id = yield* h.backdoor.create({
              identifiers: { ...identifiersFor(caps), [idType]: [value] }
            })
            const [got] = yield* h.target.read([{ identifiers: { [idType]: [value] } }])
            expect(Option.map(got ?? Option.none(), (p) => p.externalId)).toEqual(Option.some(id))
          }),
        timeout
      )
    })

    // Pull ---------------------------------------------------------------------------------------

    group(!caps.pull)("pull", () => {
      unless(!caps.pull)(
        "a change made in the system is pulled with its modification time",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const fields = fieldsOf(target)
            const id = yield* person(h)
            yield* h.backdoor.write(id, fields[0]!, "denied", pastInstant(1))
            if (fields[1] !== undefined) yield* h.backdoor.write(id, fields[1], "granted", pastInstant(2))
            const { changes } = yield* drain(target, Option.none())
            const mine = own(changes, [id])
            const first = mine.filter((c) => c.field === fields[0])
            expect(first.map((c) => [c.status, ConsentEvent.toMillis(c.modifiedAt)])).toContainEqual([
              "denied",
              ConsentEvent.toMillis(pastInstant(1))
            ])
            if (fields[1] !== undefined) {
              const second = mine.filter((c) => c.field === fields[1])
              expect(second.map((c) => [c.status, ConsentEvent.toMillis(c.modifiedAt)])).toContainEqual([
                "granted",
                ConsentEvent.toMillis(pastInstant(2))
              ])
            }
          }),
        timeout
      )

      unless(!caps.pull)(
        "cursors are monotonic and resumable: nothing new after a drain, then exactly the next change",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const id = yield* person(h)
            yield* h.backdoor.write(id, f, "granted", pastInstant(1))
            const all = yield* drain(target, Option.none())
            const seen = keys(own(all.changes, [id]))
            expect(seen.size).toBeGreaterThan(0)
            const c1 = Option.some(all.cursor)
            // Nothing new after the cursor (an unchanged state may come again).
            expect(minus(keys(own((yield* drain(target, c1)).changes, [id])), seen)).toEqual([])
            // A new change appears after it, and resuming from the same cursor twice gives it twice.
            yield* h.backdoor.write(id, f, "denied", pastInstant(2))
            const next = yield* drain(target, c1)
            const again = yield* drain(target, c1)
            const superseded = changeKey({
              externalId: id,
              field: f,
              status: "granted",
              modifiedAt: pastInstant(1)
            })
            for (const got of [next, again]) {
              const mine = own(got.changes, [id]).map(changeKey)
              expect(minus(new Set(mine), seen)).toEqual([
                changeKey({ externalId: id, field: f, status: "denied", modifiedAt: pastInstant(2) })
              ])
              // Only an unchanged state may come again: one that was replaced means the cursor went back.
              expect(mine, "a superseded state was delivered again").not.toContain(superseded)
            }
            const seenBoth = new Set([...seen, ...keys(own(next.changes, [id]))])
            expect(
              minus(keys(own((yield* drain(target, Option.some(next.cursor))).changes, [id])), seenBoth)
            ).toEqual([])
          }),
        timeout
      )

      unless(!caps.pull)(
        "every page's cursor resumes right after that page",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const ids = yield* Effect.forEach(Array.from({ length: 5 }), () => person(h))
            const start = Option.some((yield* drain(target, Option.none())).cursor)
            yield* Effect.forEach(ids, (id, i) =>
              h.backdoor.write(id, f, i % 2 === 0 ? "granted" : "denied", pastInstant(10 + i))
            )
            const pages = [...(yield* Stream.runCollect(ConsentTarget.pages(target.pull, start)))]
            expect(pages.length).toBeGreaterThan(0)
            expect(pages[pages.length - 1]!.hasMore).toBe(false)
            const perPage = pages.map((p) => keys(own(p.changes, ids)))
            const everything = new Set(perPage.flatMap((s) => [...s]))
            expect(everything.size).toBe(5)
            for (let i = 0; i < pages.length; i++) {
              const later = new Set(perPage.slice(i + 1).flatMap((s) => [...s]))
              const earlier = new Set(perPage.slice(0, i + 1).flatMap((s) => [...s]))
              const resumed = keys(own((yield* drain(target, Option.some(pages[i]!.cursor))).changes, ids))
              expect(minus(later, resumed), `changes lost resuming after page ${i}`).toEqual([])
              const extra = minus(resumed, later)
              expect(minus(new Set(extra), earlier), `unknown changes resuming after page ${i}`).toEqual([])
              // The changes are a minute apart: at most the one at the page boundary may come again.
              expect(extra.length, `changes before the cursor of page ${i} came again`).toBeLessThanOrEqual(1)
            }
          }),
        timeout
      )

      unless(!caps.pull || !probe.reconnect)(
        "a cursor survives a restart of the adapter",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const f = field0(h.target)
            const id = yield* person(h)
            yield* h.backdoor.write(id, f, "granted", pastInstant(1))
            const first = yield* drain(h.target, Option.none())
            const seen = keys(own(first.changes, [id]))
            yield* h.backdoor.write(id, f, "denied", pastInstant(2))
            const restarted = yield* h.reconnect!()
            const got = yield* drain(restarted, Option.some(first.cursor))
            expect(minus(keys(own(got.changes, [id])), seen)).toEqual([
              changeKey({ externalId: id, field: f, status: "denied", modifiedAt: pastInstant(2) })
            ])
          }),
        timeout
      )

      unless(!caps.pull || !caps.records)(
        "identity records are pulled with identifiers and attributes intact",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const mail = unicodeEmail()
            const id = yield* person(h, mail, unicodeAttributes)
            const { records } = yield* drain(target, Option.none())
            const mine = records.filter((r) => r.id === id)
            expect(mine.length).toBeGreaterThan(0)
            const last = mine[mine.length - 1]!
            expect(last.source).toBe(target.name)
            expect(last.deleted ?? false).toBe(false)
            expect(last.identifiers?.["email"]).toContain(mail)
            expect(last.attributes).toMatchObject(unicodeAttributes)
          }),
        timeout
      )
    })

    // Erase --------------------------------------------------------------------------------------

    group(!caps.erase)("erase", () => {
      unless(!caps.erase)(
        "erase removes the person: the backdoor and read find nothing",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const mail = email("erase")
            const id = yield* person(h, mail)
            yield* h.backdoor.write(id, field0(target), "granted", pastInstant(1))
            expect(yield* target.erase([{ externalId: id }])).toEqual([{ _tag: "Erased" }])
            expect(yield* h.backdoor.read(id)).toEqual(Option.none())
            expect(yield* h.backdoor.find("email", mail)).toEqual(Option.none())
            if (caps.read) expect(yield* target.read([{ externalId: id }])).toEqual([Option.none()])
          }),
        timeout
      )

      unless(!caps.erase)(
        "erasing twice is harmless, an unknown ref is Absent, bystanders stay",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const [a, b, bystander] = [yield* person(h), yield* person(h), yield* person(h)]
            expect(yield* target.erase([{ externalId: a }])).toEqual([{ _tag: "Erased" }])
            expect(yield* target.erase([{ externalId: a }])).toEqual([{ _tag: "Absent" }])
            expect(
              yield* target.erase([{ externalId: b }, { externalId: `kit-unknown-${token()}` }])
            ).toEqual([{ _tag: "Erased" }, { _tag: "Absent" }])
            expect(Option.isSome(yield* h.backdoor.read(bystander))).toBe(true)
          }),
        timeout
      )

      unless(!caps.erase || !caps.pull)(
        "an erased person's data is never pulled again",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const id = yield* person(h, unicodeEmail(), unicodeAttributes)
            yield* h.backdoor.write(id, field0(target), "granted", pastInstant(1))
            yield* target.erase([{ externalId: id }])
            const { changes, records } = yield* drain(target, Option.none())
            expect(own(changes, [id])).toEqual([])
            const mine = records.filter((r) => r.id === id)
            for (const r of mine) {
              expect(r.identifiers).toBeUndefined()
              expect(r.attributes).toBeUndefined()
            }
            if (caps.records) expect(mine[mine.length - 1]?.deleted).toBe(true)
          }),
        timeout
      )
    })

    // Faults -------------------------------------------------------------------------------------

    describe("faults", () => {
      unless(!canFault("RateLimited"))(
        "a rate limit fails the push with RateLimited and its retry-after; nothing is applied",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const id = yield* person(h)
            yield* h.backdoor.failNext!({ _tag: "RateLimited", retryAfter: Duration.seconds(7) })
            const diff = diffOf(target, { externalId: id }, [[f, "granted"]])
            const err = expectError(yield* Effect.flip(target.push([diff])), "RateLimited")
            expect(err.isRetryable).toBe(true)
            expect(err.retryAfter).toBeDefined()
            const wait = Duration.toMillis(err.retryAfter ?? Duration.zero)
            expect(wait).toBeGreaterThanOrEqual(6_000)
            expect(wait).toBeLessThanOrEqual(8_000)
            expect(statusOf(yield* held(h, id), f)).toBeUndefined()
            expectApplied((yield* target.push([diff]))[0], id)
            expect(statusOf(yield* held(h, id), f)).toBe("granted")
          }),
        timeout
      )

      unless(!canFault("RateLimited") || !caps.pull)(
        "a rate limit fails a pull with RateLimited",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            yield* h.backdoor.failNext!({ _tag: "RateLimited", retryAfter: Duration.seconds(3) })
            const err = expectError(yield* Effect.flip(h.target.pull(Option.none())), "RateLimited")
            expect(err.isRetryable).toBe(true)
          }),
        timeout
      )

      unless(!canFault("Transport"))(
        "a dropped connection is a retryable Transport failure",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const id = yield* person(h)
            yield* h.backdoor.failNext!({ _tag: "Transport" })
            const diff = diffOf(target, { externalId: id }, [[f, "denied"]])
            const err = expectPushFails(yield* Effect.either(target.push([diff])), "Transport")
            expect(err.isRetryable).toBe(true)
            expectApplied((yield* target.push([diff]))[0], id)
            expect(statusOf(yield* held(h, id), f)).toBe("denied")
          }),
        timeout
      )

      unless(!canFault("Unauthorized"))(
        "credentials refused mid-run fail with Unauthorized, not retryable",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const id = yield* person(h)
            yield* h.backdoor.failNext!({ _tag: "Unauthorized" })
            const diff = diffOf(target, { externalId: id }, [[field0(target), "granted"]])
            const err = expectError(yield* Effect.flip(target.push([diff])), "Unauthorized")
            expect(err.isRetryable).toBe(false)
            expect(statusOf(yield* held(h, id), field0(target))).toBeUndefined()
          }),
        timeout
      )

      unless(!canFault("Item"))(
        "one failing item is reported in its place; the others are applied",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const [a, b, c] = [yield* person(h), yield* person(h), yield* person(h)]
            yield* h.backdoor.failNext!({ _tag: "Item", externalId: b })
            const results = yield* target.push(
              [a, b, c].map((id) => diffOf(target, { externalId: id }, [[f, "granted"]]))
            )
            expect(results).toHaveLength(3)
            expectApplied(results[0], a)
            expect(results[1]?._tag).not.toBe("Applied")
            if (results[1]?._tag === "Failed")
              expect(AdapterError.isAdapterError(results[1].error)).toBe(true)
            expectApplied(results[2], c)
            expect(statusOf(yield* held(h, a), f)).toBe("granted")
            expect(statusOf(yield* held(h, b), f)).toBeUndefined()
            expect(statusOf(yield* held(h, c), f)).toBe("granted")
          }),
        timeout
      )
    })

    // Credentials --------------------------------------------------------------------------------

    group(options.badCredentials === false)("credentials", () => {
      unless(options.badCredentials === false)(
        "bad credentials fail every operation with Unauthorized and change nothing",
        () =>
          Effect.gen(function* () {
            const h = yield* harness(true)
            const { target } = h
            const id = yield* person(h)
            const diff = diffOf(target, { externalId: id }, [[field0(target), "granted"]])
            expect(
              expectPushFails(yield* Effect.either(target.push([diff])), "Unauthorized").isRetryable
            ).toBe(false)
            if (caps.pull) expectError(yield* Effect.flip(target.pull(Option.none())), "Unauthorized")
            if (caps.read) expectError(yield* Effect.flip(target.read([{ externalId: id }])), "Unauthorized")
            if (caps.erase)
              expectError(yield* Effect.flip(target.erase([{ externalId: id }])), "Unauthorized")
            const p = yield* held(h, id)
            expect(statusOf(p, field0(target))).toBeUndefined()
          }),
        timeout
      )
    })

    // Values -------------------------------------------------------------------------------------

    describe("values", () => {
      it.scopedLive(
        "Unicode identifiers round-trip exactly and still name the person",
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const f = field0(target)
            const mail = unicodeEmail()
            const id = yield* person(h, mail, unicodeAttributes)
            expectApplied((yield* target.push([diffOf(target, { externalId: id }, [[f, "granted"]])]))[0], id)
            expect((yield* held(h, id)).identifiers["email"]).toContain(mail)
            if (caps.identifiers.includes("email")) {
              const ref = { identifiers: { email: [mail] } }
              expectApplied((yield* target.push([diffOf(target, ref, [[f, "denied"]])]))[0], id)
              expect(statusOf(yield* held(h, id), f)).toBe("denied")
            }
            if (caps.read) {
              const [got] = yield* target.read([{ externalId: id }])
              expect(got !== undefined && Option.isSome(got) ? got.value.identifiers["email"] : []).toContain(
                mail
              )
            }
          }),
        timeout
      )

      unless(!caps.policyVersion && !(caps.records && caps.pull) && caps.fields !== undefined)(
        `values of ${L} characters are kept intact`,
        () =>
          Effect.gen(function* () {
            const h = yield* harness()
            const { target } = h
            const large = largeValue(L)
            if (caps.policyVersion) {
              const id = yield* person(h)
              const f = field0(target)
              const diff = diffOf(target, { externalId: id }, [[f, "granted"]], { policyVersion: large })
              expectApplied((yield* target.push([diff]))[0], id)
              expect((yield* held(h, id)).fields.get(f)?.policyVersion === large, "policy version").toBe(true)
            }
            if (caps.records && caps.pull) {
              const id = yield* person(h, undefined, { note: large })
              const { records } = yield* drain(target, Option.none())
              const mine = records.filter((r) => r.id === id)
              expect(mine[mine.length - 1]?.attributes?.["note"] === large, "attribute").toBe(true)
            }
            if (caps.fields === undefined) {
              const id = yield* person(h)
              expectApplied(
                (yield* target.push([diffOf(target, { externalId: id }, [[large, "granted"]])]))[0],
                id
              )
              expect(statusOf(yield* held(h, id), large) === "granted", "field name").toBe(true)
            }
          }),
        timeout
      )
    })
  })
}
