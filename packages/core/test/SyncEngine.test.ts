/**
 * The sync engine against two in-memory reference targets (`shop` and `crm`), checked through
 * their backdoors (the systems' own state) and their call logs, with TestClock driving backoff,
 * rate limits and polling.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Metric, Option, TestClock, TestContext } from "effect"
import fc from "fast-check"
import * as ConsentDiff from "../src/ConsentDiff.js"
import * as ConsentLedger from "../src/ConsentLedger.js"
import * as ConsentTarget from "../src/ConsentTarget.js"
import * as DataSubject from "../src/DataSubject.js"
import * as IdentityResolver from "../src/IdentityResolver.js"
import * as MemoryTarget from "../src/MemoryTarget.js"
import * as ProfileStore from "../src/ProfileStore.js"
import * as SyncEngine from "../src/SyncEngine.js"
import * as SyncStore from "../src/SyncStore.js"

const T0 = Date.parse("2025-03-01T09:00:00.000Z")
const iso = (ms: number) => new Date(ms).toISOString()
const email = (who: string) => `${who}@example.org`
const NEWSLETTER = { purpose: "marketing", channel: "email" } as const

type Status = "granted" | "denied" | "withdrawn"

interface World {
  readonly shop: MemoryTarget.MemoryTarget
  readonly crm: MemoryTarget.MemoryTarget
  readonly store: ProfileStore.ProfileStore["Type"]
  readonly resolver: IdentityResolver.IdentityResolver["Type"]
  readonly sync: SyncStore.Service
  /** An engine over the world's stores (a new one is what a restarted process builds). */
  readonly engine: (options?: Partial<SyncEngine.Options>) => Effect.Effect<SyncEngine.Service>
}

const makeWorld = (options: { shop?: MemoryTarget.Options; crm?: MemoryTarget.Options } = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const shop = MemoryTarget.make({ name: "shop", ...options.shop })
    const crm = MemoryTarget.make({ name: "crm", ...options.crm })
    const store = ProfileStore.makeMemory()
    const resolver = yield* IdentityResolver.make.pipe(
      Effect.provideService(ProfileStore.ProfileStore, store)
    )
    const sync = SyncStore.makeMemory()
    const engine = (more: Partial<SyncEngine.Options> = {}) =>
      SyncEngine.make({ targets: [shop.target, crm.target], ...more }).pipe(
        Effect.provideService(SyncStore.SyncStore, sync),
        Effect.provideService(ProfileStore.ProfileStore, store),
        Effect.provideService(IdentityResolver.IdentityResolver, resolver),
        Effect.orDie
      )
    return { shop, crm, store, resolver, sync, engine } satisfies World
  })

/** A profile from a web sign-up record with the person's e-mail. */
const person = (w: World, who: string) =>
  Effect.gen(function* () {
    yield* w.resolver.ingest([{ source: "web", id: who, identifiers: { email: [email(who)] } }])
    return yield* w.resolver.profileIdOf({ source: "web", id: who })
  }).pipe(Effect.orDie)

const profileOf = (w: World, who: string) =>
  w.resolver.profileIdOf({ source: "web", id: who }).pipe(Effect.orDie)

/** A preference-center choice on the profile, now. */
const choose = (w: World, profileId: string, status: Status, key: ConsentLedger.ConsentKey = NEWSLETTER) =>
  Effect.gen(function* () {
    const now = yield* TestClock.currentTimeMillis
    yield* DataSubject.choose(
      profileId,
      { purpose: key.purpose, channel: key.channel, status, legalBasis: "consent" },
      { actor: "person", at: iso(now) }
    ).pipe(Effect.provideService(ProfileStore.ProfileStore, w.store), Effect.orDie)
  })

/** The fields the system holds for the person with this e-mail (none when it has nobody). */
const held = (t: MemoryTarget.MemoryTarget, who: string) =>
  Effect.gen(function* () {
    const id = yield* t.backdoor.find("email", email(who))
    if (Option.isNone(id)) return Option.none<Record<string, string>>()
    const p = yield* t.backdoor.read(id.value)
    return Option.map(p, (h) => Object.fromEntries([...h.fields].map(([f, s]) => [f, s.status])))
  })

const externalIdOf = (t: MemoryTarget.MemoryTarget, who: string) =>
  Effect.map(t.backdoor.find("email", email(who)), Option.getOrThrow)

/** A person created in the system as someone using it would. */
const createIn = (t: MemoryTarget.MemoryTarget, who: string) =>
  t.backdoor.create({ identifiers: { email: [email(who)] } })

const pushCalls = (t: MemoryTarget.MemoryTarget) =>
  Effect.map(t.backdoor.calls(), (calls) => calls.filter((c) => c.operation === "push"))

/** Runs an effect to its end, moving the TestClock on while it sleeps (backoff, rate limits). */
const settle = <A, E>(effect: Effect.Effect<A, E>, step: Duration.DurationInput = "1 second") =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < 10_000; i++) {
      yield* Effect.yieldNow()
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

/** A target whose push reaches the system and then never answers: a crash before the acknowledgement. */
const hangingAfterPush = (
  inner: ConsentTarget.ConsentTarget,
  pushed: Deferred.Deferred<void>
): ConsentTarget.ConsentTarget => ({
  ...inner,
  push: (diffs) =>
    inner
      .push(diffs)
      .pipe(Effect.zipRight(Deferred.succeed(pushed, undefined)), Effect.zipRight(Effect.never))
})

describe("SyncEngine", () => {
  it.effect("a profile-level preference choice reaches both targets", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      const report = yield* engine.runOnce()
      expect(report.diffs.map((d) => [d.target, d.status, d.ref])).toEqual([
        ["shop", "queued", "identifiers"],
        ["crm", "queued", "identifiers"]
      ])
      expect(report.outcomes.map((o) => [o.target, o.outcome]).sort()).toEqual([
        ["crm", "applied"],
        ["shop", "applied"]
      ])
      expect(yield* held(w.shop, "ada")).toEqual(Option.some({ newsletter: "granted" }))
      expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
      expect(yield* engine.pending).toEqual([])
      // The acknowledgement links the person the target created to the profile.
      const links = yield* w.sync.links(ada)
      expect(links.map((l) => l.target).sort()).toEqual(["crm", "shop"])
      // Every acknowledged push is audited as a propagation.
      const audit = yield* w.store.auditEntries
      expect(
        audit
          .filter((e) => e.kind === "propagation")
          .map((e) => e.source)
          .sort()
      ).toEqual(["crm", "shop"])
    })
  )

  it.effect("a change made in a target is pulled, reaches the other target and is not echoed back", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const before = yield* Metric.value(Metric.tagged(SyncEngine.changesPulled, "target", "shop"))
      const ext = yield* createIn(w.shop, "bea")
      yield* TestClock.adjust("1 minute")
      yield* w.shop.backdoor.write(ext, "newsletter", "granted")
      yield* TestClock.adjust("1 minute")
      const report = yield* engine.runOnce()
      expect(report.pulls.find((p) => p.source === "shop")).toMatchObject({
        changes: 1,
        events: 1,
        records: 1
      })
      expect(yield* held(w.crm, "bea")).toEqual(Option.some({ newsletter: "granted" }))
      expect(yield* pushCalls(w.shop)).toEqual([])
      // The profile holds the change as an event from the shop, dated when the shop recorded it.
      const P = yield* w.resolver.profileIdOf({ source: "shop", id: ext }).pipe(Effect.orDie)
      const profile = yield* w.resolver.profile(P).pipe(Effect.orDie)
      expect(profile.consent["marketing/email"]).toEqual({
        status: "granted",
        capturedAt: iso(T0 + 60_000),
        source: "shop"
      })
      const after = yield* Metric.value(Metric.tagged(SyncEngine.changesPulled, "target", "shop"))
      expect(after.count - before.count).toBe(1)
      // The crm's record of our own push comes back on its next pull as an echo, not as a choice.
      yield* TestClock.adjust("1 minute")
      const second = yield* engine.runOnce()
      expect(second.pulls.find((p) => p.source === "crm")).toMatchObject({ changes: 1, events: 0, echoes: 1 })
      expect(second.diffs).toEqual([])
      expect(yield* pushCalls(w.shop)).toEqual([])
      expect((yield* pushCalls(w.crm)).length).toBe(1)
    })
  )

  it.effect("idempotence: cycles with no changes push nothing", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      const ext = yield* createIn(w.shop, "bob")
      yield* w.shop.backdoor.write(ext, "sms-offers", "denied")
      yield* TestClock.adjust("1 minute")
      yield* engine.runOnce()
      yield* TestClock.adjust("1 minute")
      yield* engine.runOnce()
      const shopCalls = (yield* pushCalls(w.shop)).length
      const crmCalls = (yield* pushCalls(w.crm)).length
      for (let i = 0; i < 2; i++) {
        yield* TestClock.adjust("1 minute")
        const r = yield* engine.runOnce()
        expect(r.diffs).toEqual([])
        expect(r.outcomes).toEqual([])
        expect(r.conflicts).toEqual([])
      }
      expect((yield* pushCalls(w.shop)).length).toBe(shopCalls)
      expect((yield* pushCalls(w.crm)).length).toBe(crmCalls)
    })
  )

  it.effect(
    "a conflict (both sides changed since the last sync) is settled by the newest-wins rule and audited",
    () =>
      Effect.gen(function* () {
        const w = yield* makeWorld()
        const engine = yield* w.engine()
        const ada = yield* person(w, "ada")
        yield* choose(w, ada, "denied")
        yield* engine.runOnce()
        const crmId = yield* externalIdOf(w.crm, "ada")
        // Since that sync: a grant in the preference center, then a withdrawal in the crm.
        yield* TestClock.adjust("10 minutes")
        yield* choose(w, ada, "granted")
        yield* TestClock.adjust("10 minutes")
        yield* w.crm.backdoor.write(crmId, "newsletter", "withdrawn")
        yield* TestClock.adjust("1 minute")
        const report = yield* engine.runOnce()
        expect(report.conflicts).toHaveLength(1)
        expect(report.conflicts[0]).toMatchObject({
          profileId: ada,
          target: "crm",
          key: "marketing/email",
          winner: "target"
        })
        // The newer withdrawal wins: the shop gets it, the crm is not told what it said itself.
        expect(yield* held(w.shop, "ada")).toEqual(Option.some({ newsletter: "withdrawn" }))
        expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "withdrawn" }))
        expect((yield* pushCalls(w.crm)).length).toBe(1)
        const audit = yield* w.store.auditEntries
        const entry = audit.find((e) => e.kind === "consent" && e.source === "crm")
        expect(entry?.detail).toMatchObject({
          status: "withdrawn",
          conflict: {
            key: "marketing/email",
            winner: "target",
            profileStatus: "granted",
            targetStatus: "withdrawn"
          }
        })
      })
  )

  it.effect("a conflict the profile wins sends the profile's state back to the target", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      yield* engine.runOnce()
      const crmId = yield* externalIdOf(w.crm, "ada")
      yield* TestClock.adjust("10 minutes")
      // The crm's change is older than the profile's, though the engine sees both at once.
      yield* w.crm.backdoor.write(crmId, "newsletter", "denied", iso(T0 + 5 * 60_000))
      yield* choose(w, ada, "withdrawn")
      yield* TestClock.adjust("1 minute")
      const report = yield* engine.runOnce()
      expect(report.conflicts.map((c) => c.winner)).toEqual(["profile"])
      expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "withdrawn" }))
      expect(yield* held(w.shop, "ada")).toEqual(Option.some({ newsletter: "withdrawn" }))
    })
  )

  it.effect("RateLimited: the whole target waits its retryAfter, then the item goes through", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      yield* w.crm.backdoor.failNext({ _tag: "RateLimited", retryAfter: "30 seconds", operation: "push" })
      const limited = Metric.tagged(
        Metric.tagged(SyncEngine.failures, "target", "crm"),
        "reason",
        "RateLimited"
      )
      const before = (yield* Metric.value(limited)).count
      const fiber = yield* Effect.fork(engine.runOnce())
      yield* TestClock.adjust("29 seconds")
      expect((yield* pushCalls(w.crm)).map((c) => c.failed)).toEqual([true])
      expect(yield* held(w.crm, "ada")).toEqual(Option.none())
      const pending = yield* engine.pending
      expect(pending.map((i) => [i.target, i.attempts, i.nextAttemptAt, i.lastError?.reason])).toEqual([
        ["crm", 1, T0 + 30_000, "RateLimited"]
      ])
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(fiber)
      const calls = yield* pushCalls(w.crm)
      expect(calls.map((c) => [c.at - T0, c.failed])).toEqual([
        [0, true],
        [30_000, false]
      ])
      expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
      expect(report.outcomes.filter((o) => o.target === "crm").map((o) => o.outcome)).toEqual([
        "retry",
        "applied"
      ])
      expect((yield* Metric.value(limited)).count - before).toBe(1)
      // The shop was not held up by the crm's rate limit.
      expect((yield* pushCalls(w.shop)).map((c) => c.at - T0)).toEqual([0])
    })
  )

  it.effect("backoff: retryable failures wait exponentially longer (with jitter) between attempts", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine({ retry: { base: "1 second", factor: 2, maxAttempts: 5 } })
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      yield* w.crm.backdoor.failNext({ _tag: "Transport", operation: "push", times: 3 })
      yield* settle(engine.runOnce(), "100 millis")
      const at = (yield* pushCalls(w.crm)).map((c) => c.at - T0)
      expect(at).toHaveLength(4)
      const gaps = at.slice(1).map((t, i) => t - at[i]!)
      // 1 s, 2 s, 4 s, each within the 80-120 % jitter band (plus the clock's 100 ms steps).
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i)
        expect(gap).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i + 100)
      })
      expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
    })
  )

  it.effect("a partial batch failure is retried per item: only the failed item goes again", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ada = yield* person(w, "ada")
      const bob = yield* person(w, "bob")
      const adaInCrm = yield* createIn(w.crm, "ada")
      yield* createIn(w.crm, "bob")
      yield* choose(w, ada, "granted")
      yield* choose(w, bob, "denied")
      yield* w.crm.backdoor.failNext({ _tag: "Item", externalId: adaInCrm, reason: "Conflict" })
      const report = yield* settle(engine.runOnce())
      expect((yield* pushCalls(w.crm)).map((c) => c.items)).toEqual([2, 1])
      expect(report.outcomes.filter((o) => o.target === "crm").map((o) => [o.profileId, o.outcome])).toEqual([
        [ada, "retry"],
        [bob, "applied"],
        [ada, "applied"]
      ])
      expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
      expect(yield* held(w.crm, "bob")).toEqual(Option.some({ newsletter: "denied" }))
      // No second person: the push found them by e-mail.
      expect((yield* w.crm.backdoor.persons()).length).toBe(2)
    })
  )

  it.effect(
    "an item that keeps failing is parked after N attempts, listed with its reason, and can be requeued",
    () =>
      Effect.gen(function* () {
        const w = yield* makeWorld()
        const engine = yield* w.engine({ retry: { maxAttempts: 3 } })
        const ada = yield* person(w, "ada")
        const adaInCrm = yield* createIn(w.crm, "ada")
        yield* choose(w, ada, "granted")
        yield* w.crm.backdoor.failNext({ _tag: "Item", externalId: adaInCrm, reason: "Conflict", times: 10 })
        const report = yield* settle(engine.runOnce())
        expect(report.outcomes.filter((o) => o.target === "crm").map((o) => o.outcome)).toEqual([
          "retry",
          "retry",
          "parked"
        ])
        const letters = yield* engine.deadLetters
        expect(letters).toHaveLength(1)
        expect(letters[0]!.failure.reason).toBe("Conflict")
        expect(letters[0]!.item).toMatchObject({ target: "crm", profileId: ada, attempts: 3 })
        expect(yield* engine.pending).toEqual([])
        expect(report.deadLetters).toBe(1)
        // The same diff is not sent again every cycle while it is parked...
        yield* TestClock.adjust("1 minute")
        yield* settle(engine.runOnce())
        expect((yield* pushCalls(w.crm)).length).toBe(3)
        // ...until someone requeues it.
        yield* w.crm.backdoor.clearFaults()
        expect(yield* engine.requeue(letters[0]!.item.id)).toBe(true)
        yield* settle(engine.runOnce())
        expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
        expect(yield* engine.deadLetters).toEqual([])
      })
  )

  it.effect("Rejected is parked at once with the target's reason", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      const refusing: ConsentTarget.ConsentTarget = {
        ...w.crm.target,
        push: (diffs) => Effect.succeed(diffs.map(() => ConsentTarget.rejected("the list is archived")))
      }
      const engine = yield* w.engine({ targets: [refusing] })
      const report = yield* engine.runOnce()
      expect(report.outcomes.map((o) => [o.outcome, o.reason, o.detail])).toEqual([
        ["parked", "Rejected", "the list is archived"]
      ])
      expect((yield* engine.deadLetters).map((l) => l.item.attempts)).toEqual([0])
    })
  )

  it.effect(
    "crash after a push reached the target but before its acknowledgement: resume loses and repeats nothing",
    () =>
      Effect.gen(function* () {
        const w = yield* makeWorld()
        const ada = yield* person(w, "ada")
        yield* choose(w, ada, "granted")
        const pushed = yield* Deferred.make<void>()
        const crashing = yield* w.engine({ targets: [w.shop.target, hangingAfterPush(w.crm.target, pushed)] })
        const fiber = yield* Effect.fork(crashing.runOnce())
        yield* Deferred.await(pushed)
        yield* Fiber.interrupt(fiber)
        // The crm holds the change, but the outbox still has the item: it was never acknowledged.
        expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
        expect((yield* w.sync.pending).map((i) => i.target)).toContain("crm")
        // A new process over the same stores and systems.
        yield* TestClock.adjust("1 minute")
        const restarted = yield* w.engine({ targets: [w.shop.target, yield* w.crm.reconnect()] })
        const report = yield* settle(restarted.runOnce())
        // The crm's pull shows our own write: the item is recognised as applied and not pushed again.
        expect(report.outcomes.filter((o) => o.target === "crm").map((o) => o.outcome)).toEqual(["cancelled"])
        yield* settle(restarted.runOnce())
        expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
        expect(yield* held(w.shop, "ada")).toEqual(Option.some({ newsletter: "granted" }))
        expect((yield* w.crm.backdoor.persons()).length).toBe(1)
        expect((yield* w.shop.backdoor.persons()).length).toBe(1)
        expect((yield* pushCalls(w.crm)).length).toBe(1)
        expect((yield* pushCalls(w.shop)).length).toBe(1)
        expect(yield* restarted.pending).toEqual([])
        expect(yield* restarted.deadLetters).toEqual([])
      })
  )

  it.effect(
    "a push that applies and then loses the connection is retried and applied once in the end state",
    () =>
      Effect.gen(function* () {
        const w = yield* makeWorld()
        const engine = yield* w.engine()
        const ada = yield* person(w, "ada")
        const bob = yield* person(w, "bob")
        yield* choose(w, ada, "granted")
        yield* choose(w, bob, "granted")
        yield* w.crm.backdoor.failNext({ _tag: "Transport", operation: "push", afterItems: 1 })
        yield* settle(engine.runOnce())
        // The call applied one item and then failed as a whole: both items are retried (each on
        // its own jittered schedule), and the one applied twice is still held once.
        const calls = (yield* pushCalls(w.crm)).map((c) => c.items)
        expect(calls[0]).toBe(2)
        expect(calls.slice(1).reduce((a, b) => a + b, 0)).toBe(2)
        expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "granted" }))
        expect(yield* held(w.crm, "bob")).toEqual(Option.some({ newsletter: "granted" }))
        expect((yield* w.crm.backdoor.persons()).length).toBe(2)
        expect(yield* engine.pending).toEqual([])
      })
  )

  it.effect(
    "interrupting a cycle mid-pull resumes from the checkpointed cursor without losing a change",
    () =>
      Effect.gen(function* () {
        const w = yield* makeWorld({ shop: { pageSize: 1 } })
        for (const who of ["ada", "bob", "cem"]) {
          const ext = yield* createIn(w.shop, who)
          yield* w.shop.backdoor.write(ext, "newsletter", "granted")
        }
        yield* TestClock.adjust("1 minute")
        const gate = yield* Deferred.make<void>()
        let pages = 0
        const stalling: ConsentTarget.ConsentTarget = {
          ...w.shop.target,
          pull: (cursor) =>
            Effect.suspend(() =>
              ++pages === 4
                ? Effect.zipRight(Deferred.succeed(gate, undefined), Effect.never)
                : w.shop.target.pull(cursor)
            )
        }
        const first = yield* w.engine({ targets: [stalling, w.crm.target] })
        const fiber = yield* Effect.fork(first.runOnce())
        yield* Deferred.await(gate)
        yield* Fiber.interrupt(fiber)
        const cursor = yield* w.sync.cursor("shop")
        expect(Option.isSome(cursor)).toBe(true)
        const engine = yield* w.engine()
        yield* settle(engine.runOnce())
        for (const who of ["ada", "bob", "cem"])
          expect(yield* held(w.crm, who)).toEqual(Option.some({ newsletter: "granted" }))
        expect((yield* w.crm.backdoor.persons()).length).toBe(3)
      })
  )

  it.effect("dry run reports the diffs, pushes nothing and moves no cursor", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ext = yield* createIn(w.shop, "bea")
      yield* w.shop.backdoor.write(ext, "newsletter", "granted")
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "denied")
      yield* TestClock.adjust("1 minute")
      const dry = yield* engine.runOnce({ dryRun: true })
      expect(dry.dryRun).toBe(true)
      expect(dry.diffs.map((d) => [d.target, d.status]).sort()).toEqual([
        ["crm", "dry-run"],
        ["crm", "dry-run"],
        ["shop", "dry-run"]
      ])
      expect(dry.outcomes).toEqual([])
      expect(yield* pushCalls(w.shop)).toEqual([])
      expect(yield* pushCalls(w.crm)).toEqual([])
      expect(yield* w.sync.cursor("shop")).toEqual(Option.none())
      expect(yield* w.sync.lastSync("shop")).toEqual(Option.none())
      expect(yield* engine.pending).toEqual([])
      expect((yield* w.store.auditEntries).filter((e) => e.actor === "sync")).toEqual([])
      // A real cycle afterwards does everything the dry run showed.
      const real = yield* engine.runOnce()
      expect(real.diffs.map((d) => [d.target, d.profileId, d.changes])).toEqual(
        dry.diffs.map((d) => [d.target, d.profileId, d.changes])
      )
      expect(yield* held(w.crm, "bea")).toEqual(Option.some({ newsletter: "granted" }))
      expect(yield* held(w.crm, "ada")).toEqual(Option.some({ newsletter: "denied" }))
    })
  )

  it.effect("per-target token bucket: calls are spread over the declared rate", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld({ crm: { maxBatchSize: 1 } })
      const engine = yield* w.engine({
        targets: [w.shop.target, { target: w.crm.target, rateLimit: { requests: 1, per: "10 seconds" } }]
      })
      for (const who of ["ada", "bob", "cem"]) yield* choose(w, yield* person(w, who), "granted")
      yield* settle(engine.runOnce())
      // The pull took the first token; each push then waits for the next.
      expect((yield* pushCalls(w.crm)).map((c) => c.at - T0)).toEqual([10_000, 20_000, 30_000])
      expect((yield* pushCalls(w.shop)).map((c) => [c.at - T0, c.items])).toEqual([[0, 3]])
    })
  )

  it.effect("erasure: the person is erased in every target holding them, through the outbox", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine()
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      yield* engine.runOnce()
      yield* w.crm.backdoor.failNext({ _tag: "Transport", operation: "erase" })
      const { items } = yield* engine.eraseProfile(ada, { actor: "dpo", at: iso(T0) }).pipe(Effect.orDie)
      expect(items.map((i) => [i._tag, i.target]).sort()).toEqual([
        ["Erase", "crm"],
        ["Erase", "shop"]
      ])
      expect(yield* w.sync.links(ada)).toEqual([])
      const report = yield* settle(engine.runOnce())
      expect(report.outcomes.map((o) => [o.target, o.outcome]).sort()).toEqual([
        ["crm", "erased"],
        ["crm", "retry"],
        ["shop", "erased"]
      ])
      expect(yield* held(w.shop, "ada")).toEqual(Option.none())
      expect(yield* held(w.crm, "ada")).toEqual(Option.none())
      // The targets' deletions come back on the next pull and bring nobody back.
      yield* settle(engine.runOnce())
      expect(yield* w.crm.backdoor.persons()).toEqual([])
      expect(yield* w.shop.backdoor.persons()).toEqual([])
      expect(yield* engine.pending).toEqual([])
    })
  )

  it.effect("scan dirty: only profiles touched by pulls or named with touch are diffed", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine({ scan: "dirty" })
      const ada = yield* person(w, "ada")
      yield* choose(w, ada, "granted")
      expect((yield* engine.runOnce()).diffs).toEqual([])
      yield* engine.touch([ada])
      const report = yield* engine.runOnce()
      expect(report.diffs.map((d) => d.target).sort()).toEqual(["crm", "shop"])
      const ext = yield* createIn(w.shop, "bea")
      yield* w.shop.backdoor.write(ext, "newsletter", "denied")
      yield* engine.runOnce()
      expect(yield* held(w.crm, "bea")).toEqual(Option.some({ newsletter: "denied" }))
    })
  )

  it.effect("a record source's records (and their consents) are ingested and reach the targets", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const source = ConsentTarget.makeRecordSource({
        name: "newsletter-tool",
        pullPage: (cursor) =>
          Effect.succeed(
            Option.isSome(cursor)
              ? { records: [], cursor: cursor.value, hasMore: false }
              : {
                  records: [
                    {
                      source: "newsletter-tool",
                      id: "n1",
                      identifiers: { email: [email("dan")] },
                      consents: [
                        {
                          purpose: "marketing",
                          channel: "sms",
                          status: "granted",
                          legalBasis: "consent",
                          capturedAt: "2025-02-01T00:00:00Z"
                        }
                      ]
                    }
                  ],
                  cursor: "c1",
                  hasMore: false
                }
          )
      })
      const engine = yield* w.engine({ sources: [source], scan: "dirty" })
      const report = yield* engine.runOnce()
      expect(report.pulls.find((p) => p.source === "newsletter-tool")).toMatchObject({
        kind: "source",
        records: 1
      })
      expect(yield* held(w.shop, "dan")).toEqual(Option.some({ "sms-offers": "granted" }))
      expect(yield* held(w.crm, "dan")).toEqual(Option.some({ "sms-offers": "granted" }))
      expect(yield* w.sync.cursor("newsletter-tool")).toEqual(Option.some("c1"))
    })
  )

  it.effect("continuous mode polls on its schedule and stops on interruption", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const engine = yield* w.engine({ pollInterval: "1 minute" })
      const fiber = yield* Effect.fork(engine.run())
      yield* Effect.yieldNow()
      const ext = yield* createIn(w.shop, "bea")
      yield* w.shop.backdoor.write(ext, "newsletter", "granted")
      expect(yield* held(w.crm, "bea")).toEqual(Option.none())
      yield* TestClock.adjust("1 minute")
      expect(yield* held(w.crm, "bea")).toEqual(Option.some({ newsletter: "granted" }))
      const pulls = (yield* w.shop.backdoor.calls()).filter((c) => c.operation === "pull").length
      yield* TestClock.adjust("1 minute")
      expect((yield* w.shop.backdoor.calls()).filter((c) => c.operation === "pull").length).toBe(pulls + 1)
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("5 minutes")
      expect((yield* w.shop.backdoor.calls()).filter((c) => c.operation === "pull").length).toBe(pulls + 1)
      // The lag gauge reads zero: nothing is waiting.
      expect((yield* Metric.value(SyncEngine.lag)).value).toBe(0)
    })
  )

  it.effect("refuses two targets with one name and a mapping that does not fit its target", () =>
    Effect.gen(function* () {
      const w = yield* makeWorld()
      const make = (targets: SyncEngine.Options["targets"]) =>
        SyncEngine.make({ targets }).pipe(
          Effect.provideService(SyncStore.SyncStore, w.sync),
          Effect.provideService(ProfileStore.ProfileStore, w.store),
          Effect.provideService(IdentityResolver.IdentityResolver, w.resolver),
          Effect.flip
        )
      expect((yield* make([w.shop.target, w.shop.target])).problem).toContain("two targets")
      const misfit = { ...w.crm.target, mapping: { ...w.crm.target.mapping, target: "elsewhere" } }
      expect((yield* make([misfit]))._tag).toBe("MappingError")
    })
  )

  it("property: any interleaving of target changes, choices, crashes and cycles converges both targets to the profile", async () => {
    const who = ["ada", "bob", "cem"] as const
    const keys = MemoryTarget.defaultMapping("any").keys
    const status = fc.constantFrom<Status>("granted", "denied", "withdrawn")
    const op = fc.oneof(
      fc.record({ _tag: fc.constant("choose" as const), who: fc.nat(2), key: fc.nat(2), status }),
      fc.record({
        _tag: fc.constant("write" as const),
        target: fc.constantFrom("shop" as const, "crm" as const),
        who: fc.nat(2),
        key: fc.nat(2),
        status
      }),
      fc.record({ _tag: fc.constant("cycle" as const) }),
      fc.record({ _tag: fc.constant("crash" as const) }),
      fc.record({ _tag: fc.constant("dropConnection" as const) })
    )
    const step = fc.tuple(op, fc.integer({ min: 1, max: 120_000 }))
    await fc.assert(
      // At most 4 dropped connections in a run: with the default policy's 5 attempts an item can
      // then never exhaust its retries (5 drops in a row park it, which the dead-letter tests cover;
      // fast-check found that case with seed 1558847577).
      fc.asyncProperty(
        fc.array(step, { maxLength: 25 }).map((steps) => {
          let drops = 0
          return steps.filter(([o]) => o._tag !== "dropConnection" || ++drops <= 4)
        }),
        async (steps) => {
          const scenario = Effect.gen(function* () {
            const w = yield* makeWorld()
            for (const name of who) {
              yield* person(w, name)
              yield* createIn(w.shop, name)
            }
            const crash = { next: false, pushed: yield* Deferred.make<void>() }
            const crm: ConsentTarget.ConsentTarget = {
              ...w.crm.target,
              push: (diffs) =>
                crash.next
                  ? hangingAfterPush(w.crm.target, crash.pushed).push(diffs)
                  : w.crm.target.push(diffs)
            }
            const engine = yield* w.engine({ targets: [w.shop.target, crm] })
            const target = (name: "shop" | "crm") => (name === "shop" ? w.shop : w.crm)
            for (const [o, wait] of steps) {
              switch (o._tag) {
                case "choose":
                  yield* choose(w, yield* profileOf(w, who[o.who]!), o.status, keys[o.key]!)
                  break
                case "write": {
                  const t = target(o.target)
                  const found = yield* t.backdoor.find("email", email(who[o.who]!))
                  const ext = Option.isSome(found) ? found.value : yield* createIn(t, who[o.who]!)
                  yield* t.backdoor.write(ext, keys[o.key]!.field, o.status)
                  break
                }
                case "cycle":
                  yield* settle(engine.runOnce())
                  break
                case "crash": {
                  crash.next = true
                  crash.pushed = yield* Deferred.make<void>()
                  const fiber = yield* Effect.fork(engine.runOnce({ drain: false }))
                  yield* Effect.raceFirst(Deferred.await(crash.pushed), Effect.asVoid(Fiber.await(fiber)))
                  yield* Fiber.interrupt(fiber)
                  crash.next = false
                  break
                }
                case "dropConnection":
                  yield* w.crm.backdoor.failNext({ _tag: "Transport", operation: "push", afterItems: 1 })
                  break
              }
              yield* TestClock.adjust(Duration.millis(wait))
            }
            yield* w.crm.backdoor.clearFaults()
            yield* settle(engine.runOnce())
            yield* TestClock.adjust("1 minute")
            yield* settle(engine.runOnce())
            const now = yield* TestClock.currentTimeMillis
            for (const name of who) {
              const stored = Option.getOrThrow(yield* w.store.profile(yield* profileOf(w, name)))
              const desired = ConsentLedger.effectiveAll(
                IdentityResolver.ledgerOf(stored.records, stored.profileEvents),
                now
              )
              for (const t of [w.shop, w.crm]) {
                const people = (yield* t.backdoor.persons()).filter((p) =>
                  p.identifiers["email"]?.includes(email(name))
                )
                expect(people.length).toBeLessThanOrEqual(1)
                const fields = people[0]?.fields
                for (const k of t.target.mapping.keys) {
                  const want = ConsentLedger.lookup(desired, k)
                  const has = fields?.get(k.field)?.status
                  expect([name, t.target.name, k.field, has]).toEqual([
                    name,
                    t.target.name,
                    k.field,
                    want === undefined
                      ? undefined
                      : ConsentDiff.asHeld(t.target.mapping, k.field, want.status)
                  ])
                }
              }
            }
            expect(yield* engine.deadLetters).toEqual([])
            expect(yield* engine.pending).toEqual([])
          })
          await Effect.runPromise(scenario.pipe(Effect.provide(TestContext.TestContext)))
        }
      ),
      { numRuns: 60 }
    )
  })
})
