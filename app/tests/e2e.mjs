// Browser test of the admin UI: a real server (the `blog` example) over a temp database,
// driven through Debian's chromium with playwright-core.
//
//   npm run test:e2e       (tests/run-e2e.mjs: node --test + a closing `N passed, N failed`)
//
// TINYBASE_E2E_BIN   server binary (default: <target>/debug/blog, built with cargo if missing)
// CHROMIUM_PATH      browser (default: /usr/bin/chromium)
// E2E_SCREENSHOTS    folder for screenshots of key pages (default: the OS temp folder)
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { PLACE_ORDER, TALLY } from './stub-functions.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const shots = process.env.E2E_SCREENSHOTS || tmpdir()
const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' }

let server, browser, dir, base, github

function serverBinary() {
  if (process.env.TINYBASE_E2E_BIN) return process.env.TINYBASE_E2E_BIN
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target')
  // Always (re)build: cargo is quick when nothing changed, and a stale binary would
  // embed a stale UI.
  const built = spawnSync('cargo', ['build', '-p', 'blog'], { cwd: repo, stdio: 'inherit' })
  assert.equal(built.status, 0, 'cargo build -p blog')
  return join(target, 'debug', 'blog')
}

async function waitForHealth(url, ms = 20000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/api/health`)
      if (r.ok) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the server did not start')
}

// Starts the server on port 0 (it takes a free port itself: a port picked here first could
// be taken by someone else before the server binds it) and reads the port from its log.
function startServer() {
  return new Promise((ok, fail) => {
    const child = spawn(serverBinary(), ['serve', '--host', '127.0.0.1', '--port', '0'], {
      cwd: dir,
      env: {
        // The server refuses TINYBASE_* variables it does not know, such as this test's own.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'TINYBASE_E2E_BIN')),
        TINYBASE_DB_URL: join(dir, 'e2e.db'),
        TINYBASE_ADMIN_EMAIL: ADMIN.email,
        TINYBASE_ADMIN_PASSWORD: ADMIN.password,
        // The GitHub preset, its endpoints at the stand-in below.
        TINYBASE_AUTH_OAUTH2: JSON.stringify([{
          preset: 'github', client_id: GITHUB_CLIENT.id, client_secret: GITHUB_CLIENT.secret,
          auth_url: `${github.url}/login/oauth/authorize`, token_url: `${github.url}/login/oauth/access_token`,
          userinfo_url: `${github.url}/user`, emails_url: `${github.url}/user/emails`,
        }]),
        TINYBASE_AUTH_OAUTH2_REDIRECT_URLS: 'https://app.example.com/',
        // Warnings, and the line that says where it listens.
        RUST_LOG: 'warn,tinybase::cli=info',
      },
      stdio: ['ignore', 'inherit', 'pipe'],
    })
    let log = ''
    let listening = false
    const timer = setTimeout(() => fail(new Error(`the server did not start listening:\n${log}`)), 60000)
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk)
      if (listening) return
      log += chunk
      const found = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
      if (found) {
        listening = true
        clearTimeout(timer)
        ok({ child, url: found[1] })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (!listening) fail(new Error(`the server exited with ${code}:\n${log}`))
    })
  })
}

const GITHUB_CLIENT = { id: 'e2e-client', secret: 'e2e-secret' }

// A stand-in for GitHub on 127.0.0.1 (the outside party of a sign-in): its OAuth app
// endpoints (secret as a form field, PKCE S256, JSON only with `Accept: application/json`)
// and the REST `/user` and `/user/emails` answers, for the one account `octo`.
function startGitHub() {
  const codes = new Map()
  const tokens = new Set()
  const read = (req) => new Promise((ok) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => ok(new URLSearchParams(body)))
  })
  const json = (res, status, value) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(value))
  }
  const srv = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    const q = url.searchParams
    if (url.pathname === '/login/oauth/authorize') {
      if (q.get('client_id') !== GITHUB_CLIENT.id || q.get('code_challenge_method') !== 'S256') return json(res, 400, {})
      const code = randomBytes(8).toString('hex')
      codes.set(code, { challenge: q.get('code_challenge'), redirect: q.get('redirect_uri') })
      const to = new URL(q.get('redirect_uri'))
      to.searchParams.set('code', code)
      to.searchParams.set('state', q.get('state'))
      res.writeHead(302, { location: to.toString() })
      return res.end()
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const form = await read(req)
      const grant = codes.get(form.get('code'))
      codes.delete(form.get('code'))
      const verifier = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url')
      if (form.get('client_secret') !== GITHUB_CLIENT.secret || !grant || grant.challenge !== verifier
        || !(req.headers.accept ?? '').includes('application/json')) {
        return json(res, 200, { error: 'bad_verification_code' })
      }
      const token = `gho_${randomBytes(8).toString('hex')}`
      tokens.add(token)
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' })
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    if (!req.headers['user-agent']) return json(res, 403, { message: 'User-Agent required' })
    if (!tokens.has(token)) return json(res, 401, { message: 'Bad credentials' })
    if (url.pathname === '/user') return json(res, 200, { login: 'octo', id: 583231, email: null })
    if (url.pathname === '/user/emails') return json(res, 200, [{ email: 'octo@example.com', verified: true, primary: true }])
    json(res, 404, { message: 'Not Found' })
  })
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok({ srv, url: `http://127.0.0.1:${srv.address().port}` })))
}

/** Signs in through the GitHub stand-in as a browser would (redirects by hand). */
async function signInWithGitHub() {
  let url = `${base}/api/auth/oauth2/github/start?redirect_to=${encodeURIComponent('https://app.example.com/done')}`
  for (let hop = 0; hop < 3; hop++) {
    const r = await fetch(url, { redirect: 'manual' })
    assert.equal(r.status, 302, `${url}: ${await r.text()}`)
    url = r.headers.get('location')
  }
  const code = new URL(url).searchParams.get('code')
  const { status, body } = await call('POST', '/api/auth/oauth2/exchange', null, { code })
  assert.equal(status, 200)
  return body.user
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinybase-e2e-'))
  github = await startGitHub()
  const started = await startServer()
  server = started.child
  base = started.url
  await waitForHealth(base)
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
})

after(async () => {
  await browser?.close()
  server?.kill('SIGTERM')
  github?.srv.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})



/**
 * A fresh browser page that records every page error, console error, failed request and
 * 4xx/5xx answer from the server. `allow(status, url)` expects such an answer: the test
 * provokes it on purpose (Chromium also logs those as console errors; they pass too).
 */
async function openPage({ viewport = { width: 1280, height: 900 }, colorScheme = 'light', permissions = [] } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, permissions })
  const page = await context.newPage()
  page.setDefaultTimeout(10000)
  const problems = []
  const allowed = []
  const isAllowed = (status, url) => allowed.some((a) => a.status === status && a.url.test(url))
  page.on('pageerror', (e) => problems.push(`page error: ${e}`))
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const status = Number(/status of (\d{3})/.exec(m.text())?.[1])
    if (status && isAllowed(status, m.location().url)) return
    problems.push(`console error: ${m.text()} (${m.location().url})`)
  })
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText
    // Chromium cancels a pending icon download when the address changes and fetches it again.
    if (reason === 'net::ERR_ABORTED' && r.url() === `${base}/admin/favicon.svg`) return
    // Leaving the records page closes its realtime stream, which aborts the request (and
    // the stream's subscription request, when the page is left that quickly).
    if (reason === 'net::ERR_ABORTED' && /^\/api\/realtime(\/[0-9a-f]+\/subscriptions)?$/.test(new URL(r.url()).pathname)) return
    problems.push(`request failed: ${r.method()} ${r.url()}: ${reason}`)
  })
  page.on('response', (r) => {
    if (r.url().startsWith(base) && r.status() >= 400 && !isAllowed(r.status(), r.url())) {
      problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`)
    }
  })
  return { page, problems, allow: (status, url) => allowed.push({ status, url }) }
}

/** Runs `body(page, allow)` on a fresh page; fails on any problem `openPage` records. */
async function withPage(name, options, body) {
  const { page, problems, allow } = await openPage(options)
  try {
    await body(page, allow)
    assert.deepEqual(problems, [], 'no console errors, failed requests or unexpected error answers')
  } catch (e) {
    const shot = join(shots, `failure-${name}.png`)
    await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined)
    console.log(`screenshot of the failure: ${shot}; problems: ${JSON.stringify(problems)}`)
    throw e
  } finally {
    await page.context().close()
  }
}

/** A JSON call to the server as `token`. */
async function call(method, path, token, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : null }
}

/** The admin's session (token, expiry, user): one login for all tests, which stay under the login rate limit. */
let adminLogin
async function adminSession() {
  adminLogin ??= call('POST', '/api/auth/login', null, ADMIN)
  const { status, body } = await adminLogin
  assert.equal(status, 200)
  return body
}

/** The admin's API token. */
async function adminToken() {
  return (await adminSession()).token
}

/**
 * Signs the loaded page in as a sign-in would: `session` (a login answer) where the UI's
 * client keeps it (`@tinybase/client`'s LocalStorageTokenStore, key `tinybase.admin.session`).
 */
async function storeSession(page, session) {
  await page.evaluate((s) => localStorage.setItem('tinybase.admin.session', s), JSON.stringify(session))
}

async function login(page, email, password) {
  await page.goto(`${base}/admin/`)
  await page.waitForURL(/\/admin\/login/)
  await page.fill('input[name=email]', email)
  await page.fill('input[name=password]', password)
  await page.click('button[type=submit]')
}

test('an account that is not an admin gets a clear message', async () => {
  const r = await call('POST', '/api/auth/register', null, { email: 'ann@example.com', password: 'ann-password' })
  assert.equal(r.status, 201)
  await withPage('not-an-admin', {}, async (page) => {
    await login(page, 'ann@example.com', 'ann-password')
    await page.getByText('This account is not an admin').waitFor()
    assert.match(page.url(), /\/admin\/login/)
  })
})

test('an admin manages collections, records and functions, then logs out', async () => {
  await withPage('admin-journey', {}, async (page, allow) => {
    await login(page, ADMIN.email, ADMIN.password)
    await page.waitForURL(/\/admin\/$/)
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    await page.click('nav.top >> text=Collections')
    await page.getByRole('heading', { name: 'Collections' }).waitFor()

    // Create a collection with two fields.
    await page.click('[data-test=new-collection]')
    await page.fill('input[name=name]', 'books')
    await page.fill('input[name=label]', 'Books')
    await page.fill('input[name=field-0-name]', 'title')
    await page.check('input[name=field-0-required]')
    await page.click('[data-test=field-0-options-toggle]')
    await page.check('input[name=field-0-searchable]')
    assert.match(await page.locator('[data-test=field-0-options-toggle]').innerText(), /searchable/)
    await page.click('[data-test=add-field]')
    await page.selectOption('select[name=field-1-type]', 'int')
    // The server's per-field message shows on the field's row.
    allow(422, /\/api\/collections$/)
    await page.fill('input[name=field-1-name]', 'created_at')
    await page.click('[data-test=save-collection]')
    await page.locator('[data-test=field-row]').nth(1).locator('[data-test=field-error]').waitFor()
    assert.equal(await page.locator('[data-test=field-row]').nth(0).locator('[data-test=field-error]').count(), 0)
    await page.screenshot({ path: join(shots, 'collection-form.png'), fullPage: true })
    await page.fill('input[name=field-1-name]', 'pages')
    await page.click('[data-test=save-collection]')
    await page.waitForURL(/\/admin\/collections\/books$/)
    await page.getByText('No records yet').waitFor()
    // A searchable field gives the records page a search box.
    await page.locator('input[name=search]').waitFor()

    // A record that breaks the rules shows the field's message; a good one is listed.
    allow(422, /\/api\/collections\/books\/records$/)
    await page.click('[data-test=new-record]')
    await page.fill('[data-test=record-form] input[name=pages]', '12')
    await page.click('[data-test=save-record]')
    await page.locator('[data-test=record-field-error]').first().waitFor()
    await page.fill('[data-test=record-form] input[name=title]', 'Dune')
    await page.click('[data-test=save-record]')
    await page.locator('[data-test=records-table]').getByText('Dune').waitFor()

    // A bad filter shows the server's message next to the filter box.
    allow(400, /\/api\/collections\/books\/records\?.*filter=/)
    await page.fill('input[name=filter]', "pages > 'many'")
    await page.click('form[role=search] button[type=submit]')
    const filterError = page.locator('[data-test=filter-error]')
    await filterError.waitFor()
    assert.ok((await filterError.innerText()).length > 0)
    await page.screenshot({ path: join(shots, 'filter-error.png'), fullPage: true })
    await page.fill('input[name=filter]', 'pages >= 10')
    await page.click('form[role=search] button[type=submit]')
    await page.locator('[data-test=records-table]').getByText('Dune').waitFor()
    assert.equal(await filterError.count(), 0)
    await page.screenshot({ path: join(shots, 'records.png'), fullPage: true })

    // Edit the record, sort by a column, then delete it after confirming.
    await page.locator('[data-test=records-table] tbody tr', { hasText: 'Dune' }).getByRole('button', { name: 'Edit' }).click()
    await page.fill('[data-test=record-form] input[name=title]', 'Dune Messiah')
    await page.click('[data-test=save-record]')
    await page.locator('[data-test=records-table]').getByText('Dune Messiah').waitFor()
    await page.click('th >> text=pages')
    await page.waitForURL(/sort=pages/)
    page.once('dialog', (d) => d.accept())
    await page.locator('[data-test=records-table] tbody tr', { hasText: 'Dune Messiah' }).getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No records match this filter').waitFor()

    // Run a function and find the call in the history.
    await page.click('nav >> text=Functions')
    await page.click('[data-test=run-install_blog]')
    await page.click('[data-test=run-submit]')
    await page.locator('[data-test=run-result]').getByText('"created"').waitFor()
    await page.click('[data-test=run-close]')
    await page.click('nav >> text=Calls')
    const row = page.locator('[data-test=calls-table] tbody tr', { hasText: 'install_blog' })
    await row.getByText('succeeded').waitFor()
    await row.click()
    await page.locator('[data-test=call-detail]').getByText('manual').waitFor()
    await page.locator('[data-test=call-detail] button').click()

    // Log out: back to the login page, and the app is closed again.
    await page.click('[data-test=logout]')
    await page.waitForURL(/\/admin\/login/)
    await page.goto(`${base}/admin/users`)
    await page.waitForURL(/\/admin\/login/)
  })
})

test('the records page shows records created and deleted elsewhere as they happen', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'notes', schema: { fields: [{ name: 'title', type: 'string' }] },
  })).status, 201)
  const first = await call('POST', '/api/collections/notes/records', token, { title: 'first note' })
  assert.equal(first.status, 201)

  await withPage('live-records', {}, async (page) => {
    const streams = []
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/realtime') streams.push({ url: r.url(), ended: false })
    })
    const ended = (r) => {
      const stream = streams.find((s) => s.url === r.url() && !s.ended)
      if (stream) stream.ended = true
    }
    page.on('requestfailed', ended)
    page.on('requestfinished', ended)
    let listRequests = 0
    page.on('request', (r) => {
      if (/\/api\/collections\/notes\/records\?/.test(r.url())) listRequests++
    })

    // Signed in with the test's token (a browser login would count against the rate limit).
    await page.goto(`${base}/admin/login`)
    await page.locator('input[name=email]').waitFor() // the page is loaded: leaving aborts nothing
    await storeSession(page, await adminSession())
    await page.goto(`${base}/admin/collections`)
    await page.locator('[data-test=sidebar]').getByRole('link', { name: 'notes' }).click()
    const table = page.locator('[data-test=records-table]')
    await table.getByText('first note').waitFor()
    await page.click('th >> text=title')
    await page.waitForURL(/sort=title/)
    await page.locator('[data-test=live][data-state=live]').waitFor()
    await page.screenshot({ path: join(shots, 'live-records.png'), fullPage: true })

    // Unsaved work stays as it is: an edit form with a changed title, and filter text not
    // yet applied. A marker on `window` shows the page is never reloaded.
    await page.evaluate(() => { window.stillThisPage = true })
    await page.fill('input[name=filter]', "title ~ 'draft'")
    await table.locator('tbody tr', { hasText: 'first note' }).getByRole('button', { name: 'Edit' }).click()
    await page.fill('[data-test=record-form] input[name=title]', 'first note, edited')

    // Created over the API (not through this page): it shows up in the table.
    const created = await call('POST', '/api/collections/notes/records', token, { title: 'from elsewhere' })
    assert.equal(created.status, 201)
    await table.getByText('from elsewhere').waitFor()
    assert.equal(await page.evaluate(() => window.stillThisPage), true, 'no reload, no navigation')
    assert.match(page.url(), /\/admin\/collections\/notes\?sort=title&record=[0-9a-f-]+$/)
    assert.equal(await page.inputValue('[data-test=record-form] input[name=title]'), 'first note, edited')
    assert.equal(await page.inputValue('input[name=filter]'), "title ~ 'draft'")
    assert.deepEqual(await table.locator('tbody tr td[data-col=title]').allInnerTexts(), ['first note', 'from elsewhere'])

    // Deleted over the API: it goes away.
    assert.equal((await call('DELETE', `/api/collections/notes/records/${created.body.id}`, token)).status, 204)
    await table.locator('tbody tr', { hasText: 'from elsewhere' }).waitFor({ state: 'detached' })
    await table.getByText('first note').waitFor()
    assert.equal(await page.evaluate(() => window.stillThisPage), true, 'no reload, no navigation')

    // A burst of writes is one reload (or two), not one per write.
    const before = listRequests
    for (let i = 1; i <= 5; i++) {
      assert.equal((await call('POST', '/api/collections/notes/records', token, { title: `burst ${i}` })).status, 201)
    }
    await table.getByText('burst 5').waitFor()
    await page.waitForTimeout(500)
    assert.ok(listRequests - before <= 2, `${listRequests - before} reloads for a burst of 5 writes`)
    assert.equal(await page.inputValue('[data-test=record-form] input[name=title]'), 'first note, edited')

    // Leaving the page closes its stream (the edited form asks before dropping the change).
    page.once('dialog', (d) => d.accept())
    await page.getByRole('button', { name: 'Cancel' }).click()
    assert.equal(streams.length, 1, 'one stream for the page')
    await page.click('nav >> text=Collections')
    await page.waitForURL(/\/admin\/collections$/)
    await page.waitForFunction(() => true)
    for (let i = 0; i < 50 && !streams[0].ended; i++) await page.waitForTimeout(100)
    assert.equal(streams[0].ended, true, 'the stream is closed when leaving the page')
  })
})

test('an expired session sends the admin back to the login page', async () => {
  await withPage('expired-session', {}, async (page, allow) => {
    allow(401, /\/api\//)
    await page.goto(`${base}/admin/login`)
    await page.locator('input[name=email]').waitFor() // the page is loaded: leaving aborts nothing
    // A session whose token the server does not know (expired, or revoked elsewhere).
    await storeSession(page, { ...(await adminSession()), token: 'tb_not_a_real_token' })
    await page.goto(`${base}/admin/collections/books`)
    await page.waitForURL(/\/admin\/login/)
    await page.getByText('Your session has expired').waitFor()
  })
})

test('an admin manages users and schedules', async () => {
  await withPage('users-and-schedules', {}, async (page, allow) => {
    page.on('dialog', (d) => d.accept()) // the delete confirmations
    await login(page, ADMIN.email, ADMIN.password)
    await page.waitForURL(/\/admin\/$/)

    // Users: create, search, promote, demote, delete.
    allow(422, /\/api\/admin\/users$/)
    await page.click('nav >> text=Users')
    await page.getByRole('button', { name: 'New user' }).click()
    await page.fill('form input[name=email]', 'bob@example.com')
    await page.fill('form input[name=password]', 'short')
    await page.getByRole('button', { name: 'Create user' }).click()
    await page.getByText('must be at least 8 characters').waitFor()
    await page.fill('form input[name=password]', 'bob-password')
    await page.getByRole('button', { name: 'Create user' }).click()
    await page.fill('input[name=search]', 'bob')
    await page.getByRole('button', { name: 'Search' }).click()
    const rows = page.locator('table tbody tr')
    await rows.filter({ hasText: 'bob@example.com' }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length === 1)
    const bob = rows.filter({ hasText: 'bob@example.com' })
    await bob.getByRole('button', { name: 'Promote' }).click()
    await bob.getByText('admin', { exact: true }).waitFor()
    await bob.getByRole('button', { name: 'Demote' }).click()
    await bob.getByText('user', { exact: true }).waitFor()
    await bob.getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No users found').waitFor()

    // A user who signed in with GitHub: the row names the linked provider.
    const octo = await signInWithGitHub()
    assert.equal(octo.email, 'octo@example.com')
    await page.fill('input[name=search]', 'octo')
    await page.getByRole('button', { name: 'Search' }).click()
    const octoRow = rows.filter({ hasText: 'octo@example.com' })
    await octoRow.locator('[data-test=providers]', { hasText: 'github' }).waitFor()

    // Schedules: create, disable, enable, delete.
    allow(422, /\/api\/admin\/schedules$/)
    await page.click('nav >> text=Schedules')
    await page.getByText('No schedules yet').waitFor()
    await page.getByRole('button', { name: 'New schedule' }).click()
    await page.fill('input[name=name]', 'stats every 15 minutes')
    await page.selectOption('select[name=function_name]', 'blog_stats')
    await page.fill('input[name=timezone]', 'Mars/Olympus')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.locator('.error').first().waitFor()
    await page.fill('input[name=timezone]', 'Europe/Berlin')
    await page.getByRole('button', { name: 'Save' }).click()
    const row = page.locator('table tbody tr', { hasText: 'stats every 15 minutes' })
    await row.getByText('every 15 minutes (Europe/Berlin)').waitFor()
    await row.getByRole('button', { name: 'Disable' }).click()
    await row.getByRole('button', { name: 'Enable' }).waitFor()
    await page.screenshot({ path: join(shots, 'schedules.png'), fullPage: true })
    await row.getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No schedules yet').waitFor()
  })
})

test('an admin manages webhooks and redelivers from the delivery log', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'hooked', schema: { fields: [{ name: 'title', type: 'string' }] },
  })).status, 201)
  // A receiver on loopback: fails the first delivery, accepts the rest.
  const received = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.statusCode = received.length === 1 ? 500 : 200
      res.end('ok')
    })
  })
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok))
  const url = `http://127.0.0.1:${receiver.address().port}/hook`
  try {
    await withPage('webhooks', {}, async (page, allow) => {
      page.on('dialog', (d) => d.accept()) // the delete confirmation
      await login(page, ADMIN.email, ADMIN.password)
      await page.waitForURL(/\/admin\/$/)
      allow(422, /\/api\/admin\/webhooks$/)
      await page.click('nav >> text=Webhooks')
      await page.getByText('No webhooks yet').waitFor()
      await page.getByRole('button', { name: 'New webhook' }).click()
      // A secret is proposed; the URL must be http(s).
      assert.ok((await page.inputValue('input[name=secret]')).length >= 16)
      await page.fill('input[name=url]', 'ftp://example.com/hook')
      await page.check('input[name=collection-hooked]')
      await page.getByRole('button', { name: 'Save' }).click()
      await page.getByText('must be an http or https URL').waitFor()
      await page.fill('input[name=url]', url)
      await page.getByRole('button', { name: 'Save' }).click()
      const row = page.locator('table tbody tr', { hasText: url })
      await row.waitFor()

      assert.equal((await call('POST', '/api/collections/hooked/records', token, { title: 'hi' })).status, 201)
      await row.getByRole('button', { name: 'Deliveries' }).click()
      const log = page.locator('[data-test=delivery-log]')
      const failed = log.locator('tbody tr', { hasText: '500' })
      for (let i = 0; i < 100 && !(await failed.count()); i++) {
        await log.getByRole('button', { name: 'Refresh' }).click()
        await page.waitForTimeout(100)
      }
      await failed.first().waitFor()
      await failed.first().getByRole('button', { name: 'Redeliver' }).click()
      const delivered = log.locator('tbody tr', { hasText: 'delivered' })
      for (let i = 0; i < 100 && (await log.locator('tbody tr').count()) < 2; i++) {
        await log.getByRole('button', { name: 'Refresh' }).click()
        await page.waitForTimeout(100)
      }
      await delivered.first().waitFor()
      assert.equal(received.length, 2)
      assert.equal(received[1].body, received[0].body)
      assert.equal(received[1].headers['x-tinybase-delivery'], received[0].headers['x-tinybase-delivery'])
      await page.screenshot({ path: join(shots, 'webhooks.png'), fullPage: true })

      await row.getByRole('button', { name: 'Disable' }).click()
      await row.getByRole('button', { name: 'Enable' }).waitFor()
      await row.getByRole('button', { name: 'Delete' }).click()
      await page.getByText('No webhooks yet').waitFor()
    })
  } finally {
    receiver.close()
  }
})

test('an admin who is demoted is sent back to the login page', async () => {
  const admin = await adminToken()
  const cleo = { email: 'cleo@example.com', password: 'cleo-password', is_admin: true }
  const created = await call('POST', '/api/admin/users', admin, cleo)
  assert.equal(created.status, 201)
  await withPage('demoted', {}, async (page, allow) => {
    await login(page, cleo.email, cleo.password)
    await page.waitForURL(/\/admin\/$/)
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    // Whichever admin request comes first after the demotion gets the 403: the user list
    // opened below, or a collection count the page was still loading (which may be
    // answered before the demotion's own answer reaches this test).
    allow(403, /\/api\//)
    const demoted = await call('PATCH', `/api/admin/users/${created.body.id}`, admin, { is_admin: false })
    assert.equal(demoted.status, 200)
    if (!/\/admin\/login/.test(page.url())) {
      // The page may already be on its way to the login page, taking the link with it.
      await page.click('nav >> text=Users', { timeout: 5000 }).catch(() => {})
    }
    await page.waitForURL(/\/admin\/login/)
    await page.getByText('This account is no longer an admin').waitFor()
  })
})

test('the admin follows the system dark theme', async () => {
  for (const colorScheme of ['dark', 'light']) {
    await withPage(`theme-${colorScheme}`, { colorScheme }, async (page) => {
      await login(page, ADMIN.email, ADMIN.password)
      await page.waitForURL(/\/admin\/$/)
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
      const [background, text] = await page.evaluate(() => {
        const style = getComputedStyle(document.body)
        return [style.backgroundColor, style.color]
      })
      const dark = colorScheme === 'dark'
      assert.ok(dark ? luminance(background) < 0.2 : luminance(background) > 0.8, `${colorScheme} background: ${background}`)
      assert.ok(dark ? luminance(text) > 0.6 : luminance(text) < 0.4, `${colorScheme} text: ${text}`)
      await page.screenshot({ path: join(shots, `theme-${colorScheme}.png`), fullPage: true })
    })
  }
})

/** The relative luminance (0 black … 1 white) of an opaque CSS `rgb(…)` colour; NaN otherwise. */
function luminance(css) {
  const [r, g, b, alpha = 1] = css.match(/[\d.]+/g).map(Number)
  if (alpha !== 1) return NaN // a see-through background says nothing about the theme
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
}

test('on a 375 px phone every page fits the screen, and the menu navigates', async () => {
  const token = await adminToken()
  const installed = await call('POST', '/api/functions/install_blog', token)
  assert.equal(installed.status, 200)
  assert.equal((await call('POST', '/api/functions/blog_stats', token, {})).status, 200)
  const fields = ['title', 'description', 'maker', 'homepage', 'colour', 'country', 'notes']
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'gadgets',
    label: 'Gadgets with a rather long label',
    schema: { fields: fields.map((name) => ({ name, type: 'string' })) },
  })).status, 201)
  const record = Object.fromEntries(fields.map((f) => [f, `a long ${f} that needs room to be shown in full`]))
  assert.equal((await call('POST', '/api/collections/gadgets/records', token, record)).status, 201)
  const schedule = await call('POST', '/api/admin/schedules', token, {
    name: 'hourly stats', function_name: 'blog_stats', is_active: false,
    schedule: { method: 'interval', unit: 'hours', value: 1, timezone: 'Europe/Berlin' },
  })
  assert.equal(schedule.status, 201)

  await withPage('phone', { viewport: { width: 375, height: 800 } }, async (page) => {
    const fits = async (what) => {
      const [wide, screen] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth])
      assert.ok(wide <= screen, `${what}: the page is ${wide} px wide on a ${screen} px screen`)
    }
    const menu = page.locator('[data-test=menu-toggle]')
    const link = (name) => page.locator('#top-menu').getByRole('link', { name, exact: true })
    /** Opens the menu, follows one of its links and sees the menu fold away again. */
    const via = async (name, url) => {
      assert.equal(await link(name).isVisible(), false, 'the sections hide behind the menu button')
      await menu.click()
      assert.equal(await menu.getAttribute('aria-expanded'), 'true')
      await fits('the open menu')
      await link(name).click()
      await page.waitForURL(url)
      await link(name).waitFor({ state: 'hidden' })
      assert.equal(await menu.getAttribute('aria-expanded'), 'false')
    }

    await page.goto(`${base}/admin/login`)
    await page.locator('input[name=email]').waitFor()
    await fits('login')
    await page.fill('input[name=email]', ADMIN.email)
    await page.fill('input[name=password]', ADMIN.password)
    await page.click('button[type=submit]')
    await page.waitForURL(/\/admin\/$/)
    await page.getByRole('link', { name: 'gadgets' }).waitFor()
    await page.locator('[data-test=calls-chart]').waitFor()
    await fits('dashboard')
    await page.screenshot({ path: join(shots, 'phone-dashboard.png'), fullPage: true })

    // The collections sidebar is a drawer behind a button, closed again after a pick.
    const drawer = page.locator('[data-test=sidebar]')
    assert.equal(await drawer.isVisible(), false, 'the sidebar hides on a phone')
    await page.click('[data-test=sidebar-toggle]')
    await drawer.getByRole('link', { name: 'gadgets' }).waitFor()
    await fits('the collections drawer')
    await page.screenshot({ path: join(shots, 'phone-drawer.png') })
    await drawer.getByRole('link', { name: 'gadgets' }).click()
    await page.waitForURL(/\/admin\/collections\/gadgets$/)
    await drawer.waitFor({ state: 'hidden' })

    // Records: the wide table scrolls inside its own box, not the page.
    const table = page.locator('[data-test=records-table]')
    await table.waitFor()
    await fits('records')
    const [inner, box] = await table.evaluate((t) => [t.parentElement.scrollWidth, t.parentElement.clientWidth])
    assert.ok(inner > box, `the records table (${inner} px) scrolls inside its ${box} px box`)
    await page.screenshot({ path: join(shots, 'phone-records.png'), fullPage: true })
    await table.getByRole('button', { name: 'Edit' }).click()
    await page.locator('[data-test=record-form]').waitFor()
    await fits('record form')
    // Measured once it has slid in: mid-animation it is still partly off the screen.
    const phoneDrawer = page.locator('[data-test=record-drawer]')
    await phoneDrawer.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)))
    const panel = await phoneDrawer.boundingBox()
    assert.ok(panel.x >= 0 && panel.width <= 375, `the record drawer fits the phone: ${JSON.stringify(panel)}`)
    await page.screenshot({ path: join(shots, 'phone-record-drawer.png') })
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.getByRole('button', { name: 'Edit schema' }).click()
    await page.locator('input[name=field-6-name]').waitFor()
    await fits('collection editor')

    await via('Users', /\/admin\/users$/)
    await page.locator('table tbody tr', { hasText: ADMIN.email }).waitFor()
    await fits('users')
    await page.getByRole('button', { name: 'New user' }).click()
    await fits('new user form')

    await via('Functions', /\/admin\/functions$/)
    await page.click('[data-test=run-publish_post]')
    await page.locator('[data-test=run-panel]').waitFor()
    await fits('run dialog')
    await page.locator('[data-test=run-panel]').getByRole('button', { name: 'Close' }).click()

    await via('Schedules', /\/admin\/schedules$/)
    await page.locator('table tbody tr', { hasText: 'hourly stats' }).waitFor()
    await fits('schedules')
    await page.getByRole('button', { name: 'New schedule' }).click()
    await fits('schedule form')

    await via('Calls', /\/admin\/calls$/)
    await page.locator('[data-test=calls-table] tbody tr', { hasText: 'blog_stats' }).first().click()
    await page.locator('[data-test=call-detail]').waitFor()
    await fits('call details')
    await page.screenshot({ path: join(shots, 'phone-call.png'), fullPage: true })
    await page.locator('[data-test=call-detail] button').click()

    await via('Collections', /\/admin\/collections$/)
    await page.click('[data-test=new-collection]')
    await page.locator('input[name=field-0-name]').waitFor()
    await fits('new collection')

    await page.goto(`${base}/admin/no/such/page`)
    await page.getByText('Page not found').waitFor()
    await fits('not found')

    // The menu also holds the way out.
    await menu.click()
    await page.click('[data-test=logout]')
    await page.waitForURL(/\/admin\/login/)
  })
  assert.equal((await call('DELETE', `/api/admin/schedules/${schedule.body.id}`, token)).status, 204)
})

test('Run… builds a form from the function input schema', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/functions/install_blog', token)).status, 200)
  const post = await call('POST', '/api/collections/posts/records', token, { title: 'Hello' })
  assert.equal(post.status, 201)

  await withPage('run-form', {}, async (page, allow) => {
    // Two functions the blog lacks join the real list; calls to them are answered here.
    await page.route('**/api/admin/functions', async (route) => {
      const response = await route.fetch()
      await route.fulfill({ response, json: [...(await response.json()), PLACE_ORDER, TALLY] })
    })
    const sent = []
    await page.route('**/api/functions/place_order', async (route) => {
      sent.push(route.request().postDataJSON())
      await route.fulfill({ json: { placed: true } })
    })
    await login(page, ADMIN.email, ADMIN.password)
    await page.waitForURL(/\/admin\/$/)
    await page.click('nav >> text=Functions')
    const form = page.locator('[data-test=run-form]')
    const field = (name) => form.locator(`[name="${name}"]`)
    const labelOf = (name) => form.locator('label', { has: page.locator(`[name="${name}"]`) })
    const toggle = form.locator('[data-test=as-json]')

    // A real function: one required string with its description as the hint.
    await page.click('[data-test=run-publish_post]')
    await field('post_id').waitFor()
    assert.equal(await labelOf('post_id').locator('abbr.required').count(), 1)
    await labelOf('post_id').getByText("The post's record id.").waitFor()
    allow(404, /\/api\/functions\/publish_post$/)
    await field('post_id').fill('no-such-post')
    await page.click('[data-test=run-submit]')
    await page.locator('[data-test=run-error]').getByText('no record with this id').waitFor()
    await field('post_id').fill(post.body.id)
    await page.click('[data-test=run-submit]')
    await page.locator('[data-test=run-result]').getByText('"published": true').waitFor()
    // The same input as JSON, and back.
    await toggle.check()
    assert.deepEqual(JSON.parse(await form.locator('textarea[name=input]').inputValue()), { post_id: post.body.id })
    await toggle.uncheck()
    assert.equal(await field('post_id').inputValue(), post.body.id)
    await page.click('[data-test=run-close]')

    // Many field types: an input for each, required markers and hints.
    await page.click('[data-test=run-place_order]')
    await field('customer').waitFor()
    for (const name of ['customer', 'quantity', 'weight', 'priority', 'address.street']) {
      assert.equal(await labelOf(name).locator('abbr.required').count(), 1, `${name} is marked required`)
    }
    for (const name of ['notes', 'carrier', 'express', 'address.zip']) {
      assert.equal(await labelOf(name).locator('abbr.required').count(), 0, `${name} is optional`)
    }
    await labelOf('quantity').getByText('How many.').waitFor()
    await form.locator('fieldset[data-path=address]').getByText('Where to ship it.').waitFor()
    assert.equal(await field('quantity').getAttribute('type'), 'number')
    assert.equal(await field('gift').getAttribute('type'), 'checkbox')
    assert.equal(await field('extra').evaluate((e) => e.tagName), 'TEXTAREA')
    assert.deepEqual(await field('priority').locator('option').allInnerTexts(), ['—', 'low', 'normal', 'high'])
    assert.deepEqual(await field('carrier').locator('option').allInnerTexts(), ['—', 'post — By post.', 'courier — By courier.'])

    // Wrong values are caught before anything is sent.
    await field('customer').fill('Ada')
    await field('quantity').fill('2.5')
    await page.click('[data-test=run-submit]')
    await labelOf('quantity').getByText('must be a whole number').waitFor()
    await labelOf('weight').getByText('is required').waitFor()
    assert.equal(sent.length, 0)

    await field('quantity').fill('3')
    await field('weight').fill('1.25')
    await field('gift').check()
    await field('priority').selectOption('high')
    await field('carrier').selectOption('courier')
    await form.locator('[data-test="add-tags"]').click()
    await form.locator('[data-test="add-tags"]').click()
    await field('tags[0]').fill('red')
    await field('tags[1]').fill('blue')
    await form.locator('[data-test="add-lucky_numbers"]').click()
    await field('lucky_numbers[0]').fill('7')
    await field('address.street').fill('1 Main St')
    await field('extra').fill('{"wrap": "blue paper"}')
    await page.screenshot({ path: join(shots, 'run-form.png'), fullPage: true })
    await page.click('[data-test=run-submit]')
    await page.locator('[data-test=run-result]').getByText('"placed": true').waitFor()
    const expected = {
      customer: 'Ada', quantity: 3, weight: 1.25, gift: true, priority: 'high', carrier: 'courier',
      tags: ['red', 'blue'], lucky_numbers: [7], address: { street: '1 Main St' }, extra: { wrap: 'blue paper' },
    }
    assert.deepEqual(sent, [expected])

    // Raw JSON instead: it carries the form's value, and edits to it come back to the form.
    await toggle.check()
    const json = form.locator('textarea[name=input]')
    assert.deepEqual(JSON.parse(await json.inputValue()), expected)
    await json.fill(JSON.stringify({ ...expected, customer: 'Grace', notes: 'ring twice', express: false }))
    await toggle.uncheck()
    assert.equal(await field('customer').inputValue(), 'Grace')
    assert.equal(await field('notes').inputValue(), 'ring twice')
    assert.equal(await field('express').evaluate((select) => select.selectedOptions[0].textContent), 'false')
    // JSON the form cannot show stays JSON.
    await toggle.check()
    await json.fill('{"customer": "Ada", "coupon": "SAVE10"}')
    await toggle.click()
    await form.locator('[data-test=mode-error]').waitFor()
    assert.equal(await toggle.isChecked(), true)
    await json.fill('{"customer": ')
    await page.click('[data-test=run-submit]')
    await page.locator('[data-test=run-error]').getByText('not valid JSON').waitFor()
    assert.equal(sent.length, 1)
    await page.click('[data-test=run-close]')

    // A schema that cannot be a form: JSON only.
    await page.click('[data-test=run-tally]')
    await form.locator('[data-test=json-only]').waitFor()
    assert.equal(await toggle.count(), 0)
    await form.locator('textarea[name=input]').waitFor()
  })
})

test('at 1440 px: the sidebar, the records table, bulk delete, columns, keys, API preview, theme', async () => {
  const token = await adminToken()
  const long = 'A rather long title that would wrap over several lines in a narrow column, but here stays on one line'
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'articles',
    schema: { fields: [
      { name: 'title', type: 'string', required: true, min_length: 1, max_length: 200, searchable: true },
      { name: 'published', type: 'boolean' },
      { name: 'meta', type: 'json' },
      { name: 'rating', type: 'int' },
    ] },
  })).status, 201)
  const ids = []
  for (let i = 1; i <= 25; i++) {
    const r = await call('POST', '/api/collections/articles/records', token,
      { title: i === 1 ? long : `article ${String(i).padStart(2, '0')}`, published: i % 2 === 0, meta: { n: i }, rating: i })
    assert.equal(r.status, 201)
    ids.push(r.body.id)
  }
  const count = async () => (await call('GET', '/api/collections/articles/records?per_page=1', token)).body.total_items

  await withPage('wide', { viewport: { width: 1440, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] }, async (page) => {
    await page.goto(`${base}/admin/login`)
    await page.locator('input[name=email]').waitFor() // the page is loaded: leaving aborts nothing
    await storeSession(page, await adminSession())
    await page.goto(`${base}/admin/collections`)

    // The sidebar lists every collection with its record count, and its search box filters them.
    const sidebar = page.locator('[data-test=sidebar]')
    const articles = sidebar.locator('a[data-collection=articles]')
    await articles.locator('[data-test=count]', { hasText: '25' }).waitFor()
    assert.ok(await sidebar.locator('a[data-collection]').count() >= 2)
    await page.fill('[data-test=collection-search]', 'ARTIC')
    assert.deepEqual(await sidebar.locator('a[data-collection]').evaluateAll((as) => as.map((a) => a.dataset.collection)), ['articles'])
    await page.fill('[data-test=collection-search]', 'no such thing')
    await sidebar.locator('[data-test=sidebar-empty]').waitFor()
    await page.fill('[data-test=collection-search]', '')
    await articles.click()
    await page.waitForURL(/\/admin\/collections\/articles$/)
    assert.equal(await page.locator('[data-test=breadcrumbs]').innerText().then((t) => t.replace(/\s+/g, ' ').trim()), 'Collections articles')
    assert.match(await articles.getAttribute('class'), /active/)

    // The table fills the width, one line per record, the full value in the cell's title.
    const table = page.locator('[data-test=records-table]')
    const rows = table.locator('tbody tr')
    await table.getByText('article 20').waitFor()
    await table.locator('th[data-col=rating]').click()
    await page.waitForURL(/sort=rating/)
    await table.locator('tbody tr:first-child td[data-col=rating]', { hasText: /^1$/ }).waitFor()
    assert.equal(await rows.count(), 20)
    const width = (await table.boundingBox()).width
    assert.ok(width > 1440 * 0.7, `the table is ${width} px wide at 1440 px`)
    const heights = await rows.evaluateAll((trs) => trs.map((tr) => tr.getBoundingClientRect().height))
    assert.ok(Math.max(...heights) - Math.min(...heights) < 2, `every row is one line: ${heights}`)
    const longCell = rows.filter({ hasText: 'A rather long' }).locator('td[data-col=title]')
    assert.equal(await longCell.getAttribute('title'), long)
    assert.ok(await longCell.evaluate((td) => td.scrollWidth > td.clientWidth), 'the long title is cut')
    assert.deepEqual(await table.locator('thead th[data-col] .type-icon').evaluateAll((s) => s.map((e) => e.title)),
      ['id', 'string', 'boolean', 'json', 'int', 'datetime', 'datetime'])
    const second = table.locator(`tr[data-id="${ids[1]}"]`)
    assert.equal(await second.locator('.badge').innerText(), 'true')
    assert.equal(await second.locator('code.inline-json').innerText(), '{"n":2}')
    // The id chip copies the whole id.
    await second.locator('[data-test=id-chip]').click()
    await second.locator('[data-test=id-chip]', { hasText: 'copied' }).waitFor()
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), ids[1])
    await page.screenshot({ path: join(shots, 'wide-records.png') })

    // Hidden columns stay hidden after a reload, for this collection only.
    await page.locator('[data-test=columns-menu] summary').click()
    await page.locator('[data-test=columns-menu] input[name=column-rating]').uncheck()
    await page.locator('[data-test=columns-menu] input[name=column-updated_at]').uncheck()
    assert.equal(await table.locator('th[data-col=rating]').count(), 0)
    await page.reload()
    await table.getByText('article 20').waitFor()
    assert.equal(await table.locator('th[data-col=rating], td[data-col=rating]').count(), 0)
    assert.equal(await table.locator('th[data-col=updated_at]').count(), 0)
    assert.equal(await table.locator('th[data-col=title]').count(), 1)

    // Keyboard: arrows move the highlighted row, space and x tick it, Enter opens it.
    await table.focus()
    const cursorId = () => table.locator('tbody tr.cursor').getAttribute('data-id')
    assert.equal(await cursorId(), ids[0])
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    assert.equal(await cursorId(), ids[2])
    await page.keyboard.press('Space')
    await page.keyboard.press('ArrowUp')
    assert.equal(await cursorId(), ids[1])
    await page.keyboard.press('x')
    assert.deepEqual(await table.locator('tbody tr[aria-selected=true]').evaluateAll((trs) => trs.map((tr) => tr.dataset.id)), [ids[1], ids[2]])
    await page.locator('[data-test=bulk-bar]').getByText('2 selected').waitFor()
    await page.keyboard.press('Enter')
    await page.locator('[data-test=record-form]').waitFor()
    assert.equal(await page.inputValue('[data-test=record-form] input[name=title]'), 'article 02')
    await page.getByRole('button', { name: 'Cancel' }).click()

    // Bulk delete asks first: dismissed, nothing goes; accepted, exactly the ticked records go.
    const asked = []
    page.once('dialog', (d) => { asked.push(d.message()); return d.dismiss() })
    await page.click('[data-test=bulk-delete]')
    assert.match(asked[0], /Delete 2 records/)
    assert.equal(await count(), 25)
    page.once('dialog', (d) => d.accept())
    await page.click('[data-test=bulk-delete]')
    await table.locator(`tr[data-id="${ids[1]}"]`).waitFor({ state: 'detached' })
    await table.locator(`tr[data-id="${ids[2]}"]`).waitFor({ state: 'detached' })
    assert.equal(await count(), 23)
    for (const id of [ids[1], ids[2]]) {
      assert.equal((await call('GET', `/api/collections/articles/records/${id}`, token)).status, 404)
    }
    assert.equal((await call('GET', `/api/collections/articles/records/${ids[3]}`, token)).status, 200)
    await articles.locator('[data-test=count]', { hasText: '23' }).waitFor()
    assert.equal(await page.locator('[data-test=bulk-bar]').count(), 0)

    // The search box finds records by the words of their searchable fields, and says so
    // in the address.
    await page.fill('input[name=search]', 'article 07')
    await page.click('form[role=search] button[type=submit]')
    await page.waitForURL(/search=article/)
    await table.locator(`tr[data-id="${ids[4]}"]`).waitFor({ state: 'detached' })
    await table.locator(`tr[data-id="${ids[6]}"]`).waitFor()
    assert.equal(await table.locator('tbody tr').count(), 1)
    await page.fill('input[name=search]', '')
    await page.click('form[role=search] button[type=submit]')
    await table.locator(`tr[data-id="${ids[4]}"]`).waitFor()

    // API preview: the list and create requests, run as shown, work against this server.
    await page.fill('input[name=filter]', 'rating >= 20')
    await page.click('form[role=search] button[type=submit]')
    await page.waitForURL(/filter=/)
    await page.click('[data-test=api-preview]')
    const panel = page.locator('[data-test=api-preview-panel]')
    const listText = await panel.locator('[data-test=preview-list]').innerText()
    assert.ok(listText.includes(`${base}/api/collections/articles/records?`), listText)
    await panel.locator('[data-test=copy-list]').click()
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), listText)
    const run = (cmd) => {
      const r = spawnSync('sh', ['-c', cmd], { env: { ...process.env, TINYBASE_TOKEN: token }, encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      return JSON.parse(r.stdout)
    }
    const listed = run(`${listText} --silent --fail`)
    assert.deepEqual(listed.items.map((r) => r.data.rating).sort((a, b) => a - b), [20, 21, 22, 23, 24, 25])
    const created = run(`${await panel.locator('[data-test=preview-create]').innerText()} --silent --fail`)
    assert.equal(typeof created.id, 'string')
    assert.equal(await count(), 24)
    await panel.locator('[data-test=preview-ts]').click()
    assert.match(await panel.locator('[data-test=preview-create]').innerText(), /await fetch\(".*\/api\/collections\/articles\/records", \{\n  method: 'POST'/)
    await page.screenshot({ path: join(shots, 'wide-api-preview.png') })
    await page.click('[data-test=preview-close]')

    // The refresh button reloads the page and the sidebar: a collection made elsewhere appears.
    assert.equal((await call('POST', '/api/collections', token, { name: 'tags', schema: { fields: [{ name: 'label', type: 'string' }] } })).status, 201)
    assert.equal(await sidebar.locator('a[data-collection=tags]').count(), 0)
    await page.click('[data-test=refresh]')
    await sidebar.locator('a[data-collection=tags] [data-test=count]', { hasText: '0' }).waitFor()

    // Schema editor: a compact row per field, labelled options behind the gear.
    await page.getByRole('button', { name: 'Edit schema' }).click()
    await page.locator('input[name=field-0-name]').waitFor()
    assert.equal(await page.locator('[data-test=field-options]').count(), 0)
    assert.match(await page.locator('[data-test=field-0-options-toggle]').innerText(), /1–200 chars/)
    await page.click('[data-test=field-0-options-toggle]')
    const options = page.locator('[data-test=field-options]')
    assert.equal(await options.getByLabel('Min length').inputValue(), '1')
    assert.equal(await options.getByLabel('Max length').inputValue(), '200')
    assert.equal(await options.getByLabel('Minimum').count(), 0, 'no numeric bounds on a string')
    await options.getByLabel('Max length').fill('120')
    await page.screenshot({ path: join(shots, 'wide-schema.png') })
    await page.click('[data-test=save-collection]')
    await page.waitForURL(/\/admin\/collections\/articles$/)
    const schema = (await call('GET', '/api/collections/articles', token)).body.schema.fields
    assert.equal(schema[0].max_length, 120)
    assert.equal(schema[0].min_length, 1)

    // Theme: auto → light → dark, remembered across a reload.
    const toggle = page.locator('[data-test=theme-toggle]')
    assert.equal(await toggle.getAttribute('data-theme-choice'), 'system')
    await toggle.click()
    await toggle.click()
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark')
    await page.reload()
    await table.waitFor()
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark')
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    assert.ok(luminance(background) < 0.2, `dark background: ${background}`)
    await page.screenshot({ path: join(shots, 'wide-dark.png') })
    await toggle.click()
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), undefined)
  })
})

test('an admin uploads an image, sees its preview, is told a fake image is refused, and removes it', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'photos',
    schema: { fields: [{ name: 'caption', type: 'string' }, { name: 'picture', type: 'file', mime_types: ['image/*'] }] },
  })).status, 201)
  // A real 1×1 PNG (what the server sniffs), and a text file that only claims to be one.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==', 'base64')
  const fake = Buffer.from('not an image at all')

  await withPage('file-upload', {}, async (page, allow) => {
    await page.goto(`${base}/admin/login`)
    await page.locator('input[name=email]').waitFor() // the page is loaded: leaving aborts nothing
    await storeSession(page, await adminSession())
    await page.goto(`${base}/admin/collections/photos`)
    const form = page.locator('[data-test=record-form]')

    // The fake is judged by its content, not its name: the field says why, nothing is stored.
    allow(422, /\/api\/collections\/photos\/records$/)
    await page.click('[data-test=new-record]')
    await form.locator('input[name=caption]').fill('sunset')
    await form.locator('input[type=file][name=picture]').setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: fake })
    await page.click('[data-test=save-record]')
    await form.locator('[data-test=record-field-error]').waitFor()
    assert.match(await form.locator('[data-test=record-field-error]').innerText(), /image/)
    assert.equal((await call('GET', '/api/collections/photos/records', token)).body.total_items, 0)

    // The real image is stored, and the edit form previews it through a file token.
    await form.locator('input[type=file][name=picture]').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: png })
    await page.click('[data-test=save-record]')
    const table = page.locator('[data-test=records-table]')
    await table.getByText('sunset', { exact: true }).waitFor()
    const stored = (await call('GET', '/api/collections/photos/records', token)).body.items[0]
    assert.match(stored.data.picture, /\.png$/)
    await table.locator('tbody tr', { hasText: 'sunset' }).getByRole('button', { name: 'Edit' }).click()
    const preview = form.locator('[data-test=record-file-preview]')
    await preview.waitFor()
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-test=record-file-preview]')
      return img && img.complete && img.naturalWidth > 0
    })
    assert.ok((await preview.getAttribute('src')).includes(stored.data.picture), 'the preview shows the uploaded picture')
    await page.screenshot({ path: join(shots, 'file-upload.png'), fullPage: true })

    // Remove it: the record keeps its caption, the file is gone from the server.
    await form.locator('[data-test=record-file]').getByLabel('remove').check()
    await page.click('[data-test=save-record]')
    await form.waitFor({ state: 'hidden' })
    const after = (await call('GET', `/api/collections/photos/records/${stored.id}`, token)).body
    assert.deepEqual(after.data, { caption: 'sunset' })
    const download = await fetch(`${base}/api/files/photos/${stored.id}/${stored.data.picture}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(download.status, 404)
  })
})

/** Signs the page in with the test's admin session (a browser login would count against the rate limit). */
async function signIn(page) {
  await page.goto(`${base}/admin/login`)
  await page.locator('input[name=email]').waitFor() // the page is loaded: leaving aborts nothing
  await storeSession(page, await adminSession())
}

test('the record drawer: an input per field type, a relation picker, errors beside their fields, save and delete', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'authors', schema: { fields: [{ name: 'name', type: 'string', required: true }] },
  })).status, 201)
  const ada = (await call('POST', '/api/collections/authors/records', token, { name: 'Ada Lovelace' })).body
  const grace = (await call('POST', '/api/collections/authors/records', token, { name: 'Grace Hopper' })).body
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'essays',
    schema: { fields: [
      { name: 'title', type: 'string', required: true, max_length: 40 },
      { name: 'body', type: 'text' },
      { name: 'rating', type: 'int', min: 1, max: 5 },
      { name: 'score', type: 'float' },
      { name: 'featured', type: 'boolean' },
      { name: 'published_at', type: 'datetime' },
      { name: 'due', type: 'date' },
      { name: 'contact', type: 'email' },
      { name: 'link', type: 'url' },
      { name: 'status', type: 'select', values: ['draft', 'published'] },
      { name: 'meta', type: 'json' },
      { name: 'tags', type: 'list[string]' },
      { name: 'sizes', type: 'list[int]' },
      { name: 'author', type: 'relation', collection: 'authors' },
    ] },
  })).status, 201)
  const list = async () => (await call('GET', '/api/collections/essays/records', token)).body.items

  await withPage('record-drawer', { viewport: { width: 1440, height: 900 } }, async (page, allow) => {
    let posts = 0
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/collections/essays/records') posts++
    })
    await signIn(page)
    await page.goto(`${base}/admin/collections/essays`)
    await page.getByText('No records yet').waitFor()

    // "New record" slides the drawer in from the right; the page stays beside it.
    await page.click('[data-test=new-record]')
    const drawer = page.locator('[data-test=record-drawer]')
    await drawer.waitFor()
    await page.waitForFunction(() => {
      const box = document.querySelector('[data-test=record-drawer]').getBoundingClientRect()
      return Math.abs(box.right - window.innerWidth) < 1
    })
    const box = await drawer.boundingBox()
    assert.ok(box.x > 0 && box.width <= 1440 * 0.6 && box.height >= 899, `a side panel: ${JSON.stringify(box)}`)
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'title', 'the first input has the focus')
    // The page behind is covered: Tab goes round the panel, never behind it.
    const inDrawer = () => page.evaluate(() => !!document.activeElement?.closest('[data-test=record-drawer]'))
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.press('Shift+Tab')
    assert.equal(await inDrawer(), true, 'Shift+Tab stays in the drawer')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'title', 'and Tab comes back round')

    // One input suited to each type, with the field's bounds.
    const field = (name) => drawer.locator(`[data-field=${name}]`)
    const input = (name) => field(name).locator(`[name=${name}]`)
    const chips = (name) => field(name).locator('[data-test=chip]').evaluateAll((cs) => cs.map((c) => c.dataset.value))
    const attrs = (name) => input(name).evaluate((e) => ({ tag: e.tagName.toLowerCase(), type: e.getAttribute('type'), min: e.getAttribute('min'), max: e.getAttribute('max'), step: e.getAttribute('step') }))
    assert.deepEqual(await attrs('title'), { tag: 'input', type: 'text', min: null, max: null, step: null })
    assert.equal((await attrs('body')).tag, 'textarea')
    assert.deepEqual(await attrs('rating'), { tag: 'input', type: 'number', min: '1', max: '5', step: '1' })
    assert.deepEqual(await attrs('score'), { tag: 'input', type: 'number', min: null, max: null, step: 'any' })
    assert.equal((await attrs('featured')).type, 'checkbox')
    assert.equal((await attrs('published_at')).type, 'datetime-local')
    assert.equal((await attrs('due')).type, 'date')
    assert.equal((await attrs('contact')).type, 'email')
    assert.equal((await attrs('link')).type, 'url')
    assert.deepEqual(await input('status').locator('option').allInnerTexts(), ['—', 'draft', 'published'])
    assert.equal((await attrs('meta')).tag, 'textarea')
    assert.match(await field('rating').locator('.field-hint').innerText(), /int · 1–5/)
    assert.match(await field('title').locator('.field-hint').innerText(), /≤ 40 chars · required/)
    const search = field('author').getByRole('combobox')
    assert.match(await search.getAttribute('placeholder'), /search authors by name/)

    // JSON is checked as it is typed; while it does not parse, Save sends nothing.
    await input('title').fill('On engines')
    await input('meta').fill('{"pages": ')
    await field('meta').locator('[data-test=record-field-error]', { hasText: 'not valid JSON' }).waitFor()
    assert.equal(await input('meta').getAttribute('aria-invalid'), 'true')
    await page.click('[data-test=save-record]')
    await drawer.locator('[data-test=record-error]', { hasText: 'Please fix the marked fields' }).waitFor()
    assert.equal(posts, 0)

    // Lists are chips; a word is refused on the spot in a list of whole numbers.
    await input('sizes').fill('big')
    await input('sizes').press('Enter')
    await field('sizes').locator('[data-test=chips-error]', { hasText: 'not a whole number' }).waitFor()
    await input('sizes').fill('3')
    await input('sizes').press('Enter')
    await input('sizes').fill('5')
    await input('sizes').press(',')
    for (const tag of ['history', 'math', 'oops']) {
      await input('tags').fill(tag)
      await input('tags').press('Enter')
    }
    await input('tags').press('Backspace') // takes "oops" away
    await field('tags').getByRole('button', { name: 'Remove math' }).click()
    assert.deepEqual(await chips('tags'), ['history'])
    assert.deepEqual(await chips('sizes'), ['3', '5'])

    // A value the server refuses: its message beside that field only, nothing saved.
    allow(422, /\/api\/collections\/essays\/records$/)
    await input('meta').fill('{"pages": 12}')
    await input('rating').fill('9')
    await page.click('[data-test=save-record]')
    const ratingError = field('rating').locator('[data-test=record-field-error]')
    await ratingError.waitFor()
    assert.match(await ratingError.innerText(), /5/)
    assert.equal(await input('rating').getAttribute('aria-invalid'), 'true')
    assert.equal(await drawer.locator('[data-test=record-field-error]').count(), 1, 'only the rating is marked')
    assert.equal(posts, 1)
    assert.deepEqual(await list(), [])

    // Good values everywhere, and the author picked by searching the authors' names.
    await input('rating').fill('4')
    await input('score').fill('2.5')
    await input('body').fill('Notes on the analytical engine')
    await input('featured').check()
    await input('published_at').fill('2026-03-01T10:30:15')
    await input('due').fill('2026-04-02')
    await input('contact').fill('ada@example.com')
    await input('link').fill('https://example.com/engines')
    await input('status').selectOption('published')
    await search.fill('hop')
    const options = field('author').locator('[data-test=relation-options] [role=option]')
    await page.waitForFunction(() => {
      const items = [...document.querySelectorAll('[data-field=author] [role=option]')]
      return items.length === 1 && items[0].textContent.includes('Grace Hopper')
    })
    assert.match(await options.first().innerText(), new RegExp(grace.id.slice(-8)))
    await search.press('Enter')
    await field('author').locator('[data-test=relation-chosen]', { hasText: 'Grace Hopper' }).waitFor()
    await page.screenshot({ path: join(shots, 'record-drawer-new.png') })
    await page.click('[data-test=save-record]')
    await drawer.waitFor({ state: 'detached' })
    const [saved] = await list()
    assert.equal(new Date(saved.data.published_at).getTime(), new Date('2026-03-01T10:30:15').getTime())
    delete saved.data.published_at
    assert.deepEqual(saved.data, {
      title: 'On engines', body: 'Notes on the analytical engine', rating: 4, score: 2.5, featured: true,
      due: '2026-04-02', contact: 'ada@example.com', link: 'https://example.com/engines', status: 'published',
      meta: { pages: 12 }, tags: ['history'], sizes: [3, 5], author: grace.id,
    })

    // The table names the author by title; the row's arrow opens the record, every input filled in.
    const table = page.locator('[data-test=records-table]')
    const authorCell = table.locator(`tr[data-id="${saved.id}"] td[data-col=author] [data-test=relation-cell]`)
    await authorCell.filter({ hasText: 'Grace Hopper' }).waitFor()
    assert.match(await authorCell.getAttribute('title'), new RegExp(grace.id))
    await table.locator(`tr[data-id="${saved.id}"] [data-test=open-record]`).click()
    await drawer.waitFor()
    assert.equal(await input('title').inputValue(), 'On engines')
    assert.equal(await input('rating').inputValue(), '4')
    assert.equal(await input('featured').isChecked(), true)
    assert.equal(await input('published_at').inputValue(), '2026-03-01T10:30:15')
    assert.equal(await input('status').inputValue(), 'published')
    assert.deepEqual(JSON.parse(await input('meta').inputValue()), { pages: 12 })
    assert.deepEqual(await chips('sizes'), ['3', '5'])
    await field('author').locator('[data-test=relation-chosen]', { hasText: 'Grace Hopper' }).waitFor()
    await drawer.locator('[data-test=record-system]').getByText(saved.id).waitFor()
    await drawer.locator('[data-test=raw-json] summary').click()
    const raw = JSON.parse(await drawer.locator('[data-test=raw-json] pre').innerText())
    assert.equal(raw.id, saved.id)
    assert.equal(raw.data.author, grace.id)
    assert.equal(raw.expand, undefined, 'as stored, without the expanded author')
    await page.screenshot({ path: join(shots, 'record-drawer-edit.png') })
    // The address names the open record: a reload (or a shared link) opens it again.
    await page.waitForURL(new RegExp(`/admin/collections/essays\\?record=${saved.id}$`))
    await page.reload()
    await drawer.waitFor()
    assert.equal(await input('title').inputValue(), 'On engines')
    await field('author').locator('[data-test=relation-chosen]', { hasText: 'Grace Hopper' }).waitFor()

    // A bad edit is refused beside its field and changes nothing; Escape closes without saving.
    allow(422, new RegExp(`/api/collections/essays/records/${saved.id}$`))
    await input('title').fill('x'.repeat(41))
    await page.click('[data-test=save-record]')
    await field('title').locator('[data-test=record-field-error]').waitFor()
    assert.equal((await list())[0].data.title, 'On engines')
    // Escape with changes asks first: dismissed, the drawer and the typed title stay.
    page.once('dialog', (d) => d.dismiss())
    await input('title').press('Escape')
    assert.equal(await input('title').inputValue(), 'x'.repeat(41))
    page.once('dialog', (d) => d.accept())
    await input('title').press('Escape')
    await drawer.waitFor({ state: 'detached' })
    await page.waitForURL(/\/admin\/collections\/essays$/)
    assert.equal((await list())[0].data.title, 'On engines')

    // Another author by clicking a match, and a new title: saved as a patch.
    await table.locator(`tr[data-id="${saved.id}"] [data-test=open-record]`).click()
    await field('author').getByRole('button', { name: 'Clear author' }).click()
    assert.equal(await field('author').locator('[data-test=relation-chosen]').count(), 0)
    await search.fill('lovel')
    await options.filter({ hasText: 'Ada Lovelace' }).click()
    await field('author').locator('[data-test=relation-chosen]', { hasText: 'Ada Lovelace' }).waitFor()
    await input('title').fill('On engines, revised')
    await page.click('[data-test=save-record]')
    await drawer.waitFor({ state: 'detached' })
    const [edited] = await list()
    assert.equal(edited.data.title, 'On engines, revised')
    assert.equal(edited.data.author, ada.id)
    assert.equal(edited.data.rating, 4)
    await table.locator(`tr[data-id="${saved.id}"] td[data-col=title]`, { hasText: 'On engines, revised' }).waitFor()
    await authorCell.filter({ hasText: 'Ada Lovelace' }).waitFor()

    // Delete from the drawer, after confirming.
    await table.locator(`tr[data-id="${saved.id}"] [data-test=open-record]`).click()
    page.once('dialog', (d) => d.dismiss())
    await drawer.locator('[data-test=delete-record]').click()
    assert.equal((await list()).length, 1, 'dismissed: nothing deleted')
    page.once('dialog', (d) => d.accept())
    await drawer.locator('[data-test=delete-record]').click()
    await drawer.waitFor({ state: 'detached' })
    await page.getByText('No records yet').waitFor()
    assert.equal((await call('GET', `/api/collections/essays/records/${saved.id}`, token)).status, 404)
  })
})

test('a list[relation] field: the schema editor offers it, the drawer picks several records in order', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'labels', schema: { fields: [{ name: 'name', type: 'string', required: true }] },
  })).status, 201)
  const red = (await call('POST', '/api/collections/labels/records', token, { name: 'red' })).body
  const blue = (await call('POST', '/api/collections/labels/records', token, { name: 'blue' })).body
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'boards', schema: { fields: [{ name: 'title', type: 'string' }] },
  })).status, 201)

  await withPage('relation-list', { viewport: { width: 1440, height: 900 } }, async (page) => {
    await signIn(page, token)
    // The schema editor: a list[relation] field with its target and what a delete does.
    await page.goto(`${base}/admin/collections/boards/edit`)
    await page.click('[data-test=add-field]')
    await page.fill('[name=field-1-name]', 'labels')
    await page.selectOption('[name=field-1-type]', 'list[relation]')
    await page.click('[data-test=field-1-options-toggle]')
    await page.selectOption('[name=field-1-collection]', 'labels')
    await page.selectOption('[name=field-1-on_delete]', 'set_null')
    await page.click('[data-test=save-collection]')
    await page.waitForURL(/\/admin\/collections\/boards$/)
    const saved = (await call('GET', '/api/collections/boards', token)).body
    assert.deepEqual(saved.schema.fields[1], { name: 'labels', type: 'list[relation]', collection: 'labels', on_delete: 'set_null' })

    // The drawer: pick blue, then red; the list keeps that order.
    await page.click('[data-test=new-record]')
    const drawer = page.locator('[data-test=record-drawer]')
    const field = drawer.locator('[data-field=labels]')
    const pick = async (text) => {
      const search = field.locator('[name=labels-add-search]')
      await search.fill(text)
      await page.waitForFunction((t) => {
        const items = [...document.querySelectorAll('[data-field=labels] [role=option]')]
        return items.length === 1 && items[0].textContent.includes(t)
      }, text)
      await search.press('Enter')
    }
    await drawer.locator('[name=title]').fill('Sprint')
    await pick('blue')
    await field.locator('[data-test=relation-chosen]', { hasText: 'blue' }).waitFor()
    await pick('red')
    await field.locator('[data-test=relation-chosen]', { hasText: 'red' }).waitFor()
    assert.deepEqual(await field.locator('[data-test=relation-chosen] .relation-title').allInnerTexts(), ['blue', 'red'])
    await page.click('[data-test=save-record]')
    await drawer.waitFor({ state: 'detached' })
    const [board] = (await call('GET', '/api/collections/boards/records', token)).body.items
    assert.deepEqual(board.data.labels, [blue.id, red.id])

    // Clearing one removes it from the list.
    await page.locator(`tr[data-id="${board.id}"] [data-test=open-record]`).click()
    await field.locator('[data-test=relation-chosen]', { hasText: 'red' }).waitFor()
    await field.getByRole('button', { name: 'Clear labels-0' }).click()
    assert.deepEqual(await field.locator('[data-test=relation-chosen] .relation-title').allInnerTexts(), ['red'])
    await page.click('[data-test=save-record]')
    await drawer.waitFor({ state: 'detached' })
    const after = (await call('GET', `/api/collections/boards/records/${board.id}`, token)).body
    assert.deepEqual(after.data.labels, [red.id])
  })
})

test('the schema editor reorders fields by dragging and by keyboard, and saves the order', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'ordered', schema: { fields: ['a', 'b', 'c', 'd'].map((name) => ({ name, type: 'string' })) },
  })).status, 201)
  const rec = await call('POST', '/api/collections/ordered/records', token, { a: 'A', b: 'B', c: 'C', d: 'D' })
  assert.equal(rec.status, 201)
  const order = async () => (await call('GET', '/api/collections/ordered', token)).body.schema.fields.map((f) => f.name)

  await withPage('reorder', { viewport: { width: 1440, height: 900 } }, async (page, allow) => {
    await signIn(page)
    await page.goto(`${base}/admin/collections/ordered/edit`)
    await page.locator('input[name=field-3-name]').waitFor()
    const names = () => page.locator('[data-test=field-row] input[aria-label="Field name"]').evaluateAll((is) => is.map((i) => i.value))
    const row = (name) => page.locator(`[data-test=field-row][data-field=${name}]`)

    // Drag d's grip onto the top half of a: d goes first.
    await row('d').locator('[data-test=field-grip]').dragTo(row('a'), { targetPosition: { x: 40, y: 4 } })
    assert.deepEqual(await names(), ['d', 'a', 'b', 'c'])
    // Drag d onto the lower half of b: after b.
    await row('d').locator('[data-test=field-grip]').dragTo(row('b'), { targetPosition: { x: 40, y: (await row('b').boundingBox()).height - 4 } })
    assert.deepEqual(await names(), ['a', 'b', 'd', 'c'])

    // From the keyboard: the ↑ button keeps the focus on the moved row, and says where it went.
    await row('c').locator('[data-test=move-up]').focus()
    await page.keyboard.press('Enter')
    assert.deepEqual(await names(), ['a', 'b', 'c', 'd'])
    await page.keyboard.press('Enter')
    assert.deepEqual(await names(), ['a', 'c', 'b', 'd'])
    assert.equal(await page.evaluate(() => document.activeElement.closest('[data-test=field-row]').dataset.field), 'c')
    assert.equal(await page.locator('[data-test=move-announcement]').innerText(), 'c moved to position 2 of 4')
    await page.keyboard.press('Enter')
    assert.deepEqual(await names(), ['c', 'a', 'b', 'd'])
    assert.equal(await row('c').locator('[data-test=move-up]').isDisabled(), true)
    assert.equal(await page.evaluate(() => document.activeElement.dataset.test), 'move-down', 'at the top, the focus goes to ↓')
    await page.screenshot({ path: join(shots, 'schema-reorder.png') })

    // A bad name elsewhere: the save is refused beside that row, the stored order stays.
    allow(422, /\/api\/collections\/ordered$/)
    await row('d').locator('input[aria-label="Field name"]').fill('created_at')
    await page.click('[data-test=save-collection]')
    await page.locator('[data-test=field-row]').nth(3).locator('[data-test=field-error]').waitFor()
    assert.deepEqual(await order(), ['a', 'b', 'c', 'd'])
    await page.locator('[data-test=field-row]').nth(3).locator('input[aria-label="Field name"]').fill('d')
    await page.click('[data-test=save-collection]')
    await page.waitForURL(/\/admin\/collections\/ordered$/)
    assert.deepEqual(await order(), ['c', 'a', 'b', 'd'])
    // The records keep their values, and the table's columns follow the new order.
    assert.deepEqual((await call('GET', `/api/collections/ordered/records/${rec.body.id}`, token)).body.data, { a: 'A', b: 'B', c: 'C', d: 'D' })
    const table = page.locator('[data-test=records-table]')
    await table.waitFor()
    assert.deepEqual(await table.locator('thead th[data-col]').evaluateAll((ths) => ths.map((th) => th.dataset.col)),
      ['id', 'c', 'a', 'b', 'd', 'created_at', 'updated_at'])
  })
})

test('the collection editor checks each rule as it is typed, against the fields in the form', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/collections', token, {
    name: 'rulebook', schema: { fields: [{ name: 'title', type: 'string' }, { name: 'published', type: 'boolean' }] },
  })).status, 201)
  const stored = async () => (await call('GET', '/api/collections/rulebook', token)).body

  await withPage('rule-check', { viewport: { width: 1440, height: 900 } }, async (page) => {
    const checks = []
    let saves = 0
    // The first check is held back, so its answer comes after the next one's.
    let held = false
    await page.route('**/api/collections/check-rule', async (route) => {
      checks.push(route.request().postDataJSON())
      if (!held && route.request().postDataJSON().rule.includes('late')) {
        held = true
        await new Promise((r) => setTimeout(r, 1500))
      }
      await route.continue()
    })
    page.on('request', (r) => {
      if (r.method() === 'PATCH' && /\/api\/collections\/rulebook$/.test(r.url())) saves++
    })
    await signIn(page)
    await page.goto(`${base}/admin/collections/rulebook/edit`)
    await page.locator('input[name=field-1-name]').waitFor()
    const input = page.locator('input[name=list_rule]')
    const verdict = page.locator('label', { has: input }).locator('[data-test=rule-check]')

    // Keywords are valid without asking the server.
    await verdict.filter({ hasText: '✓' }).waitFor()
    assert.equal(await page.locator('[data-test=rule-check]', { hasText: '✓' }).count(), 5)
    await input.fill('owner')
    await verdict.filter({ hasText: '✓' }).waitFor()
    assert.equal(checks.length, 0)

    // A bad expression: its message shows while typing stops, and nothing is saved.
    await input.fill('')
    await input.pressSequentially('published = true && rating > 2', { delay: 20 })
    await verdict.filter({ hasText: 'unknown field `rating`' }).waitFor()
    assert.equal(checks.length, 1, `one check after typing stops: ${JSON.stringify(checks)}`)
    assert.deepEqual(checks[0].schema.fields.map((f) => f.name), ['title', 'published'])
    assert.equal(checks[0].kind, 'list')
    assert.equal(checks[0].name, 'rulebook')
    assert.equal(await input.getAttribute('aria-invalid'), 'true')
    assert.equal(saves, 0)
    assert.equal((await stored()).options.list_rule, 'public')
    await page.screenshot({ path: join(shots, 'rule-check.png') })

    // A field added in the form, not saved yet, makes it valid.
    await page.click('[data-test=add-field]')
    await page.selectOption('select[name=field-2-type]', 'int')
    await page.fill('input[name=field-2-name]', 'rating')
    await verdict.filter({ hasText: '✓' }).waitFor()
    assert.equal(await input.getAttribute('aria-invalid'), null)
    // The collection's own name means it as edited, unsaved field included.
    const update = page.locator('input[name=update_rule]')
    await update.fill('@collection.rulebook.rating > 0')
    await page.locator('label', { has: update }).locator('[data-test=rule-check]', { hasText: '✓' }).waitFor()

    // Another rule, its own message; an older answer arriving late does not replace a newer one.
    const create = page.locator('input[name=create_rule]')
    const createVerdict = page.locator('label', { has: create }).locator('[data-test=rule-check]')
    await create.fill("title = 'late' && (")
    await page.waitForTimeout(600)
    await create.fill('@request.body.title != null')
    await createVerdict.filter({ hasText: '✓' }).waitFor()
    await page.waitForTimeout(1500)
    assert.equal(await createVerdict.innerText(), '✓')
    await page.locator('input[name=delete_rule]').fill('@request.body.title != null')
    await page.locator('label', { has: page.locator('input[name=delete_rule]') })
      .locator('[data-test=rule-check]', { hasText: '@request.body' }).waitFor()
    await page.locator('input[name=delete_rule]').fill('admin')
    assert.equal(saves, 0)

    await page.click('[data-test=save-collection]')
    await page.waitForURL(/\/admin\/collections\/rulebook$/)
    const saved = await stored()
    assert.equal(saved.options.list_rule, 'published = true && rating > 2')
    assert.equal(saved.options.create_rule, '@request.body.title != null')
    assert.equal(saved.options.delete_rule, 'admin')
    assert.equal(saved.options.update_rule, '@collection.rulebook.rating > 0')
    assert.deepEqual(saved.schema.fields.map((f) => f.name), ['title', 'published', 'rating'])
  })
})

test('the dashboard: counts, calls per hour, recent failures, next runs, server version, links', async () => {
  const token = await adminToken()
  assert.equal((await call('POST', '/api/functions/install_blog', token)).status, 200)
  for (let i = 0; i < 2; i++) assert.equal((await call('POST', '/api/functions/blog_stats', token, {})).status, 200)
  assert.equal((await call('POST', '/api/functions/publish_post', token, { post_id: 'no-such-post' })).status, 404)
  const schedule = await call('POST', '/api/admin/schedules', token, {
    name: 'nightly digest', function_name: 'blog_stats', is_active: true,
    schedule: { method: 'interval', unit: 'hours', value: 6, timezone: 'UTC' },
  })
  assert.equal(schedule.status, 201)
  // What the dashboard should say, asked of the API.
  const total = async (path) => (await call('GET', path, token)).body.total_items
  const collections = (await call('GET', '/api/collections?per_page=500', token)).body.items
  let records = 0
  for (const c of collections) records += await total(`/api/collections/${c.name}/records?per_page=1`)
  const expected = {
    collections: collections.length,
    records,
    users: await total('/api/admin/users?per_page=1'),
    functions: (await call('GET', '/api/admin/functions', token)).body.length,
    failed: await total('/api/admin/functions/calls?status=failed&per_page=1'),
  }
  const succeeded = await total('/api/admin/functions/calls?status=succeeded&per_page=1')
  assert.ok(expected.failed >= 1 && succeeded >= 2)
  const version = (await call('GET', '/api/health')).body.version

  await withPage('dashboard', { viewport: { width: 1440, height: 900 } }, async (page) => {
    await signIn(page)
    await page.goto(`${base}/admin/`)
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    const stat = (name) => page.locator(`[data-test=stat-${name}] .stat-value`)
    for (const [name, value] of Object.entries(expected)) {
      await page.waitForFunction(([n, v]) => document.querySelector(`[data-test=stat-${n}] .stat-value`)?.textContent === String(v), [name, value])
    }
    assert.equal(await stat('failed').evaluate((e) => getComputedStyle(e).color) !== await stat('users').evaluate((e) => getComputedStyle(e).color), true, 'failures stand out')

    // The chart is drawn from the real calls: the current hour holds them all.
    const chart = page.locator('[data-test=calls-chart]')
    await chart.waitFor()
    assert.equal(Number(await chart.getAttribute('data-failed')), expected.failed)
    assert.equal(Number(await chart.getAttribute('data-succeeded')), succeeded)
    const hours = chart.locator('[data-test=chart-hour]')
    assert.equal(await hours.count(), 24)
    const perHour = await hours.evaluateAll((gs) => gs.map((g) => [Number(g.dataset.succeeded), Number(g.dataset.failed)]))
    assert.equal(perHour.reduce((n, [, f]) => n + f, 0), expected.failed)
    assert.equal(perHour.reduce((n, [s]) => n + s, 0), succeeded)
    // The calls were made moments ago: the last hour (or the one before, right after the hour turned).
    const busy = perHour.findLastIndex(([s, f]) => s + f > 0)
    assert.ok(busy >= 22, `the latest calls are in hour ${busy} of 24`)
    assert.ok((await hours.nth(busy).locator('rect.bad').boundingBox()).height > 0, 'the failures have a bar')
    assert.ok((await hours.nth(busy).locator('rect.ok').boundingBox()).height > 0, 'the successes have a bar')
    assert.equal(await hours.first().locator('rect.ok').getAttribute('height'), '0')

    await page.locator('[data-test=recent-failures] li', { hasText: 'publish_post' }).first().waitFor()
    await page.locator('[data-test=recent-calls] li', { hasText: 'blog_stats' }).first().waitFor()
    const next = page.locator('[data-test=next-schedules] li[data-schedule="nightly digest"]')
    await next.getByText(/in \d+ (min|h)/).waitFor()
    const first = collections[0].name
    await page.locator(`[data-test=home-collections] tr[data-collection=${first}] [data-test=count]`, { hasText: /^\d+$/ }).waitFor()
    assert.equal(await page.locator('[data-test=health-version]').innerText(), `TinyBase ${version}`)
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true })

    // Links into each section: failures open the call history filtered to failures.
    await page.click('[data-test=stat-failed]')
    await page.waitForURL(/\/admin\/calls\?status=failed$/)
    assert.equal(await page.inputValue('select[name=status]'), 'failed')
    const rows = page.locator('[data-test=calls-table] tbody tr')
    await rows.first().waitFor()
    assert.equal(await rows.count(), expected.failed)
    assert.equal(await rows.filter({ hasText: 'succeeded' }).count(), 0)
    await page.click('nav.top >> text=Dashboard')
    await page.waitForURL(/\/admin\/$/)
    await page.locator(`[data-test=home-collections] tr[data-collection=${first}] a`).click()
    await page.waitForURL(new RegExp(`/admin/collections/${first}$`))
    await page.click('nav.top a.brand')
    await page.waitForURL(/\/admin\/$/)
    await page.click('[data-test=stat-users]')
    await page.waitForURL(/\/admin\/users$/)
  })
  assert.equal((await call('DELETE', `/api/admin/schedules/${schedule.body.id}`, token)).status, 204)
})
