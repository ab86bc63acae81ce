// The colour theme: follow the system (Pico's default), or always light or dark. The
// choice is remembered in localStorage and applied as `data-theme` on <html>.
import { ref, watch } from 'vue'

export type Theme = 'system' | 'light' | 'dark'
const KEY = 'tinybase.admin.theme'
const stored = localStorage.getItem(KEY)

/** The chosen theme, shared by every component that reads or sets it. */
export const theme = ref<Theme>(stored === 'light' || stored === 'dark' ? stored : 'system')

function apply(t: Theme) {
  if (t === 'system') document.documentElement.removeAttribute('data-theme')
  else document.documentElement.setAttribute('data-theme', t)
}
apply(theme.value)
watch(theme, (t) => {
  apply(t)
  if (t === 'system') localStorage.removeItem(KEY)
  else localStorage.setItem(KEY, t)
})

/** system → light → dark → system. */
export function nextTheme() {
  theme.value = theme.value === 'system' ? 'light' : theme.value === 'light' ? 'dark' : 'system'
}
