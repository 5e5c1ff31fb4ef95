/**
 * Everything a prefix holds, read with raw commands (SCAN, then HGETALL, SMEMBERS, LRANGE, ZRANGE,
 * XRANGE or GET by type), as the strings a person scanning the server would see, and a search over
 * them that also finds phone numbers written with other separators.
 */
import type { Redis } from "ioredis"
import { scanKeys } from "./redis.js"

/** One key and every string it holds (its name first). */
export interface Dumped {
  readonly key: string
  readonly type: string
  readonly strings: ReadonlyArray<string>
}

/** Every key of the prefix with every string in it; a type the dump cannot read fails. */
export const dumpPrefix = async (r: Redis, prefix: string): Promise<Array<Dumped>> => {
  const out: Array<Dumped> = []
  for (const key of await scanKeys(r, prefix)) {
    const type = await r.type(key)
    let strings: Array<string>
    switch (type) {
      case "hash":
        strings = Object.entries(await r.hgetall(key)).flat()
        break
      case "set":
        strings = await r.smembers(key)
        break
      case "list":
        strings = await r.lrange(key, 0, -1)
        break
      case "zset":
        strings = [await r.zrange(key, 0, "-1", "WITHSCORES")].flat(2).map(String)
        break
      case "stream":
        strings = (await r.xrange(key, "-", "+")).flatMap(([id, fields]) => [id, ...fields])
        break
      case "string":
        strings = [(await r.get(key)) ?? ""]
        break
      case "none":
        // Deleted between the SCAN and the TYPE.
        continue
      default:
        throw new Error(`dump: ${key} has type ${type}`)
    }
    out.push({ key, type, strings: [key, ...strings] })
  }
  return out
}

const squeeze = (s: string) => s.toLowerCase().replace(/[\s\-/().]/g, "")

/** Where any of `needles` occurs (case-insensitively, also with separators removed): `key: needle`. */
export const hits = (dump: ReadonlyArray<Dumped>, needles: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const { key, strings } of dump)
    for (const needle of needles) {
      const n = needle.toLowerCase()
      const m = squeeze(needle)
      if (strings.some((s) => s.toLowerCase().includes(n) || squeeze(s).includes(m)))
        out.push(`${key}: ${needle}`)
    }
  return out
}
