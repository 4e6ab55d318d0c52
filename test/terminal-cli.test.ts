import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCentral, type TestCentral } from './support/central.ts';
import { TerminalCore } from '../terminal/core.ts';
import { counterSale, waitConverged, waitFor } from './support/terminal.ts';
import { readOtp } from './support/redeem.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `node terminal/main.ts ...args` with its own data folder. */
function terminalCli(
  dataDir: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['terminal/main.ts', ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERMINAL_DATA_DIR: dataDir },
        timeout: 25_000,
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('npm run terminal', () => {
  let c: TestCentral;
  let dataDir: string;
  beforeAll(async () => {
    c = await startTestCentral('sqlite');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-terminal-cli-'));
  });
  afterAll(async () => {
    await c.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('explains what to do before the terminal is paired', async () => {
    const r = await terminalCli(dataDir, ['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not paired.*npm run terminal -- pair --central URL --code CODE/s);
  });

  it('refuses a bad central URL, a missing code and an unknown command with usage (exit 2)', async () => {
    expect(
      (await terminalCli(dataDir, ['pair', '--central', 'ftp://x', '--code', 'AAAA-BBBB'])).code,
    ).toBe(2);
    expect((await terminalCli(dataDir, ['pair', '--central', c.url])).stderr).toMatch(
      /--code CODE/,
    );
    const unknown = await terminalCli(dataDir, ['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command "frobnicate"/);
  });

  it('says so when central refuses the code, and when it cannot be reached', async () => {
    const refused = await terminalCli(dataDir, ['pair', '--central', c.url, '--code', 'ZZZZ-ZZZZ']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /Central refused the pairing: .*unknown, already used or expired/,
    );
    const unreachable = await terminalCli(dataDir, [
      'pair',
      '--central',
      'http://127.0.0.1:9',
      '--code',
      'ZZZZ-ZZZZ',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/Cannot reach central at http:\/\/127.0.0.1:9/);
    expect(fs.existsSync(path.join(dataDir, 'terminal.json'))).toBe(false);
  });

  it('pairs with a code, keeps the secret owner-only, and shows status, lookup and outbox', async () => {
    const issued = await c.request('POST', '/api/terminals/pairing-codes', {
      token: c.tokens.admin,
      body: { showroomCode: 'MUM-01' },
    });
    const code = (issued.body as { code: string }).code.toLowerCase(); // typed in lower case
    const paired = await terminalCli(dataDir, [
      'pair',
      '--central',
      c.url,
      '--code',
      code,
      '--name',
      'Till 2',
    ]);
    expect(paired.code, paired.stderr).toBe(0);
    expect(paired.stdout).toMatch(/Paired as MUM-01-T[0-9A-F]{6} at showroom MUM-01/);
    expect(fs.statSync(path.join(dataDir, 'terminal.json')).mode & 0o777).toBe(0o600);
    const again = await terminalCli(dataDir, ['pair', '--central', c.url, '--code', code]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already paired/);

    // A running core fills the cache and takes a sale central refuses (another till of the
    // showroom used its bill number), so that the outbox has something for a manager.
    const core = new TerminalCore({ dataDir }).start();
    core.enrol({ mobile: '9820077777', name: 'Sunita Joshi', smsConsent: true });
    await waitConverged(core, c.central);
    const otherTill = await c.request('POST', '/api/sales', {
      token: c.tokens.cashier,
      body: { showroomCode: 'MUM-01', ...counterSale('CLI-1', '9820077777', [['ELEC', 100]]) },
      headers: { 'idempotency-key': `other-till-cli-${Date.now()}` },
    });
    expect(otherTill.status, JSON.stringify(otherTill.body)).toBe(201);
    core.recordSale(counterSale('CLI-1', '9820077777', [['ELEC', 200]]));
    await new Promise<void>((resolve) => {
      const check = () => {
        if (core.status().pending === 0) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    await core.stop();

    const status = await terminalCli(dataDir, ['status']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ link: 'offline', pending: 0, refused: 1 });
    const lookup = await terminalCli(dataDir, ['lookup', '7777']);
    expect(lookup.stdout).toMatch(/\+919820077777 {2}Sunita Joshi {2}balance 2/);
    const byName = await terminalCli(dataDir, ['lookup', 'sun']);
    expect(byName.stdout).toMatch(/Sunita Joshi/);
    const outbox = await terminalCli(dataDir, ['outbox']);
    expect(outbox.stdout).toMatch(/refused +sale +\S+ +\+919820077777 .*— .*CLI-1/);
    expect(outbox.stdout).toMatch(/0 queued, 1 refused, 0 set aside/);
    const key = /refused +sale +(\S+)/.exec(outbox.stdout)?.[1] ?? '';
    expect((await terminalCli(dataDir, ['outbox', 'discard', key])).code).toBe(2); // no reason
    const discard = await terminalCli(dataDir, [
      'outbox',
      'discard',
      key,
      '--reason',
      'keyed twice',
    ]);
    expect(discard.code).toBe(0);
    expect((await terminalCli(dataDir, ['outbox'])).stdout).toMatch(/discarded .*\[keyed twice\]/);
  });

  it('redeems at the counter with the OTP the member reads out, after a wrong one', async () => {
    const core = new TerminalCore({ dataDir }).start();
    core.recordSale(counterSale('CLI-2', '9820077777', [['BOOK', 4_000]])); // 200 points
    await waitConverged(core, c.central);
    await core.stop();
    core.store.close();

    const child = spawn(
      process.execPath,
      [
        'terminal/main.ts',
        'redeem',
        '--mobile',
        '98200 77777',
        '--bill',
        'CLI-R-1',
        '--amount',
        '1,000',
        '--points',
        '100',
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERMINAL_DATA_DIR: dataDir },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor('the OTP prompt', () => stdout.includes('OTP (or "resend"): '), 20_000);
      expect(stdout).toMatch(
        /Sunita Joshi \(\+91 XXXXXX7777\): 202 points; this bill allows up to 202 \(₹202.00\)/,
      );
      expect(stdout).toMatch(/Redemption \d+: 100 points = ₹100.00. OTP sent to \+91 XXXXXX7777./);
      const otp = await readOtp(c, '+919820077777');
      child.stdin.write(`${otp === '999999' ? '999998' : '999999'}\n`);
      await waitFor('the wrong-OTP answer', () => stderr.includes('Wrong OTP; 4 tries left.'));
      child.stdin.write(`${otp}\n`);
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
    expect(stdout).toMatch(/Redeemed 100 points \(₹100.00 off bill CLI-R-1\); balance now 102./);
    const member = await c.central.db
      .knex('members')
      .where('mobile', '+919820077777')
      .first('balance');
    expect(member.balance).toBe(102);
  });
});
