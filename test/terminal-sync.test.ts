import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, describeEachDb } from './support/databases.ts';
import { freePort } from '../bench/support.ts';
import { startTestCentral, type TestCentral } from './support/central.ts';
import {
  counterSale,
  pairNewTerminal,
  startPairedTerminal,
  waitConverged,
  waitFor,
  connectRawSync,
  refusalOf,
} from './support/terminal.ts';
import { startChaosProxy } from './support/chaos-proxy.ts';
import { TerminalCore, CounterError } from '../terminal/core.ts';
import type { Stamp } from '../central/db/ledger-store.ts';
import { PROTOCOL_VERSION } from '../shared/protocol/sync.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

describeEachDb('terminal replication', (dialect) => {
  let c: TestCentral;
  let a: Terminal;
  let b: Terminal;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
    a = await startPairedTerminal(c, 'MUM-01');
    b = await startPairedTerminal(c, 'DEL-01');
    await Promise.all([waitConverged(a.core, c.central), waitConverged(b.core, c.central)]);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await c.close();
  });

  /** A terminal that reaches central through a proxy the test can take down. */
  async function proxiedTerminal() {
    const proxy = await startChaosProxy({ host: '127.0.0.1', port: Number(new URL(c.url).port) });
    const t = await startPairedTerminal(c, 'MUM-01', { sync: { centralUrl: proxy.url } });
    await waitConverged(t.core, c.central);
    return { t, proxy };
  }

  it('a sale at one showroom shows at the other counter, and both caches equal central', async () => {
    const enrolled = a.core.enrol({ mobile: '98200 11111', name: 'Meena Iyer', smsConsent: true });
    expect(enrolled.created).toBe(true);
    expect(enrolled.member.id).toBeNull(); // enrolled here, not yet at central
    await waitFor(
      'the enrolment to reach B',
      () => b.core.findByMobile('9820011111') !== undefined,
    );
    const sale = a.core.recordSale(
      counterSale('MUM-B-1', '+919820011111', [
        ['ELEC', 1_000], // 2 per ₹100 → 20
        ['BOOK', 199], // 5 per ₹100 → 9 (floor of 9.95)
      ]),
    );
    expect(sale.pendingPoints).toBe(29);
    await waitFor(
      'B to show the new balance',
      () => b.core.findByMobile('9820011111')?.balance === 29,
    );
    await waitConverged(a.core, c.central);
    await waitConverged(b.core, c.central);
    expect(a.core.findByMobile('9820011111')).toMatchObject({ balance: 29, pendingPoints: 0 });
    const sales = await c.central.db.knex('sales').where('bill_number', 'MUM-B-1');
    expect(sales).toHaveLength(1);
  });

  it('finds members in the cache by exact mobile, last digits and name prefix (Hindi too)', async () => {
    b.core.enrol({ mobile: '9811022222', name: 'अमित सिंह', smsConsent: false });
    b.core.enrol({ mobile: '9811033333', name: 'Amrita Rao', smsConsent: true });
    await waitConverged(b.core, c.central);
    expect(b.core.findByMobile('+91 98110 22222')?.name).toBe('अमित सिंह');
    expect(b.core.suggest('2222').map((m) => m.mobile)).toEqual(['+919811022222']);
    expect(b.core.suggest('3333').map((m) => m.name)).toEqual(['Amrita Rao']);
    expect(b.core.suggest('am').map((m) => m.name)).toEqual(['Amrita Rao']);
    expect(b.core.suggest('अमि').map((m) => m.name)).toEqual(['अमित सिंह']);
    expect(b.core.suggest('zz')).toEqual([]);
    expect(b.core.suggest('12')).toEqual([]); // fewer than 3 digits is not a search
  });

  it('keeps selling while central is unreachable, shows pending points, and replays each sale once', async () => {
    const { t, proxy } = await proxiedTerminal();
    try {
      t.core.enrol({ mobile: '9833044444', name: 'Offline Member', smsConsent: true });
      await waitConverged(t.core, c.central);
      proxy.setDown(true);
      await waitFor('the terminal to see it is offline', () => t.core.status().link !== 'online');
      for (let i = 1; i <= 5; i += 1) {
        t.core.recordSale(counterSale(`OFF-${i}`, '9833044444', [['ELEC', 500]])); // 10 each
      }
      t.core.enrol({ mobile: '9833055555', name: 'Enrolled Offline', smsConsent: true });
      t.core.recordSale(counterSale('OFF-NEW', '9833055555', [['BOOK', 100]])); // 5
      expect(t.core.findByMobile('9833044444')).toMatchObject({ balance: 0, pendingPoints: 50 });
      expect(t.core.findByMobile('9833055555')).toMatchObject({ id: null, pendingPoints: 5 });
      expect(t.core.status()).toMatchObject({ pending: 7, refused: 0 });
      expect(await c.central.db.knex('sales').where('bill_number', 'like', 'OFF-%')).toHaveLength(
        0,
      );

      proxy.setDown(false);
      await waitConverged(t.core, c.central);
      expect(t.core.findByMobile('9833044444')).toMatchObject({ balance: 50, pendingPoints: 0 });
      expect(t.core.findByMobile('9833055555')).toMatchObject({ balance: 5, pendingPoints: 0 });
      const bills = await c.central.db
        .knex('sales')
        .where('bill_number', 'like', 'OFF-%')
        .select('bill_number');
      expect(bills.map((r: { bill_number: string }) => r.bill_number).sort()).toEqual(
        ['OFF-1', 'OFF-2', 'OFF-3', 'OFF-4', 'OFF-5', 'OFF-NEW'].sort(),
      );
      expect(t.core.status()).toMatchObject({ link: 'online', pending: 0 });
      expect(t.core.status().lastSyncAt).not.toBeNull();
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('back from an outage, sends its outbox beside the pull, not after it', async () => {
    const proxy = await startChaosProxy({ host: '127.0.0.1', port: Number(new URL(c.url).port) });
    // Pages of 5 states: the pull back to the head takes many round trips.
    const t = await startPairedTerminal(c, 'MUM-01', {
      sync: { centralUrl: proxy.url, pullLimit: 5 },
    });
    try {
      t.core.enrol({ mobile: '9833066666', name: 'Back Again', smsConsent: true });
      await waitConverged(t.core, c.central);
      proxy.setDown(true);
      await waitFor('the terminal to see it is offline', () => t.core.status().link !== 'online');
      t.core.recordSale(counterSale('BESIDE-1', '9833066666', [['ELEC', 500]]));
      // 120 changes elsewhere while this counter is away.
      for (let i = 0; i < 120; i += 1)
        b.core.enrol({
          mobile: `98331${String(i).padStart(5, '0')}`,
          name: `Away ${'abcdefghijklmnopqrstuvwxyz'[i % 26] ?? ''}${'abcdefghij'[Math.floor(i / 26)] ?? ''}`,
          smsConsent: false,
        });
      await waitConverged(b.core, c.central);
      const head = await c.central.db.knex('change_seq').where('id', 1).first('head');
      let cursorWhenSent: number | undefined;
      t.core.sync.on('status', () => {
        if (cursorWhenSent === undefined && t.core.status().pending === 0)
          cursorWhenSent = t.core.store.cursor;
      });
      proxy.setDown(false);
      await waitConverged(t.core, c.central);
      expect(await c.central.db.knex('sales').where('bill_number', 'BESIDE-1')).toHaveLength(1);
      // The sale was at central, and settled, while the pull was still short of the head.
      expect(cursorWhenSent).toBeDefined();
      expect(cursorWhenSent).toBeLessThan(Number((head as { head: number | string }).head));
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('keeps an item central refuses, with its error, for a manager to retry or set aside', async () => {
    const { t, proxy } = await proxiedTerminal();
    try {
      proxy.setDown(true);
      await waitFor('offline', () => t.core.status().link !== 'online');
      // The counter itself refuses a second sale under a bill number it has taken.
      const first = t.core.recordSale(counterSale('DUP-0', '9820011111', [['ELEC', 100]]));
      expect(() => t.core.recordSale(counterSale('DUP-0', '9820011111', [['ELEC', 300]]))).toThrow(
        /already recorded at this counter/,
      );
      // Another till of the showroom used DUP-1 at central meanwhile: central refuses ours.
      const second = t.core.recordSale(counterSale('DUP-1', '9820011111', [['ELEC', 300]]));
      const other = await c.request('POST', '/api/sales', {
        token: c.tokens.cashier,
        body: { showroomCode: 'MUM-01', ...counterSale('DUP-1', '9820011111', [['ELEC', 50]]) },
        headers: { 'idempotency-key': `other-till-${Date.now()}` },
      });
      expect(other.status, JSON.stringify(other.body)).toBe(201);
      const after = t.core.recordSale(counterSale('DUP-2', '9820011111', [['ELEC', 100]]));
      proxy.setDown(false);
      await waitFor('the outbox to settle', () => t.core.status().pending === 0);
      expect(t.core.status().refused).toBe(1);
      const refused = t.core.store.outboxItem(second.key);
      expect(refused?.state).toBe('refused');
      expect(JSON.stringify(refused?.lastError)).toMatch(/bill|DUP-1/i);
      expect(t.core.store.outboxItem(first.key)).toBeUndefined();
      expect(t.core.store.outboxItem(after.key)).toBeUndefined(); // later items were not blocked
      // A manager sets it aside with a reason: the row stays, no longer counted as refused.
      expect(t.core.store.discard(second.key, 'keyed twice by mistake')).toBe(true);
      expect(t.core.store.outboxItem(second.key)).toMatchObject({
        state: 'discarded',
        resolvedNote: 'keyed twice by mistake',
      });
      expect(t.core.status().refused).toBe(0);
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('a sale central applied but whose answer was lost is replayed, not written twice', async () => {
    const { t, proxy } = await proxiedTerminal();
    try {
      proxy.setDown(true);
      await waitFor('offline', () => t.core.status().link !== 'online');
      const sale = t.core.recordSale(counterSale('LOST-ACK', '9820011111', [['ELEC', 100]]));
      // Central received and committed it (the same key and body), but the answer never arrived.
      const item = t.core.store.outboxItem(sale.key);
      const direct = await c.request('POST', '/api/sales', {
        token: c.tokens.cashier,
        body: item?.body,
        headers: { 'idempotency-key': sale.key },
      });
      expect(direct.status).toBe(201);
      proxy.setDown(false);
      await waitConverged(t.core, c.central);
      expect(await c.central.db.knex('sales').where('bill_number', 'LOST-ACK')).toHaveLength(1);
      expect(t.core.store.outboxItem(sale.key)).toBeUndefined();
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('applies duplicated and reordered pushes correctly, and pulls when one is lost', async () => {
    const held: Stamp[] = [];
    const listeners = c.central.changes.listeners('committed') as ((s: Stamp) => void)[];
    c.central.changes.removeAllListeners('committed');
    c.central.changes.on('committed', (stamp: Stamp) => held.push(stamp));
    const heartbeat = 200;
    try {
      const before = b.core.store.cursor;
      for (let i = 1; i <= 3; i += 1) {
        a.core.recordSale(counterSale(`PUSH-${i}`, '9820011111', [['ELEC', 100 * i]]));
        await waitFor(`sale ${i} committed`, () => held.length === i);
      }
      const epoch = b.core.store.epoch ?? '';
      const emit = (s: Stamp) => {
        c.listening.sync.io.of('/sync').emit('member:changed', {
          epoch,
          fromSeq: s.fromSeq,
          toSeq: s.toSeq,
          changes: s.states,
        });
      };
      const [s1, s2, s3] = held as [Stamp, Stamp, Stamp];
      // Reordered and duplicated: 3, 1, 1, 2. B holds 3, applies 1, ignores the duplicate,
      // applies 2 and then the held 3, without waiting for a pull.
      emit(s3);
      emit(s1);
      emit(s1);
      emit(s2);
      await waitFor(
        'B to apply the reordered pushes',
        () => b.core.store.cursor === s3.toSeq,
        heartbeat,
      );
      expect(b.core.store.cursor).toBeGreaterThan(before);
      expect(b.core.findByMobile('9820011111')?.balance).toBe(s3.states[0]?.balance);

      // Lost: a fourth sale's push is never sent. B notices from the heartbeat's head and pulls.
      a.core.recordSale(counterSale('PUSH-4', '9820011111', [['ELEC', 100]]));
      await waitFor('sale 4 committed', () => held.length === 4);
      await waitConverged(b.core, c.central, 5 * heartbeat + 2_000);
    } finally {
      c.central.changes.removeAllListeners('committed');
      for (const l of listeners) c.central.changes.on('committed', l);
    }
  });

  it('ignores a malformed push with a note, and changes nothing', async () => {
    await waitConverged(b.core, c.central);
    const notes: Error[] = [];
    const onNote = (e: Error) => notes.push(e);
    b.core.sync.on('error-note', onNote);
    const before = { cursor: b.core.store.cursor, members: b.core.store.allMembers() };
    const nsp = c.listening.sync.io.of('/sync');
    const epoch = b.core.store.epoch ?? '';
    nsp.emit('member:changed', {
      epoch,
      fromSeq: before.cursor,
      toSeq: before.cursor + 1,
      changes: [
        {
          id: 1,
          mobile: '+919820011111',
          name: 'X',
          balance: 'lots',
          tier: 'base',
          smsConsent: true,
          seq: before.cursor + 1,
        },
      ],
    });
    nsp.emit('member:changed', 'not a push');
    await waitFor('two notes', () => notes.length >= 2, 2_000);
    b.core.sync.off('error-note', onNote);
    expect(notes[0]?.message).toMatch(/ignored a malformed push/);
    expect(b.core.store.cursor).toBe(before.cursor);
    expect(b.core.store.allMembers()).toEqual(before.members);
  });

  it('rebuilds its cache when central is given a new epoch (restored from a backup)', async () => {
    const rebuilt: unknown[] = [];
    b.core.sync.on('rebuilt', (r: unknown) => rebuilt.push(r));
    const oldEpoch = b.core.store.epoch;
    // A stale state the cache must not keep: a member that central does not have.
    b.core.store.applyChanges(
      [
        {
          id: 999_999,
          mobile: '+919000000001',
          name: 'Ghost',
          balance: 7,
          tier: 'base',
          smsConsent: false,
          seq: 1,
          lastVisitAt: null,
        },
      ],
      { cursor: b.core.store.cursor, epoch: oldEpoch ?? '' },
    );
    await c.central.db.knex('meta').where('key', 'epoch').update({ value: 'restored-epoch-1' });
    await waitConverged(b.core, c.central);
    expect(b.core.store.epoch).toBe('restored-epoch-1');
    expect(b.core.store.findById(999_999)).toBeUndefined();
    expect(rebuilt.length).toBeGreaterThan(0);
  });

  it('a terminal whose clock is days off stamps sales with central’s time', async () => {
    const threeDays = 3 * 86_400_000;
    const t = await startPairedTerminal(c, 'MUM-01', {
      sync: { now: () => Date.now() + threeDays },
    });
    try {
      await waitConverged(t.core, c.central);
      const offset = t.core.status().clockOffsetMs;
      const centralNow = c.clock.now().getTime();
      expect(Math.abs(Date.now() + threeDays + offset - centralNow)).toBeLessThan(2_000);
      const sale = t.core.recordSale(counterSale('CLOCK-1', '9820011111', [['ELEC', 100]]));
      await waitConverged(t.core, c.central);
      const row: { sold_at: unknown } = await c.central.db
        .knex('sales')
        .where('bill_number', 'CLOCK-1')
        .first('sold_at');
      expect(Math.abs(new Date(String(row.sold_at)).getTime() - centralNow)).toBeLessThan(5_000);
      expect(t.core.store.outboxItem(sale.key)).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('refuses at the counter what central would refuse, and queues nothing', () => {
    const before = a.core.status().pending;
    expect(() => a.core.recordSale(counterSale('X-1', '9999999999', [['ELEC', 100]]))).toThrow(
      /enrol the customer first/,
    );
    expect(() => a.core.recordSale(counterSale('X-2', '12345', [['ELEC', 100]]))).toThrow(
      CounterError,
    );
    expect(() => a.core.recordSale(counterSale('X-3', '9820011111', [['NOPE', 100]]))).toThrow(
      /No earn rate for NOPE/,
    );
    expect(() => a.core.recordSale(counterSale('X-4', '9820011111', []))).toThrow(
      /at least one line/,
    );
    expect(() => a.core.enrol({ mobile: '9820099999', name: '', smsConsent: true })).toThrow(
      CounterError,
    );
    expect(a.core.status().pending).toBe(before);
  });
});

describeEachDb('terminal pairing and refusals', (dialect) => {
  let c: TestCentral;
  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
  });
  afterAll(async () => {
    await c.close();
  });

  it('pairs once per code, keeps the secret owner-only, and central keeps only its hash', async () => {
    const issued = await c.request('POST', '/api/terminals/pairing-codes', {
      token: c.tokens.admin,
      body: { showroomCode: 'MUM-01' },
    });
    expect(issued.status).toBe(201);
    expect(issued.body.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const pair = (code: string) =>
      c.request('POST', '/api/terminals/pair', { body: { code, name: 'Till 1' } });
    const first = await pair(issued.body.code as string);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ showroomCode: 'MUM-01', protocolVersion: PROTOCOL_VERSION });
    const again = await pair(issued.body.code as string);
    expect(again.status).toBeGreaterThanOrEqual(400);
    const row: { secret_hash: string } = await c.central.db
      .knex('terminals')
      .where('id', first.body.terminalId)
      .first('secret_hash');
    expect(row.secret_hash).not.toContain(first.body.secret);
    expect(JSON.stringify(await c.central.db.knex('terminals'))).not.toContain(first.body.secret);

    const { dataDir } = await pairNewTerminal(c, 'DEL-01');
    expect(fs.statSync(`${dataDir}/terminal.json`).mode & 0o777).toBe(0o600);
    fs.rmSync(dataDir, { recursive: true });
  });

  it('a code expires after 15 minutes', async () => {
    const issued = await c.request('POST', '/api/terminals/pairing-codes', {
      token: c.tokens.admin,
      body: { showroomCode: 'MUM-01' },
    });
    c.clock.advance(15 * 60_000 + 1_000);
    const late = await c.request('POST', '/api/terminals/pair', {
      body: { code: issued.body.code, name: 'Late' },
    });
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(late.body)).toMatch(/expired|used|unknown/i);
  });

  it('only an admin issues codes', async () => {
    const r = await c.request('POST', '/api/terminals/pairing-codes', {
      token: c.tokens.manager,
      body: { showroomCode: 'MUM-01' },
    });
    expect(r.status).toBe(403);
  });

  it('refuses a terminal that speaks another protocol version, with a message, not a crash', async () => {
    const { credentials, dataDir } = await pairNewTerminal(c, 'MUM-01');
    const newer = await refusalOf(c.url, {
      ...credentials,
      protocolVersion: PROTOCOL_VERSION + 1,
    });
    // A terminal of the previous protocol (before last visits, staff and the catalogue).
    const older = await refusalOf(c.url, { ...credentials, protocolVersion: 1 });
    fs.rmSync(dataDir, { recursive: true });
    expect(newer.data?.code).toBe('protocol-version');
    expect(newer.data?.message).toContain(
      `speaks sync protocol ${PROTOCOL_VERSION}; the terminal speaks ${PROTOCOL_VERSION + 1}`,
    );
    expect(PROTOCOL_VERSION).toBe(3);
    expect(older.data?.code).toBe('protocol-version');
    expect(older.data?.message).toMatch(
      /speaks sync protocol 3; the terminal speaks 1\. Update the terminal\./,
    );
  });

  it('refuses a wrong secret and an unknown terminal', async () => {
    const { credentials, dataDir } = await pairNewTerminal(c, 'MUM-01');
    fs.rmSync(dataDir, { recursive: true });
    for (const auth of [
      { terminalId: credentials.terminalId, secret: 'x'.repeat(43) },
      { terminalId: 'MUM-01-TFFFFFF', secret: credentials.secret },
    ]) {
      const error = await refusalOf(c.url, auth);
      expect(error.data?.code).toBe('unknown-terminal');
    }
  });

  it('a revoked terminal is cut off at once and refused from then on', async () => {
    const t = await startPairedTerminal(c, 'MUM-01');
    try {
      await waitConverged(t.core, c.central);
      const refusals: { code: string }[] = [];
      t.core.on('refused', (r: { code: string }) => refusals.push(r));
      const revoked = await c.request('POST', `/api/terminals/${t.credentials.terminalId}/revoke`, {
        token: c.tokens.admin,
      });
      expect(revoked.status).toBe(200);
      await waitFor('the terminal to be cut off', () => t.core.status().link === 'refused', 2_000);
      expect(refusals[0]?.code).toBe('revoked');
      expect(t.core.status().refusal).toMatch(/revoked/);
      // It keeps taking sales into its outbox (the counter must not stop), but central refuses it.
      const again = new TerminalCore({ dataDir: t.dataDir, credentials: t.credentials });
      again.start();
      await waitFor('the reconnect to be refused', () => again.status().link === 'refused', 5_000);
      expect(again.status().refusal).toMatch(/revoked/);
      await again.sync.stop();
      again.store.close();
    } finally {
      await t.close();
    }
  });

  it('a terminal revoked from the CLI (no push from central) is refused at its next submit', async () => {
    const t = await startPairedTerminal(c, 'MUM-01');
    try {
      t.core.enrol({ mobile: '9820066661', name: 'Revoke Probe', smsConsent: true });
      await waitConverged(t.core, c.central);
      // As `npm run central -- revoke-terminal` does: only the database knows.
      await c.central.db
        .knex('terminals')
        .where('id', t.credentials.terminalId)
        .update({
          revoked_at: c.central.db.dialect === 'pg' ? new Date() : new Date().toISOString(),
        });
      await new Promise((r) => setTimeout(r, 1_100)); // central re-reads revocation each second
      const sale = t.core.recordSale(counterSale('REV-1', '9820066661', [['ELEC', 100]]));
      await waitFor('the terminal to be refused', () => t.core.status().link === 'refused', 5_000);
      expect(await c.central.db.knex('sales').where('bill_number', 'REV-1')).toHaveLength(0);
      expect(t.core.store.outboxItem(sale.key)?.state).toBe('queued'); // kept, not dropped
    } finally {
      await t.close();
    }
  });

  it("when an enrolment fails on central, the same member's sale in that submit is not attempted", async () => {
    const { credentials, dataDir } = await pairNewTerminal(c, 'MUM-01');
    const writer = c.central.writer;
    const original = writer.write.bind(writer);
    let failures = 0;
    writer.write = (command) => {
      if (command.kind === 'enrol' && failures === 0) {
        failures += 1;
        return Promise.reject(new Error('database went away'));
      }
      return original(command);
    };
    const socket = await connectRawSync(c.url, credentials);
    try {
      const items = [
        {
          kind: 'enrol',
          key: `${credentials.terminalId}-e1`,
          body: {
            mobile: '+919820066662',
            name: 'Fails Once',
            smsConsent: true,
            showroomCode: 'MUM-01',
          },
        },
        {
          kind: 'sale',
          key: `${credentials.terminalId}-s1`,
          body: {
            showroomCode: 'MUM-01',
            billNumber: 'NA-1',
            soldAt: c.clock.now().toISOString(),
            mobile: '+919820066662',
            lines: [{ sku: 'A', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }],
          },
        },
      ];
      const submit = () =>
        socket.timeout(5_000).emitWithAck('outbox:submit', { items }) as Promise<{
          results: { outcome: string; status: number; body: { type?: string } }[];
        }>;
      const first = await submit();
      expect(first.results.map((r) => r.status)).toEqual([500, 503]);
      expect(first.results[1]?.body.type).toBe('/problems/not-attempted');
      expect(await c.central.db.knex('sales').where('bill_number', 'NA-1')).toHaveLength(0);
      const again = await submit();
      expect(again.results.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    } finally {
      writer.write = original;
      socket.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('lists terminals with last seen and version', async () => {
    const list = await c.request('GET', '/api/terminals', { token: c.tokens.admin });
    expect(list.status).toBe(200);
    const { terminals } = list.body as {
      terminals: {
        id: string;
        lastSeenAt: string | null;
        appVersion: string | null;
        revokedAt: string | null;
      }[];
    };
    // The terminals the tests above paired: those that connected were seen, with their
    // version; those revoked say when.
    expect(terminals.length).toBeGreaterThanOrEqual(4);
    expect(terminals.filter((t) => t.lastSeenAt !== null).length).toBeGreaterThanOrEqual(2);
    expect(terminals.some((t) => t.appVersion === '0.1.0')).toBe(true);
    expect(terminals.filter((t) => t.revokedAt !== null).length).toBeGreaterThanOrEqual(2);
    // Managers see the terminals in the console; cashiers do not.
    expect((await c.request('GET', '/api/terminals', { token: c.tokens.manager })).status).toBe(
      200,
    );
    expect((await c.request('GET', '/api/terminals', { token: c.tokens.cashier })).status).toBe(
      403,
    );
  });
});

describe("central restored from a backup taken before the terminal's cursor", () => {
  it('the terminal sees a head behind its cursor, rebuilds its cache and sends its outbox again', async () => {
    const database = await createTestDatabase('sqlite');
    const port = await freePort();
    const env = { PORT: String(port) };
    let c = await startTestCentral('sqlite', { database, env, sync: { heartbeatMs: 200 } });
    const { dataDir, credentials } = await pairNewTerminal(c, 'MUM-01');
    const core = new TerminalCore({ dataDir, credentials }).start();
    try {
      core.enrol({ mobile: '9820044444', name: 'Before Backup', smsConsent: true });
      await waitConverged(core, c.central);
      // The nightly backup (SQLite: the database file, taken while central is stopped).
      await c.close();
      const file = `${database.env.DATA_DIR}/central.sqlite`;
      fs.copyFileSync(file, `${file}.backup`);
      c = await startTestCentral('sqlite', {
        database,
        env,
        noFixture: true,
        sync: { heartbeatMs: 200 },
      });
      await waitFor('reconnected', () => core.status().link === 'online');
      core.enrol({ mobile: '9820055555', name: 'After Backup', smsConsent: true });
      core.recordSale(counterSale('AFTER-1', '9820044444', [['ELEC', 500]]));
      await waitConverged(core, c.central);
      const cursorBefore = core.store.cursor;
      // The disk fails; the backup is restored: central's head goes back behind the cursor.
      await c.close();
      fs.copyFileSync(`${file}.backup`, file);
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
      const rebuilt: unknown[] = [];
      core.sync.on('rebuilt', (r: unknown) => rebuilt.push(r));
      // Meanwhile the counter keeps selling.
      const offline = core.recordSale(counterSale('DURING-1', '9820044444', [['ELEC', 100]]));
      c = await startTestCentral('sqlite', {
        database,
        env,
        noFixture: true,
        sync: { heartbeatMs: 200 },
      });
      await waitConverged(core, c.central);
      expect(rebuilt.length).toBeGreaterThan(0);
      expect(core.store.cursor).toBeLessThan(cursorBefore);
      // What the backup lost is gone from the cache too (central is the truth), and what the
      // counter took while central was down reached the restored central.
      expect(core.findByMobile('9820055555')).toBeUndefined();
      expect(core.store.outboxItem(offline.key)).toBeUndefined();
      expect(await c.central.db.knex('sales').where('bill_number', 'DURING-1')).toHaveLength(1);
      expect(core.findByMobile('9820044444')?.balance).toBe(2);
    } finally {
      await core.stop();
      await c.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('terminal outbox durability', () => {
  it('an item is on disk before recordSale returns (a second connection sees it)', async () => {
    const c = await startTestCentral('sqlite');
    try {
      const { dataDir, credentials } = await pairNewTerminal(c, 'MUM-01');
      const core = new TerminalCore({ dataDir, credentials }).start();
      await waitConverged(core, c.central);
      core.enrol({ mobile: '9820012345', name: 'Durable', smsConsent: true });
      await waitConverged(core, c.central);
      await core.sync.stop(); // offline
      const sale = core.recordSale(counterSale('DUR-1', '9820012345', [['ELEC', 100]]));
      const other = new (await import('../terminal/store.ts')).TerminalStore(
        `${dataDir}/cache.sqlite`,
      );
      expect(other.outboxItem(sale.key)?.state).toBe('queued');
      other.close();
      core.store.close();
      fs.rmSync(dataDir, { recursive: true });
    } finally {
      await c.close();
    }
  });
});
