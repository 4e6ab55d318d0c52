import { MAX_BILL_PAISE, MAX_LINE_PAISE, parseRupees } from '../../../shared/money.ts';
import type { SaleLine } from './types.ts';

/**
 * The bill on the sale screen, as a pure reducer. Amounts are integer paise, parsed from what the
 * cashier typed with parseRupees; nothing here touches a float. While a redemption is under way
 * or confirmed the bill is frozen: the OTP was sent for this bill number and amount.
 */

/** One line as the cashier sees it; `amountPaise` is null until the typed amount is valid. */
export type BillLine = {
  id: number;
  sku: string;
  categoryCode: string;
  categoryName: string;
  productName: string | null;
  quantityText: string;
  quantity: number | null;
  /** The line's total (quantity × unit price), as typed. */
  amountText: string;
  amountPaise: number | null;
};

/** Points taken off this bill: awaiting the OTP, or confirmed. */
export type BillRedemption = {
  id: number;
  points: number;
  valuePaise: number;
  status: 'awaiting-otp' | 'confirmed';
};

export type BillState = {
  billNumber: string;
  lines: BillLine[];
  nextLineId: number;
  redemption: BillRedemption | null;
  /** The line whose amount should take the focus (a new line); bumps `focusSeq` each time. */
  focusLineId: number | null;
  focusSeq: number;
};

export type BillAction =
  | { type: 'start'; billNumber: string }
  | { type: 'set-bill-number'; billNumber: string }
  | {
      type: 'add-line';
      sku: string;
      categoryCode: string;
      categoryName: string;
      productName?: string | null;
      quantity?: number;
      amountText?: string;
      /** Move the focus to the new line's amount (a scanned product, amount still to type). */
      shouldFocus?: boolean;
    }
  | { type: 'set-amount'; id: number; amountText: string }
  | { type: 'set-quantity'; id: number; quantityText: string }
  | { type: 'remove-line'; id: number }
  | { type: 'set-redemption'; redemption: BillRedemption | null };

export const MAX_QUANTITY = 10_000;

export function createBill(billNumber = ''): BillState {
  return {
    billNumber,
    lines: [],
    nextLineId: 1,
    redemption: null,
    focusLineId: null,
    focusSeq: 0,
  };
}

/** Whether the lines and bill number may change now. */
export function isBillLocked(state: BillState): boolean {
  return state.redemption !== null;
}

export function billReducer(state: BillState, action: BillAction): BillState {
  if (action.type === 'start') return createBill(action.billNumber);
  if (action.type === 'set-redemption') return { ...state, redemption: action.redemption };
  if (isBillLocked(state)) return state;
  switch (action.type) {
    case 'set-bill-number':
      return { ...state, billNumber: action.billNumber };
    case 'add-line': {
      const quantity = action.quantity ?? 1;
      const amountText = action.amountText ?? '';
      const line: BillLine = {
        id: state.nextLineId,
        sku: action.sku.trim() === '' ? 'MISC' : action.sku.trim(),
        categoryCode: action.categoryCode,
        categoryName: action.categoryName,
        productName: action.productName ?? null,
        quantityText: String(quantity),
        quantity: parseQuantity(String(quantity)),
        amountText,
        amountPaise: parseLineAmount(amountText),
      };
      return {
        ...state,
        lines: [...state.lines, line],
        nextLineId: state.nextLineId + 1,
        ...(action.shouldFocus === true
          ? { focusLineId: line.id, focusSeq: state.focusSeq + 1 }
          : {}),
      };
    }
    case 'set-amount':
      return updateLine(state, action.id, (line) => ({
        ...line,
        amountText: action.amountText,
        amountPaise: parseLineAmount(action.amountText),
      }));
    case 'set-quantity':
      return updateLine(state, action.id, (line) => ({
        ...line,
        quantityText: action.quantityText,
        quantity: parseQuantity(action.quantityText),
      }));
    case 'remove-line':
      return {
        ...state,
        lines: state.lines.filter((line) => line.id !== action.id),
        focusLineId: state.focusLineId === action.id ? null : state.focusLineId,
      };
  }
}

function updateLine(state: BillState, id: number, change: (line: BillLine) => BillLine): BillState {
  return { ...state, lines: state.lines.map((line) => (line.id === id ? change(line) : line)) };
}

/** A line amount in paise: at least one paisa and at most ₹1 crore; null for anything else. */
export function parseLineAmount(text: string): number | null {
  const paise = parseRupees(text);
  if (paise === undefined || paise < 1 || paise > MAX_LINE_PAISE) return null;
  return paise;
}

/** A quantity from 1 to 10,000; null for anything else. */
export function parseQuantity(text: string): number | null {
  if (!/^\d{1,5}$/.test(text.trim())) return null;
  const quantity = Number(text.trim());
  return quantity >= 1 && quantity <= MAX_QUANTITY ? quantity : null;
}

/** The bill's sums in paise. */
export type BillTotals = {
  billAmountPaise: number;
  discountPaise: number;
  payablePaise: number;
  /** Every line has a valid quantity and amount, there is at least one, and the sum is allowed. */
  isComplete: boolean;
};

export function billTotals(state: BillState): BillTotals {
  const billAmountPaise = state.lines.reduce((sum, line) => sum + (line.amountPaise ?? 0), 0);
  const discountPaise = state.redemption?.valuePaise ?? 0;
  const isComplete =
    state.lines.length > 0 &&
    state.lines.every((line) => line.amountPaise !== null && line.quantity !== null) &&
    billAmountPaise <= MAX_BILL_PAISE;
  return {
    billAmountPaise,
    discountPaise,
    payablePaise: Math.max(0, billAmountPaise - discountPaise),
    isComplete,
  };
}

/** The lines the counter can price: those with a valid quantity and amount. */
export function saleLinesOf(state: BillState): SaleLine[] {
  const lines: SaleLine[] = [];
  for (const line of state.lines) {
    if (line.amountPaise === null || line.quantity === null) continue;
    lines.push({
      sku: line.sku,
      categoryCode: line.categoryCode,
      quantity: line.quantity,
      amountPaise: line.amountPaise,
    });
  }
  return lines;
}

/** The bill number's rule from the contract: letters, digits and . / - _ only. */
export function isValidBillNumber(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.length >= 1 && trimmed.length <= 64 && /^[\w./-]+$/.test(trimmed);
}
