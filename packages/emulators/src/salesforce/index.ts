/**
 * A local Salesforce REST API emulator for testing code that uses the real jsforce SDK: OAuth,
 * SOQL with pagination, sObject CRUD and upsert, sObject Collections, Composite, getUpdated /
 * getDeleted, the consent objects, API limits, injected faults and a test backdoor.
 */
export type { Backdoor, BackdoorRecord, ReadOptions, WriteOptions } from "./Backdoor.js"
export type { Clock } from "./Clock.js"
export { help, type MainIo, main } from "./Cli.js"
export {
  type ApiUsage,
  type Credentials,
  defaultUser,
  type IssuedToken,
  type SalesforceEmulator,
  type SessionControl,
  type StartOptions,
  start,
  type UserOptions
} from "./Emulator.js"
export type { FaultAction, FaultHandle, FaultMatch, FaultRule, FaultSpec, Faults } from "./Faults.js"
export type { RequestLogEntry, SubrequestLogEntry } from "./RequestLog.js"
