import { type HubSpotEmulator, type StartOptions, start } from "./Emulator.js"

/** How `main` talks to its surroundings; tests replace both. */
export interface MainIo {
  /** Where the URL and token are printed (default: stdout). */
  readonly write?: (text: string) => void
  /** Resolves when the emulator should stop (default: SIGINT or SIGTERM). */
  readonly until?: Promise<unknown>
}

/** The command-line usage text. */
export const USAGE = `Usage: living-profile emulator hubspot [options]
  --port N              port on 127.0.0.1 (default 0: any free port)
  --token T             accepted private-app token (repeatable; default: a generated one)
  --latency MS          delay before each request
  --burst-max N         requests per burst window (default 100)
  --burst-window-ms MS  burst window (default 10000)
  --daily N             requests per day (default 250000)
  --gdpr                require a legal basis when subscribing
`

const number = (flag: string, value: string | undefined): number => {
  const n = Number(value)
  if (value === undefined || !Number.isInteger(n) || n < 0)
    throw new RangeError(`${flag} needs a non-negative integer`)
  return n
}

/** Parses the command line into start options. */
export const parseArgs = (argv: ReadonlyArray<string>): StartOptions => {
  const tokens: Array<string> = []
  let options: StartOptions = {}
  let burstMax: number | undefined
  let burstWindow: number | undefined
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i]
    const [name, inline] =
      flag?.startsWith("--") && flag.includes("=") ? flag.split("=", 2) : [flag, undefined]
    const value = (): string | undefined => {
      if (inline !== undefined) return inline
      i += 1
      return argv[i]
    }
    switch (name) {
      case "--port":
        options = { ...options, port: number("--port", value()) }
        break
      case "--token": {
        const token = value()
        if (token === undefined || token === "") throw new RangeError("--token needs a value")
        tokens.push(token)
        break
      }
      case "--latency":
        options = { ...options, latencyMs: number("--latency", value()) }
        break
      case "--burst-max":
        burstMax = number("--burst-max", value())
        break
      case "--burst-window-ms":
        burstWindow = number("--burst-window-ms", value())
        break
      case "--daily":
        options = { ...options, dailyLimit: number("--daily", value()) }
        break
      case "--gdpr":
        options = { ...options, gdpr: true }
        break
      default:
        throw new RangeError(`Unknown option ${flag}\n${USAGE}`)
    }
  }
  if (tokens.length > 0) options = { ...options, tokens }
  if (burstMax !== undefined || burstWindow !== undefined) {
    options = { ...options, burstLimit: { max: burstMax ?? 100, windowMs: burstWindow ?? 10_000 } }
  }
  return options
}

const signalled = (): Promise<void> =>
  new Promise((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop)
      process.off("SIGTERM", stop)
      resolve()
    }
    process.on("SIGINT", stop)
    process.on("SIGTERM", stop)
  })

/** Runs the emulator from the command line: prints its URL and token and stays up until SIGINT or SIGTERM. */
export const main = async (argv: ReadonlyArray<string>, io: MainIo = {}): Promise<void> => {
  if (argv.includes("--help") || argv.includes("-h")) {
    ;(io.write ?? ((t: string) => process.stdout.write(t)))(USAGE)
    return
  }
  const emulator: HubSpotEmulator = await start(parseArgs(argv))
  const write = io.write ?? ((text: string) => process.stdout.write(text))
  write(`HubSpot emulator listening on ${emulator.url}\nToken: ${emulator.token}\n`)
  write(
    `Point the SDK at it: new Client({ accessToken, basePath: "${emulator.url}", numberOfApiCallRetries: 0 })\n`
  )
  await (io.until ?? signalled())
  await emulator.close()
}
