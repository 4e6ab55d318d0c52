/**
 * The API's shapes, taken from the contract as types only: nothing of the contract (or of zod)
 * reaches the bundle. The counter validates every answer with the same schemas before sending it.
 */
import type { z } from 'zod';
import type * as Contract from '../../server/contract.ts';

export type StatusView = Contract.StatusView;
export type StaffView = Contract.StaffView;
export type StaffRole = Contract.StaffRole;
export type MemberCard = Contract.MemberCard;
export type Product = Contract.Product;
export type ScanResult = Contract.ScanResult;
export type SaleLine = Contract.SaleLine;
export type SalePreview = Contract.SalePreview;
export type SaleDone = Contract.SaleDone;
export type PrintOutcome = Contract.PrintOutcome;
export type LedgerView = Contract.LedgerView;
export type QuoteResponse = Contract.QuoteResponse;
export type RedemptionView = Contract.RedemptionView;
export type OtpDelivery = Contract.OtpDelivery;
export type CounterEvent = Contract.CounterEvent;
export type PrinterState = z.infer<typeof Contract.PrinterState>;
export type ScannerStatusView = z.infer<typeof Contract.ScannerStatusView>;
export type LinkState = StatusView['link'];
export type SignedIn = z.infer<typeof Contract.SignedIn>;
export type Suggestions = z.infer<typeof Contract.Suggestions>;
export type Enrolment = z.input<typeof Contract.Enrolment>;
export type Enrolled = z.infer<typeof Contract.Enrolled>;
export type Category = z.infer<typeof Contract.Category>;
export type Catalogue = z.infer<typeof Contract.Catalogue>;
export type NextBill = z.infer<typeof Contract.NextBill>;
export type CompleteSale = z.input<typeof Contract.CompleteSale>;
export type QuoteInput = z.input<typeof Contract.QuoteInput>;
export type RedeemInput = z.input<typeof Contract.RedeemInput>;
export type LedgerEntryView = z.infer<typeof Contract.LedgerEntryView>;
export type ReprintKind = z.infer<typeof Contract.ReprintInput>['kind'];
