import {
  memo,
  useEffect,
  useRef,
  useState,
  type RefObject,
  type Dispatch,
  type SubmitEvent,
  type KeyboardEvent,
} from 'react';
import { useTranslation } from 'react-i18next';
import { formatRupees } from '../../../../shared/money.ts';
import type { Api } from '../api.ts';
import {
  billTotals,
  isBillLocked,
  isValidBillNumber,
  parseLineAmount,
  parseQuantity,
  saleLinesOf,
  type BillAction,
  type BillLine,
  type BillState,
} from '../bill.ts';
import { formatPoints } from '../format.ts';
import { describeError } from '../i18n/errors.ts';
import { Kbd, KeyButton, useShortcuts } from '../parts.tsx';
import type { Category, LinkState, MemberCard, SaleDone, SalePreview } from '../types.ts';
import { MemberSummary } from './member-panel.tsx';
import { RedemptionPanel, type SmsNews } from './redemption.tsx';

type SaleProps = {
  api: Api;
  member: MemberCard;
  pointValuePaise: number;
  link: LinkState | null;
  categories: Category[] | null;
  bill: BillState;
  dispatch: Dispatch<BillAction>;
  sms: SmsNews | null;
  onCompleted: (done: SaleDone) => void;
  onBack: () => void;
};

type Preview = { key: string; preview: SalePreview | null; failure: unknown };

/** How long line edits settle before the counter prices them (on loopback: next to nothing). */
const PREVIEW_DEBOUNCE_MS = 25;

/** The bill: lines by scan or by category, points as they change, redemption, completion. */
export function SaleScreen(props: SaleProps) {
  const { api, member, bill, dispatch, categories } = props;
  const { t, i18n } = useTranslation();
  const [preview, setPreview] = useState<Preview | null>(null);
  const [isRedeemOpen, setRedeemOpen] = useState(bill.redemption !== null);
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);
  const [addCategory, setAddCategory] = useState('');
  const [addSku, setAddSku] = useState('');
  const [addQuantity, setAddQuantity] = useState('1');
  const [addAmount, setAddAmount] = useState('');
  const amountRefs = useRef(new Map<number, HTMLInputElement>());
  const categoryRef = useRef<HTMLSelectElement>(null);
  const addAmountRef = useRef<HTMLInputElement>(null);

  const totals = billTotals(bill);
  const lines = saleLinesOf(bill);
  const isLocked = isBillLocked(bill);
  // Connecting, refused or lost: either way central cannot be asked now.
  const isOffline = props.link !== 'online';
  const previewKey = JSON.stringify(lines);
  const currentPreview = preview !== null && preview.key === previewKey ? preview : null;
  const category = categories?.find((c) => c.code === addCategory) ?? categories?.[0];

  useEffect(() => {
    if (lines.length === 0) return;
    let isCurrent = true;
    const timer = setTimeout(() => {
      api.preview(lines).then(
        (answer) => {
          if (isCurrent) setPreview({ key: previewKey, preview: answer, failure: null });
        },
        (failure: unknown) => {
          if (isCurrent) setPreview({ key: previewKey, preview: null, failure });
        },
      );
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      isCurrent = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `lines` is rebuilt every render; its JSON (previewKey) is the value that matters
  }, [api, previewKey]);

  // A scanned product's line takes the focus so the cashier types its amount next.
  const { focusLineId, focusSeq } = bill;
  useEffect(() => {
    if (focusLineId === null) return;
    const input = amountRefs.current.get(focusLineId);
    input?.focus();
    input?.select();
  }, [focusLineId, focusSeq]);

  // Line points from the preview, which prices only the lines with a valid amount.
  const linePoints = new Map<number, number>();
  if (currentPreview?.preview) {
    let index = 0;
    for (const line of bill.lines) {
      if (line.amountPaise === null || line.quantity === null) continue;
      const points = currentPreview.preview.linePoints[index];
      if (points !== undefined) linePoints.set(line.id, points);
      index += 1;
    }
  }
  const previewPoints = lines.length === 0 ? 0 : (currentPreview?.preview?.points ?? null);

  function addLine(event: SubmitEvent): void {
    event.preventDefault();
    if (isLocked || category === undefined) return;
    const amountPaise = parseLineAmount(addAmount);
    if (amountPaise === null) {
      setError(t('sale.amountInvalid'));
      addAmountRef.current?.focus();
      return;
    }
    const quantity = parseQuantity(addQuantity);
    if (quantity === null) {
      setError(t('sale.quantityInvalid'));
      return;
    }
    setError(null);
    dispatch({
      type: 'add-line',
      sku: addSku,
      categoryCode: category.code,
      categoryName: category.name,
      quantity,
      amountText: addAmount,
    });
    setAddSku('');
    setAddQuantity('1');
    setAddAmount('');
    categoryRef.current?.focus();
  }

  function complete(): void {
    if (isBusy) return;
    if (bill.redemption?.status === 'awaiting-otp') {
      setError(t('sale.finishRedemption'));
      return;
    }
    if (!isValidBillNumber(bill.billNumber)) {
      setError(t('sale.billNumberInvalid'));
      return;
    }
    if (!totals.isComplete) {
      setError(bill.lines.length === 0 ? t('sale.noLines') : t('sale.linesIncomplete'));
      return;
    }
    setBusy(true);
    setError(null);
    api
      .completeSale({
        billNumber: bill.billNumber.trim(),
        mobile: member.mobile,
        lines,
        ...(bill.redemption?.status === 'confirmed' ? { redemptionId: bill.redemption.id } : {}),
        shouldPrint: true,
      })
      .then(
        (done) => {
          setBusy(false);
          props.onCompleted(done);
        },
        (failure: unknown) => {
          setBusy(false);
          setError(describeError(failure, t, i18n.language));
        },
      );
  }

  function openRedeem(): void {
    if (isOffline) {
      setError(t('sale.redeemOffline'));
      return;
    }
    if (totals.billAmountPaise < 1) {
      setError(t('sale.redeemNeedsBill'));
      return;
    }
    if (member.id === null) {
      setError(t('sale.redeemNeedsCentral'));
      return;
    }
    setError(null);
    setRedeemOpen(true);
  }

  useShortcuts({
    F8: () => {
      openRedeem();
      return true;
    },
    F9: () => {
      complete();
      return true;
    },
    'Ctrl+Enter': () => {
      complete();
      return true;
    },
    'Alt+A': () => {
      categoryRef.current?.focus();
      return true;
    },
    Escape: () => {
      // The open redemption panel has its own Esc.
      if (isRedeemOpen) return false;
      if (bill.redemption !== null) {
        setError(t('sale.redemptionHolds'));
        return true;
      }
      props.onBack();
      return true;
    },
  });

  const redeemUnavailable = isOffline ? 'offline' : member.id === null ? 'pending-member' : null;
  const redeemDisabledReason =
    redeemUnavailable === 'offline'
      ? t('sale.redeemOffline')
      : redeemUnavailable === 'pending-member'
        ? t('sale.redeemNeedsCentral')
        : null;

  return (
    <section className="sale" aria-labelledby="sale-title">
      <div className="sale-head">
        <h1 id="sale-title">{t('sale.title')}</h1>
        <label className="field field-inline">
          <span className="label">{t('sale.billNumber')}</span>
          <input
            className="input input-bill"
            value={bill.billNumber}
            onChange={(event) => {
              dispatch({ type: 'set-bill-number', billNumber: event.target.value });
            }}
            readOnly={isLocked}
            autoComplete="off"
            spellCheck={false}
            data-testid="sale-bill-number"
          />
        </label>
        <MemberSummary member={member} pointValuePaise={props.pointValuePaise} isCompact />
      </div>

      <div className="sale-body">
        {isRedeemOpen ? (
          <RedemptionPanel
            api={api}
            member={member}
            billNumber={bill.billNumber.trim()}
            billAmountPaise={totals.billAmountPaise}
            redemption={bill.redemption}
            sms={props.sms}
            onRedemption={(redemption) => {
              dispatch({ type: 'set-redemption', redemption });
            }}
            onClose={() => {
              setRedeemOpen(false);
            }}
          />
        ) : (
          <div className="sale-lines">
            <form className="add-line" onSubmit={addLine} noValidate aria-label={t('sale.addLine')}>
              <label className="field">
                <span className="label">
                  {t('sale.category')} <Kbd>Alt+A</Kbd>
                </span>
                <select
                  ref={categoryRef}
                  className="input"
                  value={category?.code ?? ''}
                  onChange={(event) => {
                    setAddCategory(event.target.value);
                  }}
                  disabled={isLocked || categories === null || categories.length === 0}
                  autoFocus={bill.lines.length === 0}
                  data-testid="sale-add-category"
                >
                  {(categories ?? []).map((c) => (
                    <option key={c.code} value={c.code}>
                      {c.name} ({t('sale.rate', { count: c.pointsPer100Rupees })})
                    </option>
                  ))}
                </select>
              </label>
              <label className="field">
                <span className="label">{t('sale.sku')}</span>
                <input
                  className="input input-sku"
                  value={addSku}
                  placeholder="MISC"
                  onChange={(event) => {
                    setAddSku(event.target.value);
                  }}
                  disabled={isLocked}
                  autoComplete="off"
                  spellCheck={false}
                  maxLength={64}
                  data-testid="sale-add-sku"
                />
              </label>
              <label className="field">
                <span className="label">{t('sale.quantity')}</span>
                <input
                  className="input input-qty"
                  value={addQuantity}
                  inputMode="numeric"
                  onChange={(event) => {
                    setAddQuantity(event.target.value);
                  }}
                  disabled={isLocked}
                  data-testid="sale-add-qty"
                />
              </label>
              <label className="field">
                <span className="label">{t('sale.amountRupees')}</span>
                <input
                  ref={addAmountRef}
                  className="input input-amount"
                  value={addAmount}
                  inputMode="decimal"
                  placeholder="₹"
                  onChange={(event) => {
                    setAddAmount(event.target.value);
                  }}
                  disabled={isLocked}
                  data-testid="sale-add-amount"
                />
              </label>
              <KeyButton
                type="submit"
                shortcut="Enter"
                testId="sale-add-submit"
                disabled={isLocked}
              >
                {t('sale.add')}
              </KeyButton>
            </form>
            <div className="lines-scroll">
              <table className="lines" data-testid="sale-lines">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">{t('sale.item')}</th>
                    <th scope="col">{t('sale.category')}</th>
                    <th scope="col" className="num">
                      {t('sale.quantity')}
                    </th>
                    <th scope="col" className="num">
                      {t('sale.amount')}
                    </th>
                    <th scope="col" className="num">
                      {t('sale.points')}
                    </th>
                    <th scope="col">
                      <span className="visually-hidden">{t('sale.remove')}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {bill.lines.length === 0 && (
                    <tr>
                      <td colSpan={7} className="empty">
                        {t('sale.empty')}
                      </td>
                    </tr>
                  )}
                  {bill.lines.map((line, index) => (
                    <SaleLineRow
                      key={line.id}
                      line={line}
                      index={index}
                      points={linePoints.get(line.id)}
                      isLocked={isLocked}
                      dispatch={dispatch}
                      amountRefs={amountRefs}
                      categoryRef={categoryRef}
                    />
                  ))}
                </tbody>
              </table>
            </div>

            {categories !== null && categories.length === 0 && (
              <p className="message message-error">{t('sale.noCategories')}</p>
            )}
            <p className="hint">{isLocked ? t('sale.lockedHint') : t('sale.scanHint')}</p>
          </div>
        )}

        <aside className="sale-side">
          <dl className="totals">
            <div>
              <dt>{t('sale.billTotal')}</dt>
              <dd
                className="money big-number"
                data-testid="sale-bill-total"
                data-paise={totals.billAmountPaise}
              >
                {formatRupees(totals.billAmountPaise)}
              </dd>
            </div>
            {bill.redemption?.status === 'confirmed' && (
              <>
                <div className="totals-discount">
                  <dt>
                    {t('sale.pointsRedeemed', { points: formatPoints(bill.redemption.points) })}
                  </dt>
                  <dd
                    className="money"
                    data-testid="sale-redeemed"
                    data-paise={bill.redemption.valuePaise}
                  >
                    −{formatRupees(bill.redemption.valuePaise)}
                  </dd>
                </div>
                <div className="totals-payable">
                  <dt>{t('sale.payable')}</dt>
                  <dd
                    className="money big-number"
                    data-testid="sale-payable"
                    data-paise={totals.payablePaise}
                  >
                    {formatRupees(totals.payablePaise)}
                  </dd>
                </div>
              </>
            )}
            <div className="totals-points">
              <dt>{t('sale.pointsEarned')}</dt>
              <dd
                className="big-number"
                data-testid="sale-points-preview"
                data-points={previewPoints ?? ''}
                aria-live="polite"
              >
                {previewPoints === null ? '…' : formatPoints(previewPoints)}
              </dd>
            </div>
          </dl>
          {currentPreview?.failure != null && (
            <p className="message message-error" data-testid="sale-preview-error">
              {describeError(currentPreview.failure, t, i18n.language)}
            </p>
          )}
          <div className="actions actions-column">
            <KeyButton
              shortcut="F8"
              testId="sale-redeem"
              onClick={openRedeem}
              disabled={redeemDisabledReason !== null || isRedeemOpen}
              aria-describedby={redeemDisabledReason === null ? undefined : 'redeem-why'}
            >
              {t('sale.redeem')}
            </KeyButton>
            {redeemDisabledReason !== null && (
              <p
                className="message message-warn"
                id="redeem-why"
                data-testid="sale-redeem-unavailable"
                data-reason={redeemUnavailable ?? undefined}
              >
                {redeemDisabledReason}
              </p>
            )}
            <KeyButton
              tone="primary"
              shortcut="F9"
              testId="sale-complete"
              onClick={complete}
              disabled={isBusy}
            >
              {t('sale.complete')}
            </KeyButton>
            {bill.redemption === null && (
              <KeyButton shortcut="Esc" testId="sale-back" onClick={props.onBack}>
                {t('sale.back')}
              </KeyButton>
            )}
          </div>
          {error !== null && (
            <p className="message message-error" role="alert" data-testid="sale-error">
              {error}
            </p>
          )}
        </aside>
      </div>
    </section>
  );
}

type SaleLineRowProps = {
  line: BillLine;
  index: number;
  /** The line's points from the last preview; undefined while it is being priced. */
  points: number | undefined;
  isLocked: boolean;
  dispatch: Dispatch<BillAction>;
  amountRefs: RefObject<Map<number, HTMLInputElement>>;
  categoryRef: RefObject<HTMLSelectElement | null>;
};

/**
 * One bill line. Memoised: a scan or a keystroke in one line re-renders that line only, so a
 * long bill answers a scan as fast as a short one. Its props are values and stable references.
 */
const SaleLineRow = memo(function SaleLineRow(props: SaleLineRowProps) {
  const { line, index, points, isLocked, dispatch, amountRefs, categoryRef } = props;
  const { t } = useTranslation();

  function onRowKey(event: KeyboardEvent<HTMLTableRowElement>): void {
    if (event.key !== 'Delete' || event.target !== event.currentTarget || isLocked) return;
    event.preventDefault();
    // Keep the focus on the lines: the next row, else the one before, else the add form.
    const row = event.currentTarget;
    const next = row.nextElementSibling ?? row.previousElementSibling;
    dispatch({ type: 'remove-line', id: line.id });
    if (next instanceof HTMLElement && next.id.startsWith('line-')) next.focus();
    else categoryRef.current?.focus();
  }

  return (
    <tr
      id={`line-${line.id}`}
      tabIndex={0}
      className={line.amountPaise === null ? 'line line-incomplete' : 'line'}
      onKeyDown={onRowKey}
      data-testid={`sale-line-${index}`}
      aria-label={t('sale.lineLabel', { index: index + 1 })}
    >
      <td>{index + 1}</td>
      <td>
        <span className="line-name">{line.productName ?? line.sku}</span>
        {line.productName !== null && <span className="line-sku mono">{line.sku}</span>}
      </td>
      <td>{line.categoryName}</td>
      <td className="num">
        <input
          className="input input-qty"
          value={line.quantityText}
          inputMode="numeric"
          readOnly={isLocked}
          aria-invalid={line.quantity === null}
          aria-label={t('sale.quantity')}
          onChange={(event) => {
            dispatch({ type: 'set-quantity', id: line.id, quantityText: event.target.value });
          }}
          data-testid={`sale-line-qty-${index}`}
        />
      </td>
      <td className="num">
        <input
          ref={(element) => {
            if (element) amountRefs.current.set(line.id, element);
            else amountRefs.current.delete(line.id);
          }}
          className="input input-amount"
          value={line.amountText}
          inputMode="decimal"
          placeholder="₹"
          readOnly={isLocked}
          aria-invalid={line.amountText.trim() !== '' && line.amountPaise === null}
          aria-label={t('sale.amount')}
          onChange={(event) => {
            dispatch({ type: 'set-amount', id: line.id, amountText: event.target.value });
          }}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && !event.ctrlKey) {
              event.preventDefault();
              categoryRef.current?.focus();
            }
          }}
          data-testid={`sale-line-amount-${index}`}
        />
      </td>
      <td className="num" data-testid={`sale-line-points-${index}`}>
        {points === undefined ? '—' : formatPoints(points)}
      </td>
      <td>
        <button
          type="button"
          className="icon-button"
          onClick={() => {
            dispatch({ type: 'remove-line', id: line.id });
          }}
          disabled={isLocked}
          aria-label={t('sale.removeLine', { index: index + 1 })}
          data-testid={`sale-line-remove-${index}`}
        >
          ×
        </button>
      </td>
    </tr>
  );
});
