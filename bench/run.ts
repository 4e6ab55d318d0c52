import { parseArgs } from 'node:util';

const BENCHES: Record<string, () => Promise<{ run(quick: boolean): Promise<void> }>> = {
  ledger: () => import('./ledger.ts'),
  sync: () => import('./sync.ts'),
  redeem: () => import('./redeem.ts'),
  terminal: () => import('./terminal.ts'),
  reports: () => import('./reports.ts'),
  members: () => import('./member-search.ts'),
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false } },
});
const name = positionals[0];
const load = name ? BENCHES[name] : undefined;
if (!load) {
  console.error(`Usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [--quick]`);
  process.exit(2);
}
const bench = await load();
await bench.run(values.quick);
