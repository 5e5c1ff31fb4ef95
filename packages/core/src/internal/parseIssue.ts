/**
 * Renders schema decoding issues as "what was expected" and "where", never the actual value:
 * decoded input (records, consent events) is personal data and errors end up in logs.
 */
import { Option, type ParseResult, SchemaAST } from "effect"

/** What an issue expected, e.g. `must be a string`, `is required`, `must be one of granted, denied`. */
export const describeIssue = (issue: ParseResult.ParseIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Type":
      return issue.message !== undefined ? issue.message : `must be ${typeName(issue.ast)}`
    case "Refinement": {
      const annotated = SchemaAST.getMessageAnnotation(issue.ast)
      if (issue.kind === "Predicate" && Option.isSome(annotated)) {
        const text = annotated.value(issue)
        if (typeof text === "string") return text
      }
      return describeIssue(issue.issue)
    }
    case "Composite": {
      // A union (channel, status, an attribute value) fails as a whole: name every alternative.
      if (SchemaAST.isUnion(issue.ast)) {
        const name = typeName(issue.ast)
        if (name !== "of another type") return `must be ${name}`
      }
      const inner = Array.isArray(issue.issues) ? issue.issues[0] : issue.issues
      return inner === undefined ? "is invalid" : describeIssue(inner as ParseResult.ParseIssue)
    }
    case "Pointer":
    case "Transformation":
      return describeIssue(issue.issue)
    case "Unexpected":
      return "is not allowed"
    case "Forbidden":
      return "is invalid"
  }
}

const typeName = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "TupleType":
      return "an array"
    case "TypeLiteral":
      return "an object"
    case "Literal":
      return ast.literal === null ? "null" : `"${String(ast.literal)}"`
    case "Union": {
      const literals: Array<string> = []
      for (const t of ast.types)
        if (SchemaAST.isLiteral(t) && t.literal !== null) literals.push(String(t.literal))
      if (literals.length === ast.types.length) return `one of ${literals.join(", ")}`
      const names = ast.types.map(typeName)
      if (names.includes("of another type")) return "of another type"
      return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`
    }
    case "Refinement":
      return typeName(ast.from)
    default:
      return "of another type"
  }
}

/** The path of the first issue, e.g. `identifiers.email.0`, or "" for the whole value. */
export const issuePath = (issue: ParseResult.ParseIssue): string => pathOf(issue, []).map(String).join(".")

const pathOf = (issue: ParseResult.ParseIssue, acc: Array<PropertyKey>): Array<PropertyKey> => {
  switch (issue._tag) {
    case "Pointer": {
      const p = Array.isArray(issue.path) ? issue.path : [issue.path]
      return pathOf(issue.issue, [...acc, ...(p as Array<PropertyKey>)])
    }
    case "Composite": {
      const inner = Array.isArray(issue.issues) ? issue.issues[0] : issue.issues
      return inner === undefined ? acc : pathOf(inner as ParseResult.ParseIssue, acc)
    }
    case "Refinement":
    case "Transformation":
      return pathOf(issue.issue, acc)
    default:
      return acc
  }
}

/** Where a decoding problem is, and what it is: `file, line 3, record shop/7: field "x" must be ...`. */
export const locatedMessage = (e: {
  readonly file?: string | undefined
  readonly line?: number | undefined
  readonly record?: { readonly source: string; readonly id: string } | undefined
  readonly field: string
  readonly problem: string
}): string => {
  const where = [
    e.file,
    e.line !== undefined ? `line ${e.line}` : undefined,
    e.record !== undefined ? `record ${e.record.source}/${e.record.id}` : undefined
  ]
    .filter((x) => x !== undefined)
    .join(", ")
  return `${where === "" ? "" : `${where}: `}field "${e.field}" ${e.problem}`
}
