/**
 * `living-profile emulator salesforce [options]`: starts an emulator, prints where it listens and
 * how to log in, and runs until SIGINT or SIGTERM (or the given AbortSignal).
 */
import { parseArgs } from "node:util"
import { defaultUser, start, type StartOptions } from "./Emulator.js"

/** Where the command writes, and what stops it (the process signals when omitted). */
export interface MainIo {
  readonly stdout: { readonly write: (s: string) => unknown }
  readonly stderr: { readonly write: (s: string) => unknown }
  /** Stops the emulator when aborted, instead of waiting for SIGINT / SIGTERM. */
  readonly signal?: AbortSignal
}

/** Help of the command. */
export const help = `Usage: living-profile emulator salesforce [options]

Runs a local Salesforce REST API emulator on 127.0.0.1 for jsforce (@jsforce/jsforce-node).
Use the printed URL as both loginUrl and instanceUrl, with the printed credentials. Stops on Ctrl+C.

Options:
  --port <n>                  TCP port (default 0: a free port)
  --daily-limit <n>           API requests per rolling 24 hours (default 15000)
  --latency-ms <n>            delay added to every request (default 0)
  --session-ttl-seconds <n>   access token inactivity timeout (default 7200)
  --username <s>              test user name (default ${defaultUser.username})
  --password <s>              test user password (default ${defaultUser.password})
  --client-id <s>             connected app client id (default ${defaultUser.clientId})
  --client-secret <s>         connected app client secret (default ${defaultUser.clientSecret})
  -h, --help                  show this help

Exit codes: 0 stopped normally, 2 usage error, 3 could not listen (port in use).
`

const count = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw)) throw new Error(`--${name} must be a non-negative integer, got '${raw}'`)
  return Number(raw)
}

/** Runs the command; resolves with the exit code once the emulator has stopped. */
export const main = async (
  argv: ReadonlyArray<string>,
  io: MainIo = { stdout: process.stdout, stderr: process.stderr }
): Promise<number> => {
  let options: StartOptions
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        "daily-limit": { type: "string" },
        "latency-ms": { type: "string" },
        "session-ttl-seconds": { type: "string" },
        username: { type: "string" },
        password: { type: "string" },
        "client-id": { type: "string" },
        "client-secret": { type: "string" },
        help: { type: "boolean", short: "h" }
      }
    })
    if (values.help === true) {
      io.stdout.write(help)
      return 0
    }
    const port = count("port", values.port)
    if (port !== undefined && port > 65535) throw new Error(`--port must be at most 65535, got ${port}`)
    const dailyLimit = count("daily-limit", values["daily-limit"])
    const latencyMs = count("latency-ms", values["latency-ms"])
    const sessionTtlSeconds = count("session-ttl-seconds", values["session-ttl-seconds"])
    options = {
      ...(port === undefined ? {} : { port }),
      ...(dailyLimit === undefined ? {} : { dailyLimit }),
      ...(latencyMs === undefined ? {} : { latencyMs }),
      ...(sessionTtlSeconds === undefined ? {} : { sessionTtlSeconds }),
      users: [
        {
          username: values.username ?? defaultUser.username,
          password: values.password ?? defaultUser.password,
          clientId: values["client-id"] ?? defaultUser.clientId,
          clientSecret: values["client-secret"] ?? defaultUser.clientSecret
        }
      ]
    }
  } catch (e) {
    io.stderr.write(
      `living-profile emulator salesforce: ${e instanceof Error ? e.message : String(e)}\n\n${help}`
    )
    return 2
  }

  let emulator: Awaited<ReturnType<typeof start>>
  try {
    emulator = await start(options)
  } catch (e) {
    io.stderr.write(
      `living-profile emulator salesforce: cannot start: ${e instanceof Error ? e.message : String(e)}\n`
    )
    return 3
  }
  const c = emulator.credentials
  io.stdout.write(
    `Salesforce emulator listening on ${emulator.url}\n` +
      `  loginUrl / instanceUrl: ${emulator.url}\n` +
      `  username:      ${c.username}\n` +
      `  password:      ${c.password}\n` +
      `  client id:     ${c.clientId}\n` +
      `  client secret: ${c.clientSecret}\n` +
      `  daily limit:   ${emulator.limits.dailyLimit} requests\n` +
      "Press Ctrl+C to stop.\n"
  )
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop)
      process.off("SIGTERM", stop)
      resolve()
    }
    if (io.signal !== undefined) {
      if (io.signal.aborted) stop()
      else io.signal.addEventListener("abort", stop, { once: true })
    } else {
      process.on("SIGINT", stop)
      process.on("SIGTERM", stop)
    }
  })
  await emulator.close()
  io.stdout.write("Salesforce emulator stopped.\n")
  return 0
}
