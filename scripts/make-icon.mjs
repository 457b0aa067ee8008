// Renders media/bot-memory.svg into the 128x128 marketplace icon media/icon.png (run once after changing the SVG).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
const svg = fs
  .readFileSync('media/bot-memory.svg', 'utf8')
  .replace('stroke="currentColor"', 'stroke="#ffffff"')
  .replace(/fill="currentColor"/g, 'fill="#ffffff"');
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const p = await b.newPage({ viewport: { width: 128, height: 128 } });
await p.setContent(
  `<html><body style="margin:0"><div style="width:128px;height:128px;border-radius:24px;background:linear-gradient(135deg,#3b5bdb,#7048e8);display:flex;align-items:center;justify-content:center">${svg.replace('width="24" height="24"', 'width="96" height="96"')}</div></body></html>`,
);
await p.screenshot({ path: 'media/icon.png', omitBackground: true });
await b.close();
