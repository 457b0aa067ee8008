declare const __BMA_VERSION__: string;

/** The package version, read from package.json at build time (esbuild `define`, see esbuild.js). */
export const VERSION: string = typeof __BMA_VERSION__ === 'string' ? __BMA_VERSION__ : '0.0.0-dev';
