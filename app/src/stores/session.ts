import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Session, User } from '@tinybase/client'
import { TinyBaseError, onForbidden, tb, tokenStore } from '../api/tinybase'
import { router } from '../router'

/**
 * The signed-in admin. The session itself (token and user, kept in localStorage) belongs
 * to the client; this store mirrors it for the views and the router, and sends the admin
 * to the login page when the client signs out because the server refused the token.
 */
export const useSession = defineStore('session', () => {
  const token = ref<string | null>(tb.auth.session?.token ?? null)
  // Null until this page load asked the server (`loadMe`) or signed in.
  const user = ref<User | null>(null)
  const notice = ref<string | null>(null)
  const loggedIn = computed(() => token.value !== null)

  tb.auth.onChange((session, reason) => {
    token.value = session?.token ?? null
    if (session === null) user.value = null
    // A 401 to the session's token: signed out elsewhere, expired, or the user is gone.
    if (reason === 'expired') toLogin('Your session has expired. Please sign in again.')
  })
  onForbidden(() => expired('This account is no longer an admin.'))

  /** Signs in; resolves to an `mfa_token` when the account also needs a TOTP code. */
  async function login(email: string, password: string): Promise<string | null> {
    let session: Session
    try {
      session = await tb.auth.login({ email, password })
    } catch (e) {
      if (e instanceof TinyBaseError && e.code === 'mfa_required' && typeof e.details?.mfa_token === 'string') {
        return e.details.mfa_token
      }
      throw e
    }
    await start(session)
    return null
  }

  /** The second step of a sign-in with TOTP. */
  async function verifyMfa(mfaToken: string, code: string) {
    await start(await tb.auth.verifyMfa(mfaToken, code))
  }

  async function start(session: Session) {
    if (!session.user.is_admin) {
      // Do not keep a token for an account that cannot use this UI.
      await tb.auth.logout().catch(() => undefined)
      throw new Error('This account is not an admin.')
    }
    user.value = session.user
    notice.value = null
  }

  async function loadMe() {
    if (!token.value || user.value) return
    user.value = await tb.auth.me()
  }

  async function logout() {
    try {
      await tb.auth.logout()
    } catch {
      // Logging out locally is enough when the server cannot be reached.
    }
    await router.push({ name: 'login' })
  }

  /** Forgets the session without asking the server, and goes to the login page. */
  function expired(message: string) {
    if (!token.value) return
    // Not `tb.auth.logout()`: the server would be asked, and concurrent requests that
    // still carry the token would then see a 401 ("expired") instead.
    tokenStore.save(null)
    token.value = null
    user.value = null
    toLogin(message)
  }

  function toLogin(message: string) {
    notice.value = message
    const current = router.currentRoute.value
    if (current.name !== 'login') {
      void router.push({ name: 'login', query: { next: current.fullPath } })
    }
  }

  return { token, user, notice, loggedIn, login, verifyMfa, loadMe, logout }
})
