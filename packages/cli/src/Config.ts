/**
 * Reading the JSON files the command is configured with: the resolver config (`--config`).
 */
import { readFile } from "node:fs/promises"
import { ResolverConfig } from "@living-profile/core"
import { Either } from "effect"
import { ConfigInvalid, errnoCode, IoError } from "./ExitCode.js"

/** Reads a JSON file; a missing file is an I/O error, unparsable JSON a config error. */
export const readJsonFile = async (path: string): Promise<unknown> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (e) {
    throw new IoError({ path, action: "read", code: errnoCode(e) })
  }
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    // V8's parse message quotes a snippet of the text, so it is not passed on.
    throw new ConfigInvalid({ file: path, detail: "is not valid JSON" })
  }
}

/** Loads and decodes a resolver config file, filling in defaults; errors name the field. */
export const loadConfig = async (path: string): Promise<ResolverConfig.ResolverConfig> => {
  const json = await readJsonFile(path)
  const decoded = ResolverConfig.decode(json, path)
  if (Either.isLeft(decoded)) throw new ConfigInvalid({ file: path, detail: decoded.left.detail })
  return decoded.right
}
