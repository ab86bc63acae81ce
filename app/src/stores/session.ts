import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { LoginResponse, User } from '../api/types'
import { ApiError, request } from '../api/client'
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

  /** Signs in; resolves to an `mfa_token` when the account also needs a TOTP code. */
  async function login(email: string, password: string): Promise<string | null> {
    let res: LoginResponse
    try {
      res = await request<LoginResponse>('POST', '/api/auth/login', {
        body: { email, password },
        auth: false,
      })
    } catch (e) {
      if (e instanceof ApiError && e.code === 'mfa_required' && typeof e.details.mfa_token === 'string') {
        return e.details.mfa_token
      }
      throw e
    }
    await start(res)
    return null
  }

  /** The second step of a sign-in with TOTP. */
  async function verifyMfa(mfaToken: string, code: string) {
    const res = await request<LoginResponse>('POST', '/api/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code },
      auth: false,
    })
    await start(res)
  }

  async function start(res: LoginResponse) {
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

  return { token, user, notice, loggedIn, login, verifyMfa, loadMe, logout, expired }
})
