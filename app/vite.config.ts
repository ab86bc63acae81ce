import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'

// The production build goes into the tinybase crate, which embeds it in the binary.
export default defineConfig({
  plugins: [vue()],
  base: '/admin/',
  build: {
    outDir: fileURLToPath(new URL('../tinybase/admin-ui', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/openapi.json': 'http://127.0.0.1:8000',
    },
  },
})
