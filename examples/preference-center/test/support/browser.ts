/**
 * Headless Debian Chromium through playwright-core (Playwright's own browser download cannot run
 * here), axe-core injected into pages, and the screenshots folder.
 */
import { existsSync } from "node:fs"
import { mkdir, readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium"

/** Whether the browser tests can run. */
export const haveChromium = existsSync(CHROMIUM)

/** Where the tests save screenshots of the main states. */
export const SCREENSHOTS = fileURLToPath(new URL("../screenshots/", import.meta.url))

/** Starts Chromium with the flags this machine needs (no sandbox as root, no network chatter). */
export const launch = async (): Promise<Browser> => {
  await mkdir(SCREENSHOTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}

let axeSource: string | undefined

/** One axe-core violation, as much of it as a failure message needs. */
export interface Violation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly targets: ReadonlyArray<string>
}

/**
 * Runs axe-core in the page against the WCAG 2.0, 2.1 and 2.2 A and AA rules. axe is evaluated
 * through the DevTools protocol, which the page's CSP (script-src 'self') does not govern.
 */
export const axe = async (page: Page): Promise<ReadonlyArray<Violation>> => {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const run = (
      window as unknown as {
        axe: {
          run: (
            context: Document,
            options: unknown
          ) => Promise<{
            violations: Array<{
              id: string
              impact: string | null
              help: string
              nodes: Array<{ target: Array<unknown> }>
            }>
          }>
        }
      }
    ).axe.run
    const result = await run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] }
    })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.map(String).join(" "))
    }))
  })
}
