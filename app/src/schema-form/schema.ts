// A form model built from a JSON Schema (draft 2020-12, as schemars writes a function's
// input): every node of the tree knows what it accepts and holds what the user typed.
//
// What becomes a form: objects with properties, strings, numbers, integers, booleans,
// enums (`enum`, or `oneOf` of `const`s), arrays of any of those, and `Option<T>` (a
// `null` alternative). Anything else inside an object (maps, tuples, untagged enums, any
// JSON) is edited as JSON in place; a root that is not an object cannot be a form at all.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type SchemaObject = { [key: string]: unknown }
export type Scalar = string | number | boolean

interface Meta {
  /** The schema's description (or title): shown as a hint under the input. */
  hint?: string
  /** `null` is allowed: an empty input means "no value". */
  nullable: boolean
}

export interface StringNode extends Meta {
  kind: 'string'
  format?: string
  text: string
}
export interface NumberNode extends Meta {
  kind: 'number' | 'integer'
  minimum?: number
  maximum?: number
  text: string
}
export interface BooleanNode extends Meta {
  kind: 'boolean'
  /** `null` (no value) only when the schema allows it. */
  value: boolean | null
}
export interface EnumNode extends Meta {
  kind: 'enum'
  options: { value: Scalar; label: string }[]
  value: Scalar | null
}
export interface JsonNode extends Meta {
  kind: 'json'
  text: string
}
export interface ArrayNode extends Meta {
  kind: 'array'
  items: FormNode[]
  /** A new, empty item. */
  newItem: () => FormNode
}
export interface ObjectNode extends Meta {
  kind: 'object'
  fields: FormField[]
}
export type FormNode = StringNode | NumberNode | BooleanNode | EnumNode | JsonNode | ArrayNode | ObjectNode

export interface FormField {
  name: string
  required: boolean
  node: FormNode
}

/** Inputs nested deeper than this (in a recursive type, say) are edited as JSON. */
const MAX_DEPTH = 8
/** The longest chain of `$ref`s followed before giving up. */
const MAX_REFS = 32

/**
 * The form for `schema`, filled with `initial`, or with the schema's defaults when there
 * is no initial value; `null` when the schema does not describe an object.
 */
export function buildForm(schema: unknown, initial?: Json): ObjectNode | null {
  if (!isObject(schema)) return null
  const node = build(new Compiler(schema, initial === undefined), schema, initial, 0)
  return node.kind === 'object' ? node : null
}

/** Resolves `$ref`s against the root's `$defs` and flattens wrappers into one schema. */
class Compiler {
  constructor(
    private root: SchemaObject,
    /** Whether empty inputs start with the schema's `default`. */
    readonly useDefaults: boolean,
  ) {}

  /** `schema` with `$ref` and single-branch `allOf` merged in; `null` when unresolvable. */
  flatten(schema: SchemaObject, depth = 0): SchemaObject | null {
    if (depth > MAX_REFS) return null
    const { $ref, allOf, ...rest } = schema
    let merged: SchemaObject = rest
    if (typeof $ref === 'string') {
      const target = this.lookup($ref)
      if (!target) return null
      const inner = this.flatten(target, depth + 1)
      if (!inner) return null
      merged = { ...inner, ...rest } // the referring schema's description wins
    }
    if (Array.isArray(allOf)) {
      if (allOf.length !== 1 || !isObject(allOf[0])) return null
      const inner = this.flatten(allOf[0], depth + 1)
      if (!inner) return null
      merged = { ...inner, ...merged }
    }
    return merged
  }

  private lookup(ref: string): SchemaObject | null {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref)
    if (!m) return null
    const defs = this.root[m[1]!]
    const name = m[2]!.replace(/~1/g, '/').replace(/~0/g, '~')
    const target = isObject(defs) ? defs[name] : undefined
    return isObject(target) ? target : null
  }
}

/** The node for `raw`, a schema nested `depth` levels into the input. */
function build(c: Compiler, raw: unknown, initial: Json | undefined, depth: number): FormNode {
  const flat = raw === true ? {} : isObject(raw) ? c.flatten(raw) : null
  const hint = flat ? describe(flat) : undefined
  if (!flat || depth > MAX_DEPTH) return jsonNode(initial, { hint, nullable: false })

  let nullable = false
  // `Option<T>` and unions: `anyOf`/`oneOf` with a `null` branch, or a list of types.
  const union = (flat.anyOf ?? flat.oneOf) as unknown
  if (Array.isArray(union)) {
    const branches = union.map((b) => (isObject(b) ? c.flatten(b) : null))
    if (branches.some((b) => b === null)) return jsonNode(initial, { hint, nullable })
    const others = (branches as SchemaObject[]).filter((b) => !isNullSchema(b))
    nullable = others.length < branches.length
    const consts = others.map(constOf)
    if (others.length > 0 && consts.every((v) => v !== undefined)) {
      const options = others.map((b, i) => ({ value: consts[i]!, label: labelOf(consts[i]!, b) }))
      return enumNode(options, initial ?? defaultOf(c, flat), { hint, nullable })
    }
    if (others.length !== 1) return jsonNode(initial, { hint, nullable })
    // One real alternative (`Option<T>`): build T, with the outer description.
    const { anyOf: _a, oneOf: _o, ...outer } = flat
    const node = build(c, { ...others[0]!, ...outer }, initial, depth + 1)
    node.nullable ||= nullable
    return node
  }

  const schema = flat
  let type = schema.type
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== 'null')
    nullable ||= types.length < type.length
    type = types.length === 1 ? types[0] : undefined
    if (types.length > 1) return jsonNode(initial, { hint, nullable })
  }
  const meta: Meta = { hint, nullable }
  const start = initial ?? defaultOf(c, schema)

  if (Array.isArray(schema.enum)) {
    const values = schema.enum.filter((v) => v !== null)
    if (values.length === 0 || !values.every(isScalar)) return jsonNode(start, meta)
    meta.nullable ||= values.length < schema.enum.length
    return enumNode(values.map((v) => ({ value: v, label: String(v) })), start, meta)
  }
  const constant = constOf(schema)
  if (constant !== undefined) return enumNode([{ value: constant, label: labelOf(constant, schema) }], start, meta)

  if (type === undefined && isObject(schema.properties)) type = 'object'
  switch (type) {
    case 'string':
      return { kind: 'string', ...meta, format: str(schema.format), text: typeof start === 'string' ? start : '' }
    case 'integer':
    case 'number':
      return {
        kind: type, ...meta, minimum: num(schema.minimum), maximum: num(schema.maximum),
        text: typeof start === 'number' ? String(start) : '',
      }
    case 'boolean':
      return { kind: 'boolean', ...meta, value: typeof start === 'boolean' ? start : meta.nullable ? null : false }
    case 'array': {
      if (!isObject(schema.items) || schema.prefixItems !== undefined) return jsonNode(start, meta)
      const items = schema.items
      const newItem = () => build(c, items, undefined, depth + 1)
      const values = Array.isArray(start) ? start : []
      return { kind: 'array', ...meta, newItem, items: values.map((v) => build(c, items, v, depth + 1)) }
    }
    case 'object': {
      if (!isObject(schema.properties)) return jsonNode(start, meta)
      const values = isObject(start) ? (start as { [key: string]: Json }) : {}
      const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []
      // Required fields first, in declaration order (the order of `required`), then the rest.
      const names = [...required.filter((n) => n in (schema.properties as SchemaObject)),
        ...Object.keys(schema.properties).filter((n) => !required.includes(n))]
      const properties = schema.properties
      const fields = names.map((name) => ({
        name,
        required: required.includes(name),
        node: build(c, properties[name], values[name], depth + 1),
      }))
      return { kind: 'object', ...meta, fields }
    }
    default:
      return jsonNode(start, meta)
  }
}

function jsonNode(initial: Json | undefined, meta: Meta): JsonNode {
  return { kind: 'json', ...meta, text: initial === undefined ? '' : JSON.stringify(initial, null, 2) }
}

function enumNode(options: EnumNode['options'], initial: Json | undefined, meta: Meta): EnumNode {
  const hit = options.find((o) => o.value === initial)
  return { kind: 'enum', ...meta, options, value: hit ? hit.value : null }
}

function isObject(v: unknown): v is SchemaObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
}
function isNullSchema(s: SchemaObject): boolean {
  return s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null) || s.const === null
}
function constOf(s: SchemaObject): Scalar | undefined {
  const v = s.const ?? (Array.isArray(s.enum) && s.enum.length === 1 ? s.enum[0] : undefined)
  return isScalar(v) ? v : undefined
}
function labelOf(value: Scalar, s: SchemaObject): string {
  const text = str(s.title) ?? str(s.description)
  return text ? `${value} — ${text}` : String(value)
}
function describe(s: SchemaObject): string | undefined {
  return str(s.description) ?? str(s.title)
}
function defaultOf(c: Compiler, s: SchemaObject): Json | undefined {
  return c.useDefaults ? (s.default as Json | undefined) : undefined
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}
