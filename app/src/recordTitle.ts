// How the UI names a record of another collection (relation pickers and cells): by its
// collection's title field.
import type { Collection, RecordItem } from './api/types'

const TITLE_NAMES = ['title', 'name', 'label', 'username', 'email', 'slug']

/** The field that names a collection's records: `title`, `name`, … if it has one, else its first text field. */
export function titleField(c: Collection | undefined | null): string | null {
  const fields = c?.schema.fields ?? []
  const texty = fields.filter((f) => ['string', 'text', 'email', 'url', 'select'].includes(f.type))
  return TITLE_NAMES.find((n) => texty.some((f) => f.name === n)) ?? texty[0]?.name ?? null
}

/** A record's title by `field`, or `(untitled)`. */
export function titleOf(r: Pick<RecordItem, 'data'>, field: string | null): string {
  const v = field ? r.data[field] : undefined
  return v === undefined || v === null || v === '' ? '(untitled)' : String(v)
}
