import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The counter's screens. The core serves `dist/` at `/` and the API under `/api`; a relative
 * base keeps the bundle working wherever it is served. Nothing is fetched from the internet at
 * run time: the counter may be offline.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 400 },
  server: {
    host: '127.0.0.1',
    // `npm run dev:ui` against a running counter: COUNTER_URL=http://127.0.0.1:7420
    proxy: { '/api': process.env.COUNTER_URL ?? 'http://127.0.0.1:7420' },
  },
});
