import { describe, expect, it } from 'vitest';
import {
  billReducer,
  billTotals,
  createBill,
  isValidBillNumber,
  parseLineAmount,
  parseQuantity,
  saleLinesOf,
  type BillAction,
  type BillState,
} from './bill.ts';

function apply(actions: BillAction[], start: BillState = createBill('B-1')): BillState {
  return actions.reduce(billReducer, start);
}

const fan = { sku: 'FAN-1', categoryCode: 'ELEC', categoryName: 'Electrical' };
const book = { sku: '', categoryCode: 'BOOK', categoryName: 'Books' };

describe('the bill', () => {
  it('adds lines in paise and sums them exactly', () => {
    const bill = apply([
      { type: 'add-line', ...fan, amountText: '1,499.99' },
      { type: 'add-line', ...book, quantity: 2, amountText: '0.01' },
      { type: 'add-line', ...book, amountText: '₹1,23,456.10' },
    ]);
    expect(bill.lines.map((line) => line.amountPaise)).toEqual([149_999, 1, 12_345_610]);
    expect(billTotals(bill)).toEqual({
      billAmountPaise: 12_495_610,
      discountPaise: 0,
      payablePaise: 12_495_610,
      isComplete: true,
    });
  });

  it('names a line without a SKU MISC', () => {
    const bill = apply([{ type: 'add-line', ...book, amountText: '10' }]);
    expect(bill.lines[0]?.sku).toBe('MISC');
  });

  it('adds a scanned product with quantity 1 and no amount, and asks for the focus on it', () => {
    const bill = apply([
      { type: 'add-line', ...fan, productName: 'Ceiling fan', shouldFocus: true },
    ]);
    const line = bill.lines[0];
    expect(line).toMatchObject({ quantity: 1, amountPaise: null, productName: 'Ceiling fan' });
    expect(bill.focusLineId).toBe(line?.id);
    expect(bill.focusSeq).toBe(1);
    expect(billTotals(bill).isComplete).toBe(false);
    expect(saleLinesOf(bill)).toEqual([]);
  });

  it('prices only the lines with a valid amount and quantity', () => {
    const bill = apply([
      { type: 'add-line', ...fan, amountText: '100' },
      { type: 'add-line', ...book, amountText: '' },
      { type: 'add-line', ...book, amountText: '50' },
      { type: 'set-quantity', id: 3, quantityText: '0' },
    ]);
    expect(saleLinesOf(bill)).toEqual([
      { sku: 'FAN-1', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 },
    ]);
    expect(billTotals(bill).billAmountPaise).toBe(15_000);
    expect(billTotals(bill).isComplete).toBe(false);
  });

  it('updates and removes lines by id', () => {
    const bill = apply([
      { type: 'add-line', ...fan, amountText: '100' },
      { type: 'add-line', ...book, amountText: '20' },
      { type: 'set-amount', id: 1, amountText: '250.5' },
      { type: 'remove-line', id: 2 },
    ]);
    expect(bill.lines.map((line) => [line.id, line.amountPaise])).toEqual([[1, 25_050]]);
  });

  it('takes a confirmed redemption off the amount payable, never below zero', () => {
    const bill = apply([
      { type: 'add-line', ...fan, amountText: '100' },
      {
        type: 'set-redemption',
        redemption: { id: 9, points: 500, valuePaise: 2_500, status: 'confirmed' },
      },
    ]);
    expect(billTotals(bill)).toMatchObject({
      billAmountPaise: 10_000,
      discountPaise: 2_500,
      payablePaise: 7_500,
    });
    const over = billReducer(bill, {
      type: 'set-redemption',
      redemption: { id: 9, points: 5000, valuePaise: 20_000, status: 'confirmed' },
    });
    expect(billTotals(over).payablePaise).toBe(0);
  });

  it('freezes lines and bill number while a redemption holds the bill', () => {
    const held = apply([
      { type: 'add-line', ...fan, amountText: '100' },
      {
        type: 'set-redemption',
        redemption: { id: 3, points: 100, valuePaise: 500, status: 'awaiting-otp' },
      },
    ]);
    const after = apply(
      [
        { type: 'add-line', ...book, amountText: '5' },
        { type: 'set-amount', id: 1, amountText: '1' },
        { type: 'set-quantity', id: 1, quantityText: '3' },
        { type: 'remove-line', id: 1 },
        { type: 'set-bill-number', billNumber: 'B-2' },
      ],
      held,
    );
    expect(after).toBe(held);
    const released = billReducer(after, { type: 'set-redemption', redemption: null });
    expect(billReducer(released, { type: 'remove-line', id: 1 }).lines).toEqual([]);
  });

  it('starts afresh with the next bill number', () => {
    const bill = apply([
      { type: 'add-line', ...fan, amountText: '100' },
      { type: 'start', billNumber: 'B-2' },
    ]);
    expect(bill).toEqual(createBill('B-2'));
  });
});

describe('amounts, quantities and bill numbers as typed', () => {
  it('reads rupees into paise without floats, and refuses zero, junk and more than ₹1 crore', () => {
    expect(parseLineAmount('0.1')).toBe(10);
    expect(parseLineAmount('19.99')).toBe(1999);
    expect(parseLineAmount('1,00,00,000')).toBe(1_000_000_000);
    expect(parseLineAmount('1,00,00,000.01')).toBeNull();
    expect(parseLineAmount('0')).toBeNull();
    expect(parseLineAmount('12.345')).toBeNull();
    expect(parseLineAmount('abc')).toBeNull();
    expect(parseLineAmount('')).toBeNull();
  });

  it('takes quantities from 1 to 10,000', () => {
    expect(parseQuantity('1')).toBe(1);
    expect(parseQuantity(' 10000 ')).toBe(10_000);
    expect(parseQuantity('10001')).toBeNull();
    expect(parseQuantity('0')).toBeNull();
    expect(parseQuantity('1.5')).toBeNull();
  });

  it('checks bill numbers as the contract does', () => {
    expect(isValidBillNumber('INV/2025-26/00042')).toBe(true);
    expect(isValidBillNumber(' B_1.2 ')).toBe(true);
    expect(isValidBillNumber('')).toBe(false);
    expect(isValidBillNumber('B 1')).toBe(false);
    expect(isValidBillNumber('x'.repeat(65))).toBe(false);
  });
});
