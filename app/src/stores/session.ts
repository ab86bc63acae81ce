import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { LoginResponse, User } from '../api/types'
import { request } from '../api/client'
import { router } from '../router'

const KEY = 'tinybase.admin.token'

export const useSession = defineStore('session', () => {
  const token = ref<string | null>(localStorage.getItem(KEY))
  const user = ref<User | null>(null)
  const notice = ref<string | null>(null)
  const loggedIn = computed(() => token.value !== null)

  function set(newToken: string | null) {
    token.value = newToken
    if (newToken) localStorage.setItem(KEY, newToken)
    else localStorage.removeItem(KEY)
  }

  async function login(email: string, password: string) {
    const res = await request<LoginResponse>('POST', '/api/auth/login', {
      body: { email, password },
      auth: false,
    })
    if (!res.user.is_admin) {
      // Do not keep a token for an account that cannot use this UI.
      await fetch('/api/auth/logout', {
        method: 'POST',
        headers: { authorization: `Bearer ${res.token}` },
      }).catch(() => undefined)
      throw new Error('This account is not an admin.')
    }
    set(res.token)
    user.value = res.user
    notice.value = null
  }

  async function loadMe() {
    if (!token.value || user.value) return
    user.value = await request<User>('GET', '/api/auth/me')
  }

  async function logout() {
    try {
      if (token.value) await request<void>('POST', '/api/auth/logout', { body: {} })
    } catch {
      // Logging out locally is enough when the server no longer knows the token.
    }
    set(null)
    user.value = null
    await router.push({ name: 'login' })
  }

  /** Called on a 401 (or a 403): forget the token and go to the login page. */
  function expired(message = 'Your session has expired. Please sign in again.') {
    if (!token.value) return
    set(null)
    user.value = null
    notice.value = message
    const current = router.currentRoute.value
    if (current.name !== 'login') {
      void router.push({ name: 'login', query: { next: current.fullPath } })
    }
  }

  return { token, user, notice, loggedIn, login, loadMe, logout, expired }
})
