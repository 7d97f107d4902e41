/**
 * Re-renders the proxy bench report from a results file without measuring again (after a change
 * to the report's layout). Run: node bench/render.ts [bench/.work/results.json]
 */
import { readFileSync } from 'node:fs';
import { publish, type Results } from './lib/proxy-report.ts';

publish(JSON.parse(readFileSync(process.argv[2] ?? new URL('.work/results.json', import.meta.url), 'utf8')) as Results);
