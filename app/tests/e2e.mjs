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
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { PLACE_ORDER, TALLY } from './stub-functions.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const shots = process.env.E2E_SCREENSHOTS || tmpdir()
const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' }

let server, browser, dir, base

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

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinybase-e2e-'))
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
  if (dir) rmSync(dir, { recursive: true, force: true })
})



/**
 * A fresh browser page that records every page error, console error, failed request and
 * 4xx/5xx answer from the server. `allow(status, url)` expects such an answer: the test
 * provokes it on purpose (Chromium also logs those as console errors; they pass too).
 */
async function openPage({ viewport = { width: 1280, height: 900 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme })
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
    // Leaving the records page closes its realtime stream, which aborts the request.
    if (reason === 'net::ERR_ABORTED' && new URL(r.url()).pathname === '/api/realtime') return
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

/** The admin's API token: one login for all tests, which stay under the login rate limit. */
let adminLogin
async function adminToken() {
  adminLogin ??= call('POST', '/api/auth/login', null, ADMIN)
  const { status, body } = await adminLogin
  assert.equal(status, 200)
  return body.token
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
    await page.waitForURL(/\/admin\/collections$/)
    await page.getByRole('heading', { name: 'Collections' }).waitFor()

    // Create a collection with two fields.
    await page.click('[data-test=new-collection]')
    await page.fill('input[name=name]', 'books')
    await page.fill('input[name=label]', 'Books')
    await page.fill('input[name=field-0-name]', 'title')
    await page.check('input[name=field-0-required]')
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
    await page.evaluate((t) => localStorage.setItem('tinybase.admin.token', t), token)
    await page.goto(`${base}/admin/collections`)
    await page.getByRole('link', { name: 'notes' }).click()
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
    assert.match(page.url(), /\/admin\/collections\/notes\?sort=title$/)
    assert.equal(await page.inputValue('[data-test=record-form] input[name=title]'), 'first note, edited')
    assert.equal(await page.inputValue('input[name=filter]'), "title ~ 'draft'")
    assert.deepEqual(await table.locator('tbody tr td:nth-child(2)').allInnerTexts(), ['first note', 'from elsewhere'])

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

    // Leaving the page closes its stream.
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
    await page.evaluate(() => localStorage.setItem('tinybase.admin.token', 'tb_not_a_real_token'))
    await page.goto(`${base}/admin/collections/books`)
    await page.waitForURL(/\/admin\/login/)
    await page.getByText('Your session has expired').waitFor()
  })
})

test('an admin manages users and schedules', async () => {
  await withPage('users-and-schedules', {}, async (page, allow) => {
    page.on('dialog', (d) => d.accept()) // the delete confirmations
    await login(page, ADMIN.email, ADMIN.password)
    await page.waitForURL(/\/admin\/collections$/)

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

test('an admin who is demoted is sent back to the login page', async () => {
  const admin = await adminToken()
  const cleo = { email: 'cleo@example.com', password: 'cleo-password', is_admin: true }
  const created = await call('POST', '/api/admin/users', admin, cleo)
  assert.equal(created.status, 201)
  await withPage('demoted', {}, async (page, allow) => {
    await login(page, cleo.email, cleo.password)
    await page.waitForURL(/\/admin\/collections$/)
    await page.getByRole('heading', { name: 'Collections' }).waitFor()
    const demoted = await call('PATCH', `/api/admin/users/${created.body.id}`, admin, { is_admin: false })
    assert.equal(demoted.status, 200)
    allow(403, /\/api\/admin\/users/)
    await page.click('nav >> text=Users')
    await page.waitForURL(/\/admin\/login/)
    await page.getByText('This account is no longer an admin').waitFor()
  })
})

test('the admin follows the system dark theme', async () => {
  for (const colorScheme of ['dark', 'light']) {
    await withPage(`theme-${colorScheme}`, { colorScheme }, async (page) => {
      await login(page, ADMIN.email, ADMIN.password)
      await page.waitForURL(/\/admin\/collections$/)
      await page.getByRole('heading', { name: 'Collections' }).waitFor()
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
    await page.waitForURL(/\/admin\/collections$/)
    await page.getByRole('link', { name: 'gadgets' }).waitFor()
    await fits('collections')

    // Records: the wide table scrolls inside its own box, not the page.
    await page.getByRole('link', { name: 'gadgets' }).click()
    const table = page.locator('[data-test=records-table]')
    await table.waitFor()
    await fits('records')
    const [inner, box] = await table.evaluate((t) => [t.parentElement.scrollWidth, t.parentElement.clientWidth])
    assert.ok(inner > box, `the records table (${inner} px) scrolls inside its ${box} px box`)
    await page.screenshot({ path: join(shots, 'phone-records.png'), fullPage: true })
    await table.getByRole('button', { name: 'Edit' }).click()
    await page.locator('[data-test=record-form]').waitFor()
    await fits('record form')
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
    await page.waitForURL(/\/admin\/collections$/)
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
