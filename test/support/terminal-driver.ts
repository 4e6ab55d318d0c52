/**
 * A counter terminal as its own OS process, for crash tests: the test SIGKILLs it and then
 * opens the same data folder again. The folder must hold a paired terminal (terminal.json)
 * whose cache already has the rules and the members the sales are for.
 *
 *   node test/support/terminal-driver.ts <dataDir> sell --mobile M --bill-prefix P
 *        [--max N] [--central-url URL]
 *     Records sales in a loop, as fast as the cache commits them (yielding to the sync client
 *     between two), and prints "confirmed <key>" after each recordSale returned. The line is
 *     written with a synchronous write(2), so a printed key was really confirmed.
 *
 *   node test/support/terminal-driver.ts <dataDir> pull [--pull-limit N] [--die-at-row N]
 *        [--spill]
 *     Connects and catches up; prints "applying <states> to <cursor>" as each apply
 *     transaction starts, "cursor <n>" after it committed, and "settled <n>" at the end. --die-at-row N SIGKILLs this process from inside the apply transaction, just before
 *     it writes its N-th row; --spill makes SQLite's page cache tiny, so that an unfinished
 *     transaction has already written pages to the WAL when it dies.
 *
 * The process exits when its stdin ends (the test runner died) and after 60 s in any case.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { TerminalCore } from '../../terminal/core.ts';

function say(line: string): void {
  fs.writeSync(1, `${line}\n`);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    mobile: { type: 'string' },
    'bill-prefix': { type: 'string' },
    max: { type: 'string', default: '100000' },
    'central-url': { type: 'string' },
    'pull-limit': { type: 'string' },
    'die-at-apply': { type: 'string' },
    spill: { type: 'boolean', default: false },
  },
});
const [dataDir, mode] = positionals;
if (!dataDir || (mode !== 'sell' && mode !== 'pull')) {
  console.error('usage: terminal-driver.ts <dataDir> sell|pull [options]');
  process.exit(2);
}

process.stdin.on('end', () => process.exit(3));
process.stdin.resume();
setTimeout(() => process.exit(4), 60_000).unref();

const core = new TerminalCore({
  dataDir,
  sync: {
    ...(values['central-url'] ? { centralUrl: values['central-url'] } : {}),
    ...(values['pull-limit'] ? { pullLimit: Number(values['pull-limit']) } : {}),
  },
});

if (mode === 'sell') {
  const mobile = values.mobile;
  const prefix = values['bill-prefix'];
  if (!mobile || !prefix) {
    console.error('sell needs --mobile and --bill-prefix');
    process.exit(2);
  }
  if (!core.store.rules || !core.findByMobile(mobile)) {
    console.error('the cache has no rules or no such member: sync this folder first');
    process.exit(2);
  }
  core.start();
  say('ready');
  const max = Number(values.max);
  for (let i = 1; i <= max; i += 1) {
    const { key } = core.recordSale({
      billNumber: `${prefix}-${i}`,
      mobile,
      lines: [
        { sku: `DRV-${i}`, categoryCode: 'ELEC', quantity: 1, amountPaise: 100 * (1 + (i % 50)) },
      ],
    });
    say(`confirmed ${key}`);
    // Let the sync client send and settle meanwhile, as a real counter would between two bills.
    await new Promise((resolve) => setImmediate(resolve));
  }
  say('done');
} else {
  const dieAt = values['die-at-apply'] ? Number(values['die-at-apply']) : undefined;
  if (values.spill) core.store.db.pragma('cache_size = 1');
  // Say when an apply transaction starts (a pull's page or a push), so the test can aim its kill.
  const store = core.store as unknown as Record<string, unknown>;
  for (const name of ['applyChanges', 'applyPage']) {
    const method = store[name];
    if (typeof method !== 'function') continue;
    const apply = (method as (...a: unknown[]) => unknown).bind(core.store);
    store[name] = (...a: unknown[]) => {
      const update = a[1] as { cursor: number };
      say(`applying to ${update.cursor}`);
      return apply(...a);
    };
  }
  if (dieAt !== undefined) {
    // Every apply writes its rows, then moves the cursor, in one transaction: die in between.
    const stmts = (
      core.store as unknown as { stmts: { setMeta: { run(...a: unknown[]): unknown } } }
    ).stmts;
    const setMeta = stmts.setMeta;
    let applies = 0;
    stmts.setMeta = {
      run: (...a: unknown[]) => {
        if (a[0] === 'cursor' && core.store.db.inTransaction) {
          applies += 1;
          if (applies === dieAt) {
            say(`dying before the cursor moves to ${String(a[1])}, from ${core.store.cursor}`);
            process.kill(process.pid, 'SIGKILL');
          }
        }
        return setMeta.run(...a);
      },
    };
  }
  core.on('applied', () => {
    say(`cursor ${core.store.cursor}`);
  });
  core.start();
  say('ready');
  await core.sync.settled(50_000);
  say(`settled ${core.store.cursor}`);
}
await core.stop();
process.exit(0);
