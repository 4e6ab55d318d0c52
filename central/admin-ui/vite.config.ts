import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The head office console. Central serves `dist/` at `/console/` and the API under `/api` on the
 * same origin, so the session cookie and its CSRF token need no cross-site rules.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 700 },
  server: {
    host: '127.0.0.1',
    // `npm run dev:console` against a running central: CENTRAL_URL=http://127.0.0.1:8080
    proxy: { '/api': process.env.CENTRAL_URL ?? 'http://127.0.0.1:8080' },
  },
  preview: {
    host: '127.0.0.1',
    proxy: { '/api': process.env.CENTRAL_URL ?? 'http://127.0.0.1:8080' },
  },
});
