/**
 * The operator console: one static page (HTML, CSS and browser ES modules in `public/`, served
 * as they are, no bundler) that draws the live feed. Served from the package's source folder
 * both when run from source (tsx) and from the build (`dist/` holds only compiled TypeScript),
 * so the folder is found by walking up to the package root rather than next to this module.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

export const CONSOLE_PATH = '/console';
/** Where the page's files live, from the package root. */
const PUBLIC_FROM_ROOT = path.join('src', 'adaptor', 'console', 'public');
const MAX_LEVELS_UP = 8;

/**
 * The console's static folder, found from `fromDir` (this module's folder by default) by walking
 * up to the directory holding package.json.
 */
export function consoleDir(fromDir = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = fromDir;
  for (let level = 0; level <= MAX_LEVELS_UP; level++) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const folder = path.join(dir, PUBLIC_FROM_ROOT);
      if (existsSync(path.join(folder, 'index.html'))) return folder;
      throw new Error(`the operator console's files are missing from ${folder}; install the package with its src/ folder`);
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`no package.json above ${fromDir}: cannot find the operator console's files`);
}

/** Serves the console at /console/ (and sends / there). */
export function mountConsole(router: Router, dir = consoleDir()): void {
  router.get('/', (_req, res) => res.redirect(302, `${CONSOLE_PATH}/`));
  router.use(CONSOLE_PATH, (_req, res, next) => {
    // The page talks only to this listener; nothing may frame it or load it from elsewhere.
    res.setHeader('Content-Security-Policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    next();
  }, express.static(dir, { index: 'index.html', redirect: true, dotfiles: 'ignore', etag: true }));
}
