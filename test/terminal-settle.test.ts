import { expect, it } from 'vitest';
import { startTestCentral } from './support/central.ts';
import { counterSale, startPairedTerminal, waitConverged, waitFor } from './support/terminal.ts';

it('a write central applied stays visible at its counter until its state arrives', async () => {
  const c = await startTestCentral('sqlite'); // heartbeat every 5 s
  const t = await startPairedTerminal(c, 'MUM-01');
  try {
    await waitConverged(t.core, c.central);
    t.core.enrol({ mobile: '9820099000', name: 'Known Member', smsConsent: true });
    await waitConverged(t.core, c.central);
    // The push of the next commits does not get applied at once (held behind a gap, as with
    // pushes from two central processes, or lost): here it is simply not delivered.
    const socket = t.core.sync.socket;
    const handlers = socket.listeners('member:changed');
    socket.off('member:changed');
    try {
      t.core.enrol({ mobile: '9820099001', name: 'Just Enrolled', smsConsent: true });
      t.core.recordSale(counterSale('JE-1', '9820099000', [['ELEC', 1_000]])); // 20 points
      expect(t.core.findByMobile('9820099000')).toMatchObject({ balance: 0, pendingPoints: 20 });
      await waitFor('central to answer', () => t.core.status().pending === 0, 5_000);
      const enrolled = t.core.findByMobile('9820099001');
      const known = t.core.findByMobile('9820099000');
      expect(enrolled).toBeDefined();
      expect((known?.balance ?? 0) + (known?.pendingPoints ?? 0)).toBe(20);
      expect(() =>
        t.core.recordSale(counterSale('JE-2', '9820099001', [['ELEC', 100]])),
      ).not.toThrow();
    } finally {
      for (const h of handlers) socket.on('member:changed', h);
    }
  } finally {
    await t.close();
    await c.close();
  }
});
