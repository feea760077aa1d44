import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { PAGES, UI_BASE } from './pages.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// Every page is its own HTML entry; the gateway serves dist/ under UI_BASE and each page at its
// own path (see pages.ts). Nothing is fetched from a CDN at run time: fonts, Monaco's workers and
// the charting library are all emitted into dist/assets.
export default defineConfig({
  base: UI_BASE,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco (GraphiQL's editor) is large by nature; the pages are served from the gateway, not a CDN.
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      input: Object.fromEntries(Object.values(PAGES).map((page) => [page.entry, here(page.file)])),
      // GraphiQL's modules start with React Compiler's "use no memo"; a bundle cannot keep
      // module-level directives and they mean nothing without the compiler.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
