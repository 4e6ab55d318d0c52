import { describe, expect, it } from 'vitest';
import { GroupCommitter } from './group-commit.ts';

describe('GroupCommitter', () => {
  it('writes a lone command in the same turn and groups those that arrive during a commit', async () => {
    const batches: number[][] = [];
    const committer = new GroupCommitter<number, number>({
      maxBatch: 3,
      runBatch: async (commands) => {
        batches.push(commands);
        await new Promise((r) => setTimeout(r, 10));
        return commands.map((c) => (c < 0 ? new Error(`bad ${c}`) : c * 2));
      },
    });
    const first = committer.submit(1);
    await new Promise((r) => setImmediate(r));
    const rest = [2, 3, -4, 5, 6].map((n) => committer.submit(n));
    await expect(first).resolves.toBe(2);
    const settled = await Promise.allSettled(rest);
    expect(batches).toEqual([[1], [2, 3, -4], [5, 6]]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected'))).toEqual([
      4,
      6,
      'rejected',
      10,
      12,
    ]);
  });

  it('rejects every command of a batch whose transaction failed, then carries on', async () => {
    let calls = 0;
    const committer = new GroupCommitter<number, number>({
      maxBatch: 10,
      runBatch: (commands) => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('disk full')) : Promise.resolve(commands);
      },
    });
    await expect(committer.submit(1)).rejects.toThrow('disk full');
    await expect(committer.submit(2)).resolves.toBe(2);
  });
});

describe('GroupCommitter in one turn of the event loop', () => {
  it('puts every command submitted in the same turn into one batch', async () => {
    const batches: number[][] = [];
    const committer = new GroupCommitter<number, number>({
      maxBatch: 100,
      runBatch: (commands) => {
        batches.push(commands);
        return Promise.resolve(commands);
      },
    });
    await Promise.all([1, 2, 3, 4].map((n) => committer.submit(n)));
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });
});

describe('GroupCommitter with several batches in flight', () => {
  it('never runs more than maxInFlight batches at once and answers every command', async () => {
    let running = 0;
    let peak = 0;
    const committer = new GroupCommitter<number, number>({
      maxBatch: 2,
      maxInFlight: 3,
      runBatch: async (commands) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        return commands;
      },
    });
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => committer.submit(i)));
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
  });
});

describe('GroupCommitter under a light load', () => {
  it('lets the next batch wait and grow until enough commands wait to run beside it', async () => {
    const batches: number[][] = [];
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const committer = new GroupCommitter<number, number>({
      maxBatch: 4,
      maxInFlight: 3,
      parallelFrom: 4,
      runBatch: async (commands) => {
        batches.push([...commands]);
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => release.push(r));
        running -= 1;
        return commands;
      },
    });
    const settle = async () => {
      for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    };
    const first = committer.submit(1);
    await settle();
    // Two more while the first runs: fewer than parallelFrom wait, so no batch beside it.
    const next = [committer.submit(2), committer.submit(3)];
    await settle();
    expect(batches).toEqual([[1]]);
    release.shift()?.();
    expect(await first).toBe(1);
    await settle();
    expect(batches).toEqual([[1], [2, 3]]);
    // A rush: at least parallelFrom waiting, so batches run side by side.
    const rush = Array.from({ length: 12 }, (_, i) => committer.submit(10 + i));
    await settle();
    expect(running).toBeGreaterThan(1);
    while (release.length > 0 || running > 0) {
      release.shift()?.();
      await settle();
    }
    expect(await Promise.all(next)).toEqual([2, 3]);
    expect(await Promise.all(rush)).toEqual(Array.from({ length: 12 }, (_, i) => 10 + i));
    expect(peak).toBe(3);
  });
});
