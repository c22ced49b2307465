// Headless Chromium for the console's tests: Debian's chromium (`make
// chromium` installs it) driven by playwright-core, with a fresh profile.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * launchBrowser starts Chromium with a fresh --user-data-dir and returns
 * {context, page, close}; close() stops the browser and removes the profile.
 */
export async function launchBrowser({ viewport = { width: 1400, height: 900 } } = {}) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`make chromium\` (Debian's chromium package)`);
  const profile = await mkdtemp(path.join(os.tmpdir(), 'kwhisk-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    async close() {
      try {
        await context.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}

/** login opens the console of the gateway at apihost and enters key. */
export async function login(page, apihost, key) {
  await page.goto(`${apihost}/console/`);
  await page.getByTestId('key').fill(key);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('namespace').waitFor({ timeout: 20000 });
}
