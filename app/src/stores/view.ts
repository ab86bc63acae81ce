import { defineStore } from 'pinia'
import { ref } from 'vue'

/** The refresh button's counter: the page on screen is rebuilt (and reloads its data) when it changes. */
export const useView = defineStore('view', () => {
  const generation = ref(0)
  function refresh() {
    generation.value++
  }
  return { generation, refresh }
})
