// Runs the browser test with node's test runner and ends with one summary line,
// `N passed, N failed`, exiting non-zero when anything failed.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const child = spawn(process.execPath, ['--test', '--test-reporter=tap', join(here, 'e2e.mjs')], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
let out = ''
child.stdout.on('data', (chunk) => {
  out += chunk
  process.stdout.write(chunk)
})
child.on('close', (code) => {
  const count = (name) => Number(out.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0)
  const passed = count('pass')
  const failed = count('fail') + count('cancelled')
  const ok = code === 0 && failed === 0 && passed > 0
  console.log(`${passed} passed, ${ok ? failed : Math.max(failed, 1)} failed`)
  process.exit(ok ? 0 : 1)
})
