// Reading a schema form back into JSON, with messages keyed by field path the way the
// server names fields in its errors (`x`, `inner.name`, `tags[0]`).
import type { FormNode, Json, ObjectNode } from './schema'

export type FieldErrors = Record<string, string>

/** The path of a child field or item. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`
  return parent ? `${parent}.${key}` : key
}

/** The form's value, and a message per field that cannot be read. */
export function readForm(root: ObjectNode): { value: Json; errors: FieldErrors } {
  const errors: FieldErrors = {}
  const value = readObject(root, '', true, errors) ?? {}
  return { value, errors }
}

/** Every path the form shows an input (or a group) for. */
export function formPaths(root: ObjectNode): Set<string> {
  const out = new Set<string>()
  const walk = (node: FormNode, path: string) => {
    out.add(path)
    if (node.kind === 'object') node.fields.forEach((f) => walk(f.node, childPath(path, f.name)))
    if (node.kind === 'array') node.items.forEach((item, i) => walk(item, childPath(path, i)))
  }
  root.fields.forEach((f) => walk(f.node, f.name))
  return out
}

/**
 * Whether `whole` holds everything `part` says: equal, except that objects in `whole` may
 * have more keys (a form adds `false` for unticked boxes, for instance) and may leave out
 * keys that are `null` in `part` (an empty optional input).
 */
export function includes(whole: Json, part: Json): boolean {
  if (whole === part) return true
  if (typeof whole !== 'object' || typeof part !== 'object' || whole === null || part === null) return false
  if (Array.isArray(whole) || Array.isArray(part)) {
    return Array.isArray(whole) && Array.isArray(part) && whole.length === part.length &&
      part.every((v, i) => includes(whole[i]!, v))
  }
  return Object.keys(part).every((k) => (k in whole ? includes(whole[k]!, part[k]!) : part[k] === null))
}

/**
 * A node's value; `undefined` leaves it out of its object. Empty optional inputs are left
 * out, so `Option` fields become `None` and `#[serde(default)]` fields take their default.
 */
function read(node: FormNode, path: string, required: boolean, errors: FieldErrors): Json | undefined {
  switch (node.kind) {
    case 'string':
      return node.text === '' && !required ? undefined : node.text
    case 'number':
    case 'integer': {
      const text = node.text.trim()
      if (text === '') return missing(node, path, required, errors)
      const n = Number(text)
      if (!Number.isFinite(n)) errors[path] = 'must be a number'
      else if (node.kind === 'integer' && !Number.isInteger(n)) errors[path] = 'must be a whole number'
      else return n
      return undefined
    }
    case 'boolean':
    case 'enum':
      return node.value ?? missing(node, path, required, errors)
    case 'json':
      if (node.text.trim() === '') return missing(node, path, required, errors)
      try {
        return JSON.parse(node.text) as Json
      } catch {
        errors[path] = 'must be valid JSON'
        return undefined
      }
    case 'array': {
      if (node.items.length === 0 && !required) return undefined
      const out: Json[] = []
      node.items.forEach((item, i) => {
        const v = read(item, childPath(path, i), true, errors)
        if (v !== undefined) out.push(v)
      })
      return out
    }
    case 'object':
      return readObject(node, path, required, errors)
  }
}

function readObject(node: ObjectNode, path: string, required: boolean, errors: FieldErrors): Json | undefined {
  // An optional group the user left alone is left out rather than sent half empty.
  if (!required && isBlank(node)) return undefined
  const out: { [key: string]: Json } = {}
  for (const f of node.fields) {
    const v = read(f.node, childPath(path, f.name), f.required, errors)
    if (v !== undefined) out[f.name] = v
  }
  return out
}

/** No value: `null` where the schema wants one that may be null, else a message if required. */
function missing(node: FormNode, path: string, required: boolean, errors: FieldErrors): Json | undefined {
  if (!required) return undefined
  if (node.nullable) return null
  errors[path] = 'is required'
  return undefined
}

function isBlank(node: FormNode): boolean {
  switch (node.kind) {
    case 'string':
    case 'number':
    case 'integer':
    case 'json':
      return node.text.trim() === ''
    case 'boolean':
      return node.value === null || node.value === false
    case 'enum':
      return node.value === null
    case 'array':
      return node.items.length === 0
    case 'object':
      return node.fields.every((f) => isBlank(f.node))
  }
}
