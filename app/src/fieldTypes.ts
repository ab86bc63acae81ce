// A short glyph per field type for table headers and the schema editor, so a column's
// kind shows at a glance (the type's name is in the title).
import type { FieldType } from './api/types'

const ICONS: Record<string, string> = {
  string: 'Aa', text: '¶', int: '#', float: '#.', boolean: '✓', datetime: '◷', date: '▦',
  email: '@', url: '↗', select: '☰', json: '{}', 'list[string]': '[a]', 'list[int]': '[#]',
  'list[float]': '[#.]', relation: '⇢', 'list[relation]': '[⇢]',
}

/** The glyph for a field type (system columns use `id` and `datetime`). */
export function typeIcon(type: FieldType | 'id' | string): string {
  if (type === 'id') return '⚷'
  return ICONS[type] ?? '•'
}
