import { readdir, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { AdapterError, ConsentTarget } from "@living-profile/core"
import { Effect, Option } from "effect"
import { NewsletterFile, NewsletterTarget } from "../src/index.js"
import { tempFile } from "./backdoor.js"

const fsError = (code: string) =>
  Object.assign(new Error(`${code}: /home/ayse.yilmaz/subscribers.json`), { code })

describe("file-system errors", () => {
  it.each([
    ["ENOENT", "NotFound", false],
    ["EACCES", "Unauthorized", false],
    ["EPERM", "Unauthorized", false],
    ["EBUSY", "Transport", true],
    ["EMFILE", "Transport", true],
    ["ENOSPC", "Transport", true],
    ["EROFS", "Invalid", false],
    ["EISDIR", "Unknown", false]
  ] as const)("%s is %s", (code, reason, retryable) => {
    const e = NewsletterFile.fromFsError("newsletter", "push", fsError(code))
    expect(e.reason).toBe(reason)
    expect(e.isRetryable).toBe(retryable)
    expect(e.code).toBe(code)
    // Node puts the path in its messages; paths name people (home folders), so only the code is kept.
    expect(e.message).not.toContain("ayse")
  })

  it.effect("a missing file fails the call with NotFound", () =>
    Effect.gen(function* () {
      const target = NewsletterTarget.make({ path: "/nonexistent/newsletter/subscribers.json" })
      const e = yield* Effect.flip(target.pull(Option.none()))
      expect(e.reason).toBe("NotFound")
    })
  )

  it.scoped("a damaged file is Unknown and its content stays out of the error", () =>
    Effect.gen(function* () {
      const path = yield* tempFile
      yield* Effect.promise(() => writeFile(path, '{"format":"tinyletter/1","subscribers":[{"email":"ayse@x'))
      const e = yield* Effect.flip(NewsletterTarget.make({ path }).read([{ externalId: "s1" }]))
      expect(AdapterError.isAdapterError(e)).toBe(true)
      expect(e.reason).toBe("Unknown")
      expect(e.code).toBe("CORRUPT")
      expect(e.message).not.toContain("ayse")
    })
  )

  it.scoped("writes leave no temporary file behind", () =>
    Effect.gen(function* () {
      const path = yield* tempFile
      const target = NewsletterTarget.make({ path })
      const diff = ConsentTarget.address(
        {
          profileId: "p1",
          target: "newsletter",
          changes: [
            {
              key: "marketing/email",
              field: "weekly",
              from: null,
              to: "granted",
              because: {
                status: "granted",
                capturedAt: "2025-05-01T10:00:00Z",
                source: "web",
                eventId: "e1",
                legalBasis: "consent"
              }
            }
          ]
        },
        { identifiers: { email: ["ayse@example.com"] } }
      )
      const results = yield* target.push([diff, diff])
      expect(results.map((r) => r._tag)).toEqual(["Applied", "Applied"])
      expect(yield* Effect.promise(() => readdir(dirname(path)))).toEqual([
        path.slice(dirname(path).length + 1)
      ])
      expect(join(dirname(path), "subscribers.json")).toBe(path)
    })
  )
})
