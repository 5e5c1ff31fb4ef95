/** Entry of one worker process of `resolve --store redis` (spawned by resolveRedis.ts). */
import { worker } from "./resolveRedis.js"

await worker(process.argv.slice(2))
