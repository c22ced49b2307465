import { defineConfig } from 'vite';

// The build lands in pkg/console/dist, which the gateway embeds (go:embed)
// and serves at /console/. File names carry no content hash: the gateway
// revalidates every file by ETag, and fixed names keep the committed build
// a small, readable diff.
export default defineConfig({
  base: './',
  build: {
    outDir: '../../pkg/console/dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: false,
    reportCompressedSize: false,
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/console.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
});
