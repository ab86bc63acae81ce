import { defineStore } from 'pinia'
import { ref } from 'vue'
import { tb, unwrap } from '../api/tinybase'
import type { Collection } from '../api/types'

/**
 * Every collection with its record count, for the sidebar. Pages that change records or
 * collections call `load()` (or `setCount`) so the sidebar never shows stale numbers.
 */
export const useCollections = defineStore('collections', () => {
  const items = ref<Collection[] | null>(null)
  const counts = ref<Record<string, number>>({})
  const error = ref<string | null>(null)

  async function load() {
    try {
      const list = (await unwrap(tb.api.GET('/api/collections', { params: { query: { per_page: 500 } } }))).items
      items.value = list
      error.value = null
      // One small request per collection: the list answer carries no counts.
      await Promise.all(list.map(async (c) => {
        try {
          const page = await tb.collection(c.name).list({ perPage: 1 })
          // Totals are null only with skip_total, which this request never asks for.
          counts.value[c.name] = page.total_items ?? 0
        } catch {
          delete counts.value[c.name]
        }
      }))
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e)
    }
  }

  function setCount(name: string, count: number) {
    counts.value[name] = count
  }

  return { items, counts, error, load, setCount }
})
