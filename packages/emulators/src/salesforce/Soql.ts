/**
 * A tokenizer and recursive-descent parser for the SOQL subset the emulator runs:
 *
 *   SELECT field, Rel.field, ... | COUNT()
 *   FROM Object
 *   [WHERE condition]          comparisons = != <> < > <= >=, LIKE, [NOT] IN (...), NOT,
 *                               AND / OR with parentheses (mixing AND and OR at one level needs
 *                               parentheses, as in SOQL); literals: 'string', number, true,
 *                               false, null, 2026-01-01, 2026-01-01T00:00:00Z;
 *                               semi-joins `IdOrReference [NOT] IN (SELECT IdOrReference FROM
 *                               Object [WHERE condition])`
 *   [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]
 *   [LIMIT n] [OFFSET n]
 *
 * Semi-joins (IN) and anti-joins (NOT IN) keep SOQL's restrictions: at most two per WHERE, not
 * under OR or NOT, one field selected in the subquery, no ORDER BY / LIMIT / OFFSET and no join
 * nested inside it (the id-or-reference rule is checked against the schema in Query.ts). A
 * statement longer than 100,000 characters, SOQL's default maximum, is refused.
 *
 * Anything else fails with MALFORMED_QUERY, positioned like Salesforce's messages
 * ("ERROR at Row:1:Column:27"). Names are resolved against the schema later (Query.ts).
 */
import { parseDate, parseDatetime, truncateToSecond } from "./Dates.js"
import { ApiError } from "./Errors.js"

/** A literal in a condition. */
export type Literal =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "null" }
  | { readonly kind: "date"; readonly value: string }
  | { readonly kind: "datetime"; readonly value: number }

/** A field name as written: one segment, or a relationship and a field (`Individual.ShouldForget`). */
export interface FieldRef {
  readonly path: ReadonlyArray<string>
  readonly pos: number
}

/** Comparison operators. */
export type Operator = "=" | "!=" | "<" | ">" | "<=" | ">="

/** A WHERE condition. */
export type Condition =
  | { readonly kind: "and"; readonly items: ReadonlyArray<Condition> }
  | { readonly kind: "or"; readonly items: ReadonlyArray<Condition> }
  | { readonly kind: "not"; readonly item: Condition }
  | {
      readonly kind: "compare"
      readonly field: FieldRef
      readonly op: Operator
      readonly value: Literal
      readonly pos: number
    }
  | {
      readonly kind: "in"
      readonly field: FieldRef
      readonly negated: boolean
      readonly values: ReadonlyArray<Literal>
      readonly pos: number
    }
  | { readonly kind: "like"; readonly field: FieldRef; readonly pattern: string; readonly pos: number }
  | {
      readonly kind: "semijoin"
      readonly field: FieldRef
      readonly negated: boolean
      readonly subquery: SubQuery
      readonly pos: number
    }

/** The subquery of a semi-join or anti-join: one id or reference field of another object's rows. */
export interface SubQuery {
  readonly select: FieldRef
  readonly from: { readonly name: string; readonly pos: number }
  readonly where: Condition | undefined
}

/** One ORDER BY item. */
export interface OrderItem {
  readonly field: FieldRef
  readonly descending: boolean
  readonly nullsLast: boolean
}

/** A parsed query. */
export interface SelectQuery {
  readonly text: string
  readonly select:
    | { readonly kind: "count" }
    | { readonly kind: "fields"; readonly fields: ReadonlyArray<FieldRef> }
  readonly from: { readonly name: string; readonly pos: number }
  readonly where: Condition | undefined
  readonly orderBy: ReadonlyArray<OrderItem>
  readonly limit: number | undefined
  readonly offset: number | undefined
}

type TokenKind = "ident" | "string" | "number" | "date" | "datetime" | "op" | "punct" | "eof"

interface Token {
  readonly kind: TokenKind
  readonly text: string
  readonly pos: number
  readonly value?: string | number
}

/** Formats a query error the way Salesforce does: the line, a caret, the row and column, the reason. */
export const positioned = (text: string, pos: number, reason: string): string => {
  const before = text.slice(0, pos)
  const row = before.split("\n").length
  const lineStart = before.lastIndexOf("\n") + 1
  const lineEnd = text.indexOf("\n", pos)
  const line = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd)
  const column = pos - lineStart + 1
  return `${line}\n${" ".repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${reason}`
}

/** A MALFORMED_QUERY failure at a position of the query. */
export const malformed = (text: string, pos: number, reason: string): ApiError =>
  new ApiError(400, [{ errorCode: "MALFORMED_QUERY", message: positioned(text, pos, reason) }])

const unsupportedKeywords = new Set([
  "GROUP",
  "HAVING",
  "WITH",
  "FOR",
  "TYPEOF",
  "USING",
  "INCLUDES",
  "EXCLUDES",
  "FIELDS",
  "ROLLUP",
  "CUBE",
  "FORMAT",
  "CONVERTCURRENCY",
  "TOLABEL"
])

const escapes: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  "'": "'",
  '"': '"',
  "\\": "\\"
}

const temporal = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))?/
const numeric = /^-?\d+(?:\.\d+)?/
const identifier = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/

const tokenize = (text: string): ReadonlyArray<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < text.length) {
    const c = text[i] ?? ""
    if (/\s/.test(c)) {
      i++
      continue
    }
    const rest = text.slice(i)
    if (c === "'") {
      let value = ""
      let j = i + 1
      for (;;) {
        const d = text[j]
        if (d === undefined) throw malformed(text, i, "unterminated string literal")
        if (d === "'") break
        if (d === "\\") {
          const e = text[j + 1]
          if (e === undefined) throw malformed(text, j, "unterminated string literal")
          // \% and \_ keep their backslash: they only mean something to LIKE.
          if (e === "%" || e === "_") value += `\\${e}`
          else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
            value += String.fromCharCode(Number.parseInt(text.slice(j + 2, j + 6), 16))
            j += 4
          } else if (escapes[e] !== undefined) value += escapes[e]
          else
            throw malformed(
              text,
              j,
              `Invalid string literal '\\${e}'. Illegal character sequence '\\${e}' in string literal.`
            )
          j += 2
          continue
        }
        value += d
        j++
      }
      tokens.push({ kind: "string", text: text.slice(i, j + 1), pos: i, value })
      i = j + 1
      continue
    }
    const t = temporal.exec(rest)
    if (t !== null && !/[0-9A-Za-z_.:]/.test(rest[t[0].length] ?? "")) {
      const kind = t[0].length > 10 ? "datetime" : "date"
      tokens.push({ kind, text: t[0], pos: i })
      i += t[0].length
      continue
    }
    const n = numeric.exec(rest)
    // SOQL has no arithmetic, so a minus before a digit always starts a negative number.
    if (n !== null) {
      tokens.push({ kind: "number", text: n[0], pos: i, value: Number(n[0]) })
      i += n[0].length
      continue
    }
    const id = identifier.exec(rest)
    if (id !== null) {
      tokens.push({ kind: "ident", text: id[0], pos: i })
      i += id[0].length
      continue
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(rest)
    if (op !== null) {
      tokens.push({ kind: "op", text: op[0] === "<>" ? "!=" : op[0], pos: i })
      i += op[0].length
      continue
    }
    if ("(),".includes(c)) {
      tokens.push({ kind: "punct", text: c, pos: i })
      i++
      continue
    }
    if (c === ":") {
      const previous = tokens.at(-1)
      if (previous?.kind === "ident" && /_N_/i.test(previous.text)) {
        throw malformed(
          text,
          previous.pos,
          `date literal ${previous.text} is not supported by the Salesforce emulator`
        )
      }
      throw malformed(text, i, "bind variables (:name) only work in Apex, not in the REST API")
    }
    throw malformed(text, i, `unexpected token: '${c}'`)
  }
  tokens.push({ kind: "eof", text: "<EOF>", pos: text.length })
  return tokens
}

class Parser {
  private i = 0
  constructor(
    private readonly text: string,
    private readonly tokens: ReadonlyArray<Token>
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token
  }

  private next(): Token {
    const t = this.peek()
    if (this.i < this.tokens.length - 1) this.i++
    return t
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset)
    return t.kind === "ident" && t.text.toUpperCase() === word
  }

  private unexpected(t: Token = this.peek()): ApiError {
    const word = t.text.toUpperCase()
    if (t.kind === "ident" && unsupportedKeywords.has(word)) {
      return malformed(this.text, t.pos, `${word} is not supported by the Salesforce emulator`)
    }
    return malformed(this.text, t.pos, `unexpected token: '${t.text}'`)
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) throw this.unexpected()
    return this.next()
  }

  private expectPunct(p: string): void {
    const t = this.peek()
    if (t.kind !== "punct" || t.text !== p) throw this.unexpected()
    this.next()
  }

  private integer(what: string): number {
    const t = this.next()
    if (t.kind !== "number" || !Number.isInteger(t.value) || (t.value as number) < 0) {
      throw malformed(this.text, t.pos, `${what} must be a non-negative integer, found '${t.text}'`)
    }
    return t.value as number
  }

  private fieldRef(): FieldRef {
    const t = this.peek()
    if (t.kind !== "ident") throw this.unexpected()
    if (this.peek(1).kind === "punct" && this.peek(1).text === "(") {
      throw malformed(this.text, t.pos, `${t.text}() is not supported by the Salesforce emulator`)
    }
    this.next()
    return { path: t.text.split("."), pos: t.pos }
  }

  query(): SelectQuery {
    this.expectKeyword("SELECT")
    const select = this.selectList()
    this.expectKeyword("FROM")
    const fromToken = this.next()
    if (fromToken.kind !== "ident" || fromToken.text.includes(".")) throw this.unexpected(fromToken)
    if (this.peek().kind === "ident" && !this.isClauseStart()) {
      throw malformed(
        this.text,
        this.peek().pos,
        "aliases after the object name are not supported by the Salesforce emulator"
      )
    }
    let where: Condition | undefined
    if (this.isKeyword("WHERE")) {
      const at = this.next()
      where = this.condition()
      this.checkJoins(where, at.pos)
    }
    const orderBy: Array<OrderItem> = []
    if (this.isKeyword("ORDER")) {
      this.next()
      this.expectKeyword("BY")
      for (;;) {
        orderBy.push(this.orderItem())
        if (this.peek().text !== ",") break
        this.next()
      }
    }
    let limit: number | undefined
    if (this.isKeyword("LIMIT")) {
      this.next()
      limit = this.integer("LIMIT")
    }
    let offset: number | undefined
    if (this.isKeyword("OFFSET")) {
      this.next()
      offset = this.integer("OFFSET")
    }
    if (this.peek().kind !== "eof") throw this.unexpected()
    return {
      text: this.text,
      select,
      from: { name: fromToken.text, pos: fromToken.pos },
      where,
      orderBy,
      limit,
      offset
    }
  }

  private isClauseStart(): boolean {
    return ["WHERE", "ORDER", "LIMIT", "OFFSET"].some((w) => this.isKeyword(w)) || this.unsupportedAhead()
  }

  private unsupportedAhead(): boolean {
    const t = this.peek()
    return t.kind === "ident" && unsupportedKeywords.has(t.text.toUpperCase())
  }

  private selectList(): SelectQuery["select"] {
    if (this.isKeyword("COUNT") && this.peek(1).text === "(") {
      const start = this.next()
      this.next()
      if (this.peek().text !== ")") {
        throw malformed(
          this.text,
          start.pos,
          "COUNT(field) is not supported by the Salesforce emulator; use COUNT()"
        )
      }
      this.next()
      return { kind: "count" }
    }
    const fields: Array<FieldRef> = []
    for (;;) {
      const t = this.peek()
      if (t.kind === "punct" && t.text === "(") {
        throw malformed(this.text, t.pos, "subqueries are not supported by the Salesforce emulator")
      }
      if (t.kind === "ident" && t.text.toUpperCase() === "FROM" && fields.length === 0)
        throw this.unexpected()
      if (t.kind === "ident" && unsupportedKeywords.has(t.text.toUpperCase())) throw this.unexpected()
      fields.push(this.fieldRef())
      if (this.peek().text !== ",") break
      this.next()
    }
    return { kind: "fields", fields }
  }

  private orderItem(): OrderItem {
    const field = this.fieldRef()
    let descending = false
    if (this.isKeyword("ASC")) this.next()
    else if (this.isKeyword("DESC")) {
      this.next()
      descending = true
    }
    // Salesforce puts nulls first when ascending and last when descending unless told otherwise.
    let nullsLast = descending
    if (this.isKeyword("NULLS")) {
      this.next()
      if (this.isKeyword("FIRST")) nullsLast = false
      else if (this.isKeyword("LAST")) nullsLast = true
      else throw this.unexpected()
      this.next()
    }
    return { field, descending, nullsLast }
  }

  private condition(): Condition {
    const first = this.term()
    const items: Array<Condition> = [first]
    let joiner: "AND" | "OR" | undefined
    while (this.isKeyword("AND") || this.isKeyword("OR")) {
      const t = this.next()
      const word = t.text.toUpperCase() as "AND" | "OR"
      if (joiner !== undefined && joiner !== word) {
        throw malformed(
          this.text,
          t.pos,
          `unexpected token: '${t.text}'. SOQL needs parentheses to mix AND and OR, e.g. a = 1 AND (b = 2 OR c = 3)`
        )
      }
      joiner = word
      items.push(this.term())
    }
    if (joiner === undefined) return first
    return joiner === "AND" ? { kind: "and", items } : { kind: "or", items }
  }

  private term(): Condition {
    const t = this.peek()
    if (t.kind === "punct" && t.text === "(") {
      this.next()
      const inner = this.condition()
      this.expectPunct(")")
      return inner
    }
    if (this.isKeyword("NOT")) {
      this.next()
      return { kind: "not", item: this.term() }
    }
    return this.comparison()
  }

  private comparison(): Condition {
    const field = this.fieldRef()
    const t = this.peek()
    if (t.kind === "op") {
      this.next()
      return { kind: "compare", field, op: t.text as Operator, value: this.literal(), pos: t.pos }
    }
    if (this.isKeyword("LIKE")) {
      this.next()
      const v = this.next()
      if (v.kind !== "string") throw malformed(this.text, v.pos, "LIKE needs a quoted string pattern")
      return { kind: "like", field, pattern: String(v.value), pos: t.pos }
    }
    let negated = false
    if (this.isKeyword("NOT") && this.isKeyword("IN", 1)) {
      this.next()
      negated = true
    }
    if (this.isKeyword("IN")) {
      this.next()
      const open = this.peek()
      if (open.text !== "(") throw this.unexpected()
      this.next()
      if (this.isKeyword("SELECT")) {
        const subquery = this.subquery()
        this.expectPunct(")")
        return { kind: "semijoin", field, negated, subquery, pos: t.pos }
      }
      const values: Array<Literal> = [this.literal()]
      while (this.peek().text === ",") {
        this.next()
        values.push(this.literal())
      }
      this.expectPunct(")")
      return { kind: "in", field, negated, values, pos: t.pos }
    }
    throw this.unexpected()
  }

  /** `SELECT field FROM Object [WHERE ...]` inside `IN (...)`, up to (not including) the `)`. */
  private subquery(): SubQuery {
    const start = this.expectKeyword("SELECT")
    if (this.peek().kind === "punct" && this.peek().text === "(") throw this.unexpected()
    const select = this.fieldRef()
    if (this.peek().text === ",") {
      throw malformed(this.text, this.peek().pos, "a semi-join subquery selects exactly one field")
    }
    this.expectKeyword("FROM")
    const fromToken = this.next()
    if (fromToken.kind !== "ident" || fromToken.text.includes(".")) throw this.unexpected(fromToken)
    let where: Condition | undefined
    if (this.isKeyword("WHERE")) {
      this.next()
      where = this.condition()
      if (joinsIn(where).length > 0) {
        throw malformed(this.text, start.pos, "a semi-join or anti-join cannot be nested in another one")
      }
    }
    for (const word of ["ORDER", "LIMIT", "OFFSET"]) {
      if (this.isKeyword(word)) {
        throw malformed(this.text, this.peek().pos, `${word} is not allowed in a semi-join subquery`)
      }
    }
    return { select, from: { name: fromToken.text, pos: fromToken.pos }, where }
  }

  /** SOQL's limits on joins in a WHERE: two at most, neither under OR nor NOT. */
  private checkJoins(where: Condition, pos: number): void {
    const joins = joinsIn(where)
    if (joins.length > 2) {
      throw malformed(this.text, joins[2]?.pos ?? pos, "no more than two semi-joins or anti-joins per WHERE")
    }
    const misplaced = joinsUnder(where, false)
    if (misplaced !== undefined) {
      throw malformed(
        this.text,
        misplaced.pos,
        "semi-joins and anti-joins cannot be combined with OR or NOT; use IN / NOT IN with AND"
      )
    }
  }

  private literal(): Literal {
    const t = this.next()
    switch (t.kind) {
      case "string":
        return { kind: "string", value: String(t.value) }
      case "number":
        return { kind: "number", value: Number(t.value) }
      case "date": {
        const d = parseDate(t.text)
        if (d === undefined) throw malformed(this.text, t.pos, `invalid date: ${t.text}`)
        return { kind: "date", value: d }
      }
      case "datetime": {
        const ms = parseDatetime(t.text)
        if (ms === undefined) throw malformed(this.text, t.pos, `invalid date: ${t.text}`)
        return { kind: "datetime", value: truncateToSecond(ms) }
      }
      case "ident": {
        const word = t.text.toUpperCase()
        if (word === "TRUE" || word === "FALSE") return { kind: "boolean", value: word === "TRUE" }
        if (word === "NULL") return { kind: "null" }
        if (
          /^[A-Z_]+$/.test(word) &&
          (word.includes("_") || ["TODAY", "YESTERDAY", "TOMORROW"].includes(word))
        ) {
          throw malformed(
            this.text,
            t.pos,
            `date literal ${t.text} is not supported by the Salesforce emulator`
          )
        }
        throw this.unexpected(t)
      }
      default:
        throw this.unexpected(t)
    }
  }
}

type Join = Extract<Condition, { readonly kind: "semijoin" }>

/** The semi-joins and anti-joins of a condition. */
const joinsIn = (c: Condition): ReadonlyArray<Join> => {
  switch (c.kind) {
    case "and":
    case "or":
      return c.items.flatMap(joinsIn)
    case "not":
      return joinsIn(c.item)
    case "semijoin":
      return [c]
    default:
      return []
  }
}

/** The first join that sits under an OR or a NOT. */
const joinsUnder = (c: Condition, guarded: boolean): Join | undefined => {
  switch (c.kind) {
    case "and":
      return c.items.map((i) => joinsUnder(i, guarded)).find((j) => j !== undefined)
    case "or":
      return c.items.map((i) => joinsUnder(i, true)).find((j) => j !== undefined)
    case "not":
      return joinsUnder(c.item, true)
    case "semijoin":
      return guarded ? c : undefined
    default:
      return undefined
  }
}

/** SOQL's default maximum statement length. */
export const maxQueryLength = 100_000

/** Parses a SOQL query of the supported subset; throws MALFORMED_QUERY otherwise. */
export const parse = (text: string): SelectQuery => {
  if (text.trim() === "")
    throw new ApiError(400, [{ errorCode: "MALFORMED_QUERY", message: "A query is required (q=...)" }])
  if (text.length > maxQueryLength) {
    throw new ApiError(400, [
      {
        errorCode: "MALFORMED_QUERY",
        message: `SOQL statements cannot be longer than ${maxQueryLength} characters (this one has ${text.length})`
      }
    ])
  }
  return new Parser(text, tokenize(text)).query()
}
