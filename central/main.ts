import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { ConfigError, loadConfig } from './config.ts';
import { createCentral, listen } from './server.ts';
import { isEmpty, seedDemo, DEMO_LOGINS } from './demo/seed.ts';
import { prepareSetup, SETUP_CODE_FILE } from './console/setup.ts';
import { verifyLedger } from './ledger/verify.ts';
import { findShowroomId, findStaffByUsername, insertStaff } from './db/staff-store.ts';
import { hashSecret } from './staff/secrets.ts';
import {
  findTerminal,
  listTerminals,
  revokeTerminal as revokeTerminalRow,
  startNewEpoch,
} from './db/sync-store.ts';
import { issuePairingCode } from './sync/pairing.ts';
import { PersonName, StaffRole } from '../shared/protocol/api.ts';
import { maskMobile } from '../shared/mobile.ts';
import path from 'node:path';
import { AppError } from './errors.ts';
import { loadProgramSettings, saveProgramSettings } from './db/settings-store.ts';
import { DEV_OUTBOX_FILE } from './sms/providers/index.ts';
import { rebuildRollups } from './reports/rollups.ts';
import { checkReports } from './reports/check.ts';
import { addDays, dayOf } from './reports/days.ts';

const USAGE = `Usage: npm run central -- <command>

  serve                     start central (default); migrates the database first
  migrate                   bring the database schema up to date and exit
  create-admin --username U [--name N] [--password-stdin]
                            add a staff member who can run everything (admin);
                            without --password-stdin a random password is printed once
  create-staff --username U --role cashier|manager|admin --showroom CODE [--name N] [--password-stdin]
  verify                    recompute every balance from the ledger; exits 1 on any difference
  seed-demo                 fill an empty database with the demo chain
  pairing-code --showroom CODE
                            print a one-time code (valid 15 minutes) that pairs a new terminal
  terminals                 list paired terminals: showroom, last seen, version, revoked
  revoke-terminal ID        refuse a terminal from now on; connected, it is cut off within 5 s
  new-epoch                 after restoring the database from a backup (central stopped):
                            every terminal rebuilds its cache instead of trusting it
  settings                  print the program's settings (redemption, OTP limits, notices, wishes)
  settings set KEY=VALUE... change settings, e.g. otp.maxAttempts=3 earnNotices=false
                            wishes.sendAt=09:30 (values are JSON where they parse as JSON)
  sms                       SMS outbox of the last 24 hours by kind and status, and recent failures
  reports rebuild           recompute the report rollups from the ledger (in TIME_ZONE), in one transaction
  reports check [--from D] [--to D] [--showrooms A,B]
                            compare every report from the rollups with the ledger (default: the
                            last 31 days, whole chain; with --showrooms also filtered by those
                            showrooms, together); exits 1 on any difference

Configuration comes from the environment (see README: PORT, DATA_DIR, DATABASE_URL, ...).`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serve(config);
    case 'migrate': {
      const central = await createCentral(config);
      console.log(`Database is up to date (${central.db.dialect}).`);
      await central.db.knex.destroy();
      return 0;
    }
    case 'create-admin':
    case 'create-staff':
      return createStaff(config, command === 'create-admin', rest);
    case 'verify':
      return verify(config);
    case 'seed-demo': {
      const central = await createCentral(config);
      try {
        if (!(await isEmpty(central))) {
          console.error(
            'The database already has showrooms; the demo goes only into an empty one.',
          );
          return 1;
        }
        await seedDemo(central);
        console.log('Demo chain added.');
        return 0;
      } finally {
        await central.db.knex.destroy();
      }
    }
    case 'pairing-code':
      return pairingCode(config, rest);
    case 'terminals':
      return terminals(config);
    case 'revoke-terminal':
      return revokeTerminal(config, rest);
    case 'new-epoch':
      return newEpoch(config);
    case 'settings':
      return settingsCommand(config, rest);
    case 'sms':
      return smsReport(config);
    case 'reports':
      return reportsCommand(config, rest);
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function serve(config: ReturnType<typeof loadConfig>): Promise<number> {
  const central = await createCentral(config);
  const seed =
    config.DEMO_SEED === 'always' || (config.DEMO_SEED === 'auto' && !config.DATABASE_URL);
  let seeded = false;
  if (seed && (await isEmpty(central))) {
    await seedDemo(central);
    seeded = true;
  }
  const setupCode = await prepareSetup(central.db, config.DATA_DIR);
  const listening = await listen(central);
  const { url } = listening;
  central.log.info(
    { event: 'central:listening', url, database: central.db.dialect },
    'central listening',
  );
  console.log(`\nShowroom Loyalty central is running at ${url}`);
  console.log(
    `  database: ${central.db.dialect === 'pg' ? 'PostgreSQL' : `SQLite in ${config.DATA_DIR}`}`,
  );
  console.log(
    `  API:      ${url}/api/openapi.json   health: ${url}/healthz   metrics: ${url}/metrics`,
  );
  console.log(`  console:  ${url}/console/`);
  if (setupCode) {
    console.log(
      `  no admin yet: open the console and create the first admin with setup code ${setupCode}\n            (also in ${path.resolve(config.DATA_DIR, SETUP_CODE_FILE)}; or use npm run central -- create-admin)`,
    );
  }
  const sms = central.sms.config.provider;
  console.log(
    `  SMS:      ${sms.provider === 'dev' ? `development provider (nothing is sent): messages in ${path.resolve(config.DATA_DIR, sms.file ?? DEV_OUTBOX_FILE)}` : `${sms.provider} gateway`}${config.SMS_WORKER ? '' : ' (this process does not send: SMS_WORKER=false)'}`,
  );
  if (seeded) {
    console.log(
      '  demo chain created; sign in to the console or POST /api/auth/login (password), at a counter (PIN):',
    );
    for (const l of DEMO_LOGINS)
      console.log(
        `    ${l.username.padEnd(12)} ${l.password.padEnd(18)} PIN ${l.pin}  ${l.role}${l.showroom ? ` at ${l.showroom}` : ', every showroom'}`,
      );
  }
  console.log('');
  const stop = (signal: string) => {
    central.log.info({ event: 'central:stopping', signal }, 'stopping');
    void listening
      .close()
      .then(() => central.db.knex.destroy())
      .then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
  return new Promise<number>(() => undefined);
}

/** Prints the program's settings, or changes some: `settings set otp.maxAttempts=3 ...`. */
async function settingsCommand(
  config: ReturnType<typeof loadConfig>,
  args: string[],
): Promise<number> {
  const [verb, ...pairs] = args;
  if (verb !== undefined && verb !== 'set') {
    console.error(
      `Unknown settings command "${verb}"; use: settings, or settings set KEY=VALUE ...`,
    );
    return 2;
  }
  const patch: Record<string, unknown> = {};
  for (const pair of pairs) {
    const match = /^([a-zA-Z]+(?:\.[a-zA-Z]+)?)=(.*)$/.exec(pair);
    if (!match) {
      console.error(`"${pair}" is not KEY=VALUE (e.g. otp.maxAttempts=3).`);
      return 2;
    }
    const [, key = '', raw = ''] = match;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: the text itself (e.g. 09:30)
    }
    const [group, field] = key.split('.');
    if (field === undefined) patch[key] = value;
    else {
      const into = (patch[group ?? ''] ??= {}) as Record<string, unknown>;
      into[field] = value;
    }
  }
  if (verb === 'set' && pairs.length === 0) {
    console.error('Give at least one KEY=VALUE, e.g. settings set minRedeemPoints=200.');
    return 2;
  }
  return withCentral(config, async (central) => {
    const knex = central.db.knex;
    try {
      const settings =
        verb === 'set'
          ? await saveProgramSettings(knex, patch, { staffId: null, now: central.clock.now() })
          : await loadProgramSettings(knex);
      console.log(JSON.stringify(settings, null, 2));
      if (verb === 'set') console.log('Saved; running central processes use them within 5 s.');
      return 0;
    } catch (error) {
      if (error instanceof AppError) {
        console.error(error.message);
        return 1;
      }
      throw error;
    }
  });
}

/** Rebuilds the report rollups, or checks every report against the ledger. */
async function reportsCommand(
  config: ReturnType<typeof loadConfig>,
  args: string[],
): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { from: { type: 'string' }, to: { type: 'string' }, showrooms: { type: 'string' } },
  });
  if (sub !== 'rebuild' && sub !== 'check') {
    console.error(
      'Usage: npm run central -- reports rebuild | reports check [--from D] [--to D] [--showrooms A,B]',
    );
    return 2;
  }
  return withCentral(config, async (central) => {
    const zone = central.config.TIME_ZONE;
    if (sub === 'rebuild') {
      const started = performance.now();
      await rebuildRollups(central.db, zone, (step, ms) => {
        console.log(`  ${step}: ${Math.round(ms)} ms`);
      });
      console.log(
        `Report rollups rebuilt from the ledger in ${zone} (${Math.round(performance.now() - started)} ms).`,
      );
      return 0;
    }
    const to = values.to ?? dayOf(central.clock.now(), zone);
    const from = values.from ?? addDays(to, -30);
    const deps = { db: central.db, timeZone: zone, clock: central.clock };
    const picked = (values.showrooms ?? '').split(',').filter((c) => c.trim() !== '');
    const filters = picked.length === 0 ? [[]] : [[], picked.map((c) => c.trim())];
    const { checked, differences } = await checkReports(deps, { from, to }, filters);
    for (const d of differences)
      console.log(`  ${d.report} ${JSON.stringify(d.query)}: ${d.where}`);
    console.log(
      differences.length === 0
        ? `OK: ${checked} reports from ${from} to ${to} agree with the ledger.`
        : `DIFFERENCE: ${differences.length} of ${checked} reports differ from the ledger; run "reports rebuild".`,
    );
    return differences.length === 0 ? 0 : 1;
  });
}

/** The SMS outbox of the last day: counts by kind and status, and the latest failures. */
async function smsReport(config: ReturnType<typeof loadConfig>): Promise<number> {
  return withCentral(config, async (central) => {
    const since = new Date(central.clock.now().getTime() - 86_400_000);
    const knex = central.db.knex;
    const rows: { kind: string; status: string; n: number }[] = await knex('sms_outbox')
      .where('created_at', '>=', since)
      .groupBy('kind', 'status')
      .orderBy(['kind', 'status'])
      .select('kind', 'status', knex.raw('count(*) as n'));
    if (rows.length === 0) console.log('No SMS in the last 24 hours.');
    for (const r of rows) console.log(`${r.kind.padEnd(12)} ${r.status.padEnd(9)} ${r.n}`);
    const failures: {
      id: number;
      kind: string;
      mobile: string;
      status: string;
      last_error: string | null;
    }[] = await knex('sms_outbox')
      .whereIn('status', ['failed', 'refused', 'unknown', 'retrying'])
      .where('created_at', '>=', since)
      .orderBy('id', 'desc')
      .limit(10)
      .select('id', 'kind', 'mobile', 'status', 'last_error');
    if (failures.length > 0) console.log('\nLatest problems:');
    for (const f of failures) {
      console.log(
        `  #${f.id} ${f.kind} to ${maskMobile(f.mobile)}: ${f.status}: ${f.last_error ?? ''}`,
      );
    }
    return 0;
  });
}

/** Opens central's database for a one-off command, and closes it afterwards. */
async function withCentral(
  config: ReturnType<typeof loadConfig>,
  fn: (central: Awaited<ReturnType<typeof createCentral>>) => Promise<number>,
): Promise<number> {
  const central = await createCentral({ ...config, LOG_LEVEL: 'warn' });
  try {
    return await fn(central);
  } finally {
    await central.db.knex.destroy();
  }
}

async function pairingCode(config: ReturnType<typeof loadConfig>, args: string[]): Promise<number> {
  let showroom: string | undefined;
  try {
    showroom = parseArgs({ args, options: { showroom: { type: 'string' } } }).values.showroom;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!showroom) {
    console.error('Give the showroom the terminal stands in: --showroom CODE (e.g. MUM-01).');
    return 2;
  }
  const code = showroom;
  return withCentral(config, async (central) => {
    const issued = await issuePairingCode(central.db, code, central.clock.now());
    if (!issued) {
      console.error(`There is no showroom ${code}.`);
      return 1;
    }
    console.log(`Pairing code for a terminal at ${code}: ${issued.code}`);
    console.log(`Valid until ${issued.expiresAt.toISOString()} (15 minutes), usable once.`);
    console.log(`At the counter: npm run terminal -- pair --central URL --code ${issued.code}`);
    return 0;
  });
}

async function terminals(config: ReturnType<typeof loadConfig>): Promise<number> {
  return withCentral(config, async (central) => {
    const list = await listTerminals(central.db);
    if (list.length === 0) console.log('No terminal is paired yet.');
    for (const t of list) {
      console.log(
        `${t.id.padEnd(16)} ${t.showroomCode.padEnd(8)} ${t.name.padEnd(20)} last seen ${t.lastSeenAt ?? 'never'}  ${t.appVersion ?? ''}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`,
      );
    }
    return 0;
  });
}

async function revokeTerminal(
  config: ReturnType<typeof loadConfig>,
  args: string[],
): Promise<number> {
  const [id] = args;
  if (!id) {
    console.error('Give the terminal id, e.g. revoke-terminal MUM-01-T1A2B3C (see: terminals).');
    return 2;
  }
  return withCentral(config, async (central) => {
    if (!(await findTerminal(central.db, id))) {
      console.error(`There is no terminal ${id}.`);
      return 1;
    }
    if (!(await revokeTerminalRow(central.db, id, central.clock.now()))) {
      console.log(`${id} was revoked already.`);
      return 0;
    }
    console.log(`Revoked ${id}. A running central cuts it off within one heartbeat (5 s).`);
    return 0;
  });
}

async function newEpoch(config: ReturnType<typeof loadConfig>): Promise<number> {
  return withCentral(config, async (central) => {
    const epoch = await startNewEpoch(central.db.knex);
    console.log(`New replication epoch ${epoch}: every terminal will rebuild its cache.`);
    return 0;
  });
}

function parseStaffArgs(args: string[]) {
  return parseArgs({
    args,
    options: {
      username: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      showroom: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
    },
  });
}

async function createStaff(
  config: ReturnType<typeof loadConfig>,
  admin: boolean,
  args: string[],
): Promise<number> {
  let values: ReturnType<typeof parseStaffArgs>['values'];
  try {
    values = parseStaffArgs(args).values;
  } catch (error) {
    if (!String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw error;
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const username = values.username ?? (admin ? 'admin' : undefined);
  if (!username || !/^[a-z0-9._-]{3,64}$/.test(username)) {
    console.error('Give --username: 3–64 of a-z 0-9 . _ -');
    return 2;
  }
  const role = StaffRole.safeParse(admin ? 'admin' : values.role);
  if (!role.success) {
    console.error('Give --role cashier, manager or admin.');
    return 2;
  }
  const name = PersonName.safeParse(values.name ?? (admin ? 'Administrator' : username));
  if (!name.success) {
    console.error(`--name: ${name.error.issues[0]?.message ?? 'not a name'}`);
    return 2;
  }
  if (!values.showroom && role.data !== 'admin') {
    console.error('A cashier or manager belongs to a showroom: give --showroom CODE.');
    return 2;
  }
  let password = randomBytes(12).toString('base64url');
  const generated = !values['password-stdin'];
  if (!generated) {
    password = (await text(process.stdin)).trim();
    if (password.length < 10) {
      console.error('The password read from stdin has fewer than 10 characters.');
      return 2;
    }
  }
  const central = await createCentral({ ...config, LOG_LEVEL: 'warn' });
  try {
    if (await findStaffByUsername(central.db, username)) {
      console.error(`A staff member ${username} exists already.`);
      return 1;
    }
    let showroomId: number | null = null;
    if (values.showroom) {
      showroomId = (await findShowroomId(central.db, values.showroom)) ?? null;
      if (showroomId === null) {
        console.error(`There is no showroom ${values.showroom}.`);
        return 1;
      }
    }
    await insertStaff(
      central.db,
      {
        username,
        name: name.data,
        role: role.data,
        passwordHash: await hashSecret(password),
        pinHash: null,
        showroomId,
      },
      central.clock.now(),
    );
    console.log(`Created ${role.data} ${username}.`);
    if (generated) console.log(`Password (shown once, keep it safe): ${password}`);
    return 0;
  } finally {
    await central.db.knex.destroy();
  }
}

async function verify(config: ReturnType<typeof loadConfig>): Promise<number> {
  const central = await createCentral({ ...config, LOG_LEVEL: 'warn' });
  try {
    const report = await verifyLedger(central.db);
    console.log(
      `Checked ${report.members} members and ${report.entries} ledger entries; ${report.outstandingPoints} points outstanding.`,
    );
    for (const d of report.balanceDrift) {
      console.log(`  member ${d.memberId}: stored balance ${d.stored}, ledger says ${d.ledger}`);
    }
    for (const d of report.runningDrift) {
      console.log(
        `  entry ${d.entryId} (member ${d.memberId}): balance after ${d.stored}, recomputed ${d.recomputed}`,
      );
    }
    const bad = report.balanceDrift.length + report.runningDrift.length;
    console.log(
      bad === 0
        ? 'OK: every balance matches the ledger.'
        : `DRIFT: ${bad} figure(s) differ from the ledger.`,
    );
    return bad === 0 ? 0 : 1;
  } finally {
    await central.db.knex.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  },
);
