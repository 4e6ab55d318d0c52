import fs from 'node:fs';
import { expect } from 'vitest';
import { verifyLedger } from '../../central/ledger/verify.ts';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '../../shared/protocol/sync.ts';
import { SYNC_PATH } from '../../terminal/sync-client.ts';
import os from 'node:os';
import path from 'node:path';
import { saveCredentials, type Credentials } from '../../terminal/credentials.ts';
import { TerminalCore, type TerminalCoreOptions } from '../../terminal/core.ts';
import type { MemberState } from '../../shared/protocol/sync.ts';
import type { Central } from '../../central/server.ts';
import { STATE_COLUMNS, toState } from '../../central/db/sync-store.ts';

/** Enough of a running central to pair a terminal with it over HTTP. */
export interface PairingTarget {
  url: string;
  tokens: { admin: string };
}

/** Asks central for a pairing code (as an admin) and exchanges it, as `npm run terminal -- pair` does. */
export async function pairNewTerminal(
  target: PairingTarget,
  showroomCode: string,
  name = 'Counter',
): Promise<{ dataDir: string; credentials: Credentials }> {
  const issued = await fetch(`${target.url}/api/terminals/pairing-codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.tokens.admin}` },
    body: JSON.stringify({ showroomCode }),
  });
  if (issued.status !== 201)
    throw new Error(`pairing code: ${issued.status} ${await issued.text()}`);
  const { code } = (await issued.json()) as { code: string };
  const paired = await fetch(`${target.url}/api/terminals/pair`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, name }),
  });
  if (paired.status !== 201) throw new Error(`pair: ${paired.status} ${await paired.text()}`);
  const body = (await paired.json()) as {
    terminalId: string;
    secret: string;
    showroomCode: string;
  };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-terminal-'));
  const credentials: Credentials = {
    centralUrl: target.url,
    terminalId: body.terminalId,
    secret: body.secret,
    showroomCode: body.showroomCode,
    name,
    pairedAt: new Date().toISOString(),
  };
  saveCredentials(dataDir, credentials);
  return { dataDir, credentials };
}

/** Pairs and starts a terminal core; `close` stops it and removes its folder. */
export async function startPairedTerminal(
  target: PairingTarget,
  showroomCode: string,
  options: Partial<TerminalCoreOptions> = {},
): Promise<{
  core: TerminalCore;
  dataDir: string;
  credentials: Credentials;
  close(): Promise<void>;
}> {
  const { dataDir, credentials } = await pairNewTerminal(target, showroomCode);
  const core = new TerminalCore({ dataDir, credentials, ...options }).start();
  return {
    core,
    dataDir,
    credentials,
    close: async () => {
      await core.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns true, or fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every member's replicated state at central, in id order. */
export async function centralStates(central: Central): Promise<MemberState[]> {
  const rows: Parameters<typeof toState>[0][] = await central.db
    .knex('members')
    .orderBy('id')
    .select(STATE_COLUMNS);
  return rows.map(toState);
}

/** Central's newest change number. */
export async function centralHead(central: Central): Promise<number> {
  const row: { head: number } | undefined = await central.db
    .knex('change_seq')
    .where('id', 1)
    .first('head');
  return row?.head ?? 0;
}

/** Waits until the terminal's cache equals central's members and its outbox is empty. */
export async function waitConverged(
  core: TerminalCore,
  central: Central,
  timeoutMs = 15_000,
): Promise<void> {
  let last = '';
  try {
    await waitFor(
      `terminal ${core.credentials.terminalId} to converge`,
      async () => {
        const [want, head] = await Promise.all([centralStates(central), centralHead(central)]);
        const have = core.store.allMembers();
        last = `cursor ${core.store.cursor} head ${head}, ${have.length}/${want.length} members, ${core.store.outboxCounts().queued} queued`;
        return (
          core.store.outboxCounts().queued === 0 &&
          core.store.cursor === head &&
          JSON.stringify(have) === JSON.stringify(want)
        );
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${last}`);
  }
}

/** A sale body at the counter: one line per [category, rupees]. */
export function counterSale(
  billNumber: string,
  mobile: string,
  lines: [category: string, rupees: number][],
): {
  billNumber: string;
  mobile: string;
  lines: { sku: string; categoryCode: string; quantity: number; amountPaise: number }[];
} {
  return {
    billNumber,
    mobile,
    lines: lines.map(([categoryCode, rupees], i) => ({
      sku: `SKU-${categoryCode}-${i + 1}`,
      categoryCode,
      quantity: 1,
      amountPaise: rupees * 100,
    })),
  };
}

/** A bare sync client (no terminal core), as another vendor's terminal would connect. */
export function rawSyncSocket(
  url: string,
  auth: { terminalId: string; secret: string; protocolVersion?: number },
): Socket {
  return io(`${url}/sync`, {
    path: SYNC_PATH,
    transports: ['websocket'],
    reconnection: false,
    auth: { protocolVersion: PROTOCOL_VERSION, ...auth },
  });
}

/** Connects a bare sync client; rejects if central refuses it. */
export async function connectRawSync(
  url: string,
  credentials: { terminalId: string; secret: string },
): Promise<Socket> {
  const socket = rawSyncSocket(url, credentials);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** The refusal central answers a bare client's connection with. */
export async function refusalOf(
  url: string,
  auth: { terminalId: string; secret: string; protocolVersion?: number },
): Promise<Error & { data?: { code: string; message: string } }> {
  const socket = rawSyncSocket(url, auth);
  try {
    return await new Promise((resolve) => socket.once('connect_error', resolve));
  } finally {
    socket.close();
  }
}

/**
 * Central holds exactly the members `enrolled` among `mobiles` (all members if omitted), each
 * with the points of its confirmed sales, and its ledger verifies entry by entry. Returns how
 * many members the ledger check covered.
 */
export async function expectBalancesFromSales(
  central: Central,
  enrolled: string[],
  confirmed: readonly { mobile: string; points: number }[],
  mobiles?: string[],
): Promise<number> {
  const query = central.db.knex('members');
  if (mobiles) void query.whereIn('mobile', mobiles);
  const members: { mobile: string; balance: number | string }[] = await query.select(
    'mobile',
    'balance',
  );
  expect(members.map((m) => m.mobile).sort()).toEqual([...enrolled].sort());
  for (const m of members) {
    const earned = confirmed
      .filter((s) => s.mobile === m.mobile)
      .reduce((sum, s) => sum + s.points, 0);
    expect(Number(m.balance), `balance of ${m.mobile}`).toBe(earned);
  }
  const report = await verifyLedger(central.db);
  expect(report.balanceDrift).toEqual([]);
  expect(report.runningDrift).toEqual([]);
  return report.members;
}
