import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { thirdPartyLicences } from './scripts/third-party.mjs';

// Tauri embeds ui/dist at compile time; relative asset paths keep it portable.
export default defineConfig({
  base: './',
  plugins: [svelte(), thirdPartyLicences()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
});
