// Types of the HTTP API, taken from the generated `schema.d.ts` (`npm run gen:api`, from
// `app/openapi.json`), so a renamed or removed field fails `vue-tsc`.
import type { components } from './schema'

type S = components['schemas']

export type User = S['User']
export type CreateUser = S['CreateUser']
export type UpdateUser = S['UpdateUser']
export type Collection = S['Collection']
export type NewCollection = S['NewCollection']
export type CollectionChanges = S['CollectionChanges']
export type CollectionOptions = S['CollectionOptions']
export type FieldSpec = S['FieldSpec']
export type FieldType = S['FieldType']
export type Rule = S['Rule']
export type RecordItem = S['Record']
export type FunctionInfo = S['AdminFunctionInfo']
export type FunctionCall = S['FunctionCall']
export type CallStatus = S['CallStatus']
export type Trigger = S['Trigger']
export type Schedule = S['Schedule']
export type NewSchedule = S['NewSchedule']
export type ScheduleChanges = S['ScheduleChanges']
export type ScheduleConfig = S['ScheduleConfig']
export type Webhook = S['Webhook']
export type WebhookChanges = S['WebhookChanges']
export type DeliveryAttempt = S['DeliveryAttempt']

/** Every list answer: `{items, page, per_page, total_items, total_pages}`. */
export type Page<T> = Omit<S['Page'], 'items'> & { items: T[] }

export const FIELD_TYPES: FieldType[] = [
  'string', 'text', 'int', 'float', 'boolean', 'datetime', 'date', 'email', 'url',
  'select', 'json', 'list[string]', 'list[int]', 'list[float]', 'relation', 'list[relation]', 'file',
  'list[file]',
]
export const RULES: Rule[] = ['public', 'auth', 'owner', 'admin']
export const RULE_KEYS = ['list_rule', 'view_rule', 'create_rule', 'update_rule', 'delete_rule'] as const
