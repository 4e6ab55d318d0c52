/**
 * The member card's QR data, printed by the receipt printer and read back by every scanner:
 * `SLM1:<member id>:<last 4 digits of the mobile>`. The id finds the member; the last four
 * digits (also printed on the card) let the cashier confirm aloud. The full mobile is never on
 * the card.
 */
export const MEMBER_CARD_QR_PREFIX = 'SLM1';

/** Builds a card's QR data. */
export function formatMemberCardQr(member: { id: number; mobileE164: string }): string {
  return `${MEMBER_CARD_QR_PREFIX}:${member.id}:${member.mobileE164.replace(/\D/g, '').slice(-4)}`;
}

/** Reads a card's QR data back; undefined for anything else a scanner may deliver. */
export function parseMemberCardQr(
  data: string,
): { memberId: number; mobileLast4: string } | undefined {
  const match = /^SLM1:([1-9]\d{0,15}):(\d{4})$/i.exec(data.trim());
  if (!match) return undefined;
  const memberId = Number(match[1]);
  if (!Number.isSafeInteger(memberId)) return undefined;
  return { memberId, mobileLast4: match[2] ?? '' };
}
