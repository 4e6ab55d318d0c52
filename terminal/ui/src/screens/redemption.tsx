import { useEffect, useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatRupees } from '../../../../shared/money.ts';
import { ApiFailure, type Api } from '../api.ts';
import type { BillRedemption } from '../bill.ts';
import { formatCountdown, formatPoints } from '../format.ts';
import { describeError } from '../i18n/errors.ts';
import { Kbd, KeyButton, useNow, useShortcuts } from '../parts.tsx';
import type { MemberCard, OtpDelivery, QuoteResponse, RedemptionView } from '../types.ts';

/** The latest SMS news from the event stream; `seq` grows with every event. */
export type SmsNews = {
  seq: number;
  redemptionId: number;
  delivery: OtpDelivery;
  error: string | null;
};

type RedemptionPanelProps = {
  api: Api;
  member: MemberCard;
  billNumber: string;
  billAmountPaise: number;
  redemption: BillRedemption | null;
  sms: SmsNews | null;
  onRedemption: (redemption: BillRedemption | null) => void;
  onClose: () => void;
};

type Quote = { key: string; quote: QuoteResponse | null; failure: unknown };
/** A redemption as last fetched, and the SMS news already folded into it. */
type Fetched = { view: RedemptionView; smsSeq: number };

/**
 * Redeem points on this bill: the quote (how many may be used), the points to use, the OTP sent
 * to the member's mobile, its SMS delivery as it happens, and the confirmation.
 */
export function RedemptionPanel(props: RedemptionPanelProps) {
  const { api, member, billNumber, billAmountPaise, redemption, sms, onRedemption } = props;
  const { t, i18n } = useTranslation();
  const now = useNow(1000);
  const [quote, setQuote] = useState<Quote | null>(null);
  const [fetched, setFetched] = useState<Fetched | null>(null);
  const [pointsText, setPointsText] = useState<string | null>(null);
  const [otp, setOtp] = useState('');
  const [message, setMessage] = useState<{ tone: 'error' | 'info'; text: string } | null>(null);
  const [isBusy, setBusy] = useState(false);
  const pointsRef = useRef<HTMLInputElement>(null);
  const otpRef = useRef<HTMLInputElement>(null);
  const smsSeq = sms?.seq ?? 0;

  const quoteKey = `${member.mobile}|${billNumber}|${billAmountPaise}`;
  const current = quote !== null && quote.key === quoteKey ? quote : null;
  const view = fetched !== null && fetched.view.id === redemption?.id ? fetched.view : null;

  // A quote for this bill, whenever no redemption holds it.
  useEffect(() => {
    if (redemption !== null || billAmountPaise < 1) return;
    let isCurrent = true;
    api.quote({ mobile: member.mobile, billNumber, billAmountPaise }).then(
      (answer) => {
        if (isCurrent) setQuote({ key: quoteKey, quote: answer, failure: null });
      },
      (failure: unknown) => {
        if (isCurrent) setQuote({ key: quoteKey, quote: null, failure });
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [api, member.mobile, billNumber, billAmountPaise, quoteKey, redemption]);

  // The redemption held by the bill, when this panel did not start it (or reopened).
  const heldId = redemption?.id;
  const fetchedId = fetched?.view.id;
  useEffect(() => {
    if (heldId === undefined || heldId === fetchedId) return;
    let isCurrent = true;
    api.redemption(heldId).then(
      (answer) => {
        if (isCurrent) setFetched({ view: answer, smsSeq });
      },
      (failure: unknown) => {
        if (isCurrent)
          setMessage({ tone: 'error', text: describeError(failure, t, i18n.language) });
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [api, heldId, fetchedId, smsSeq, t, i18n.language]);

  const otpState = view?.otp ?? null;
  const hasNews =
    sms !== null &&
    view !== null &&
    sms.redemptionId === view.id &&
    sms.seq > (fetched?.smsSeq ?? 0);
  const delivery = hasNews ? sms.delivery : (otpState?.delivery ?? null);
  const deliveryError = hasNews ? sms.error : (otpState?.deliveryError ?? null);
  const isAwaiting = view?.status === 'awaiting-otp';
  const isConfirmed = redemption?.status === 'confirmed';
  const resendAtMs = otpState?.resendAt == null ? null : Date.parse(otpState.resendAt);
  const canResend =
    isAwaiting &&
    otpState !== null &&
    otpState.resendsLeft > 0 &&
    resendAtMs !== null &&
    now >= resendAtMs;

  const q = current?.quote ?? null;
  const points = pointsText === null ? (q?.maxPoints ?? 0) : Number(pointsText);
  const isPointsValid =
    q !== null &&
    /^\d+$/.test(pointsText ?? String(q.maxPoints)) &&
    points >= q.minPoints &&
    points <= q.maxPoints &&
    points >= 1;

  /**
   * Keeps the latest view. SMS news already heard still applies to it unless a new SMS went out
   * (a request or a resend), whose news is only what arrives from now on.
   */
  function keep(answer: RedemptionView, isNewSms: boolean): void {
    setFetched((previous) => ({
      view: answer,
      smsSeq: isNewSms || previous?.view.id !== answer.id ? smsSeq : previous.smsSeq,
    }));
  }

  async function act(work: () => Promise<void>): Promise<void> {
    if (isBusy) return;
    setBusy(true);
    setMessage(null);
    try {
      await work();
    } catch (failure) {
      setMessage({ tone: 'error', text: describeError(failure, t, i18n.language) });
    } finally {
      setBusy(false);
    }
  }

  function sendOtp(event?: SubmitEvent): void {
    event?.preventDefault();
    if (q === null || !q.allowed) return;
    if (!isPointsValid) {
      setMessage({
        tone: 'error',
        text: t('redeem.pointsRange', {
          min: formatPoints(q.minPoints),
          max: formatPoints(q.maxPoints),
        }),
      });
      pointsRef.current?.focus();
      return;
    }
    void act(async () => {
      const answer = await api.redeem({
        mobile: member.mobile,
        billNumber,
        billAmountPaise,
        points,
      });
      keep(answer, true);
      onRedemption({
        id: answer.id,
        points: answer.points,
        valuePaise: answer.valuePaise,
        status: 'awaiting-otp',
      });
      setOtp('');
      otpRef.current?.focus();
    });
  }

  function confirm(event?: SubmitEvent): void {
    event?.preventDefault();
    if (view === null || !isAwaiting) return;
    if (!/^\d{6}$/.test(otp)) {
      setMessage({ tone: 'error', text: t('redeem.otpDigits') });
      otpRef.current?.focus();
      return;
    }
    void act(async () => {
      try {
        const answer = await api.confirm(view.id, otp);
        keep(answer, false);
        onRedemption({
          id: answer.id,
          points: answer.points,
          valuePaise: answer.valuePaise,
          status: 'confirmed',
        });
        setOtp('');
      } catch (failure) {
        setOtp('');
        // Tries left, or the redemption closed after the last wrong try: ask the counter.
        if (failure instanceof ApiFailure && failure.status < 500) {
          const fresh = await api.redemption(view.id).catch(() => null);
          if (fresh !== null) {
            keep(fresh, false);
            if (fresh.status === 'cancelled' || fresh.status === 'abandoned') onRedemption(null);
          }
        }
        otpRef.current?.focus();
        throw failure;
      }
    });
  }

  function resend(): void {
    if (view === null || !canResend) return;
    void act(async () => {
      keep(await api.resend(view.id), true);
      setMessage({ tone: 'info', text: t('redeem.resent') });
      otpRef.current?.focus();
    });
  }

  function cancel(): void {
    if (redemption === null) return;
    const id = redemption.id;
    void act(async () => {
      await api.cancel(id);
      setFetched(null);
      onRedemption(null);
      setPointsText(null);
      setMessage({ tone: 'info', text: t('redeem.cancelled') });
    });
  }

  useShortcuts({
    'Alt+R': () => {
      resend();
      return true;
    },
    'Alt+X': () => {
      cancel();
      return true;
    },
    Escape: () => {
      if (isAwaiting) {
        setMessage({ tone: 'info', text: t('redeem.finishFirst') });
      } else {
        props.onClose();
      }
      return true;
    },
  });

  return (
    <section className="redeem" aria-labelledby="redeem-title" data-testid="redeem-panel">
      <h2 id="redeem-title">{t('redeem.title')}</h2>
      {redemption === null && current === null && <p className="hint">{t('common.loading')}</p>}
      {redemption === null && current?.failure != null && (
        <p className="message message-error" role="alert" data-testid="redeem-quote-error">
          {describeError(current.failure, t, i18n.language)}
        </p>
      )}
      {redemption === null && q !== null && (
        <>
          <dl className="facts facts-row">
            <div>
              <dt>{t('redeem.balance')}</dt>
              <dd data-testid="redeem-balance">
                {t('member.points', { count: q.balance, points: formatPoints(q.balance) })}
              </dd>
            </div>
            <div>
              <dt>{t('redeem.maxPoints')}</dt>
              <dd data-testid="redeem-max-points" data-points={q.maxPoints}>
                {t('member.points', { count: q.maxPoints, points: formatPoints(q.maxPoints) })}
              </dd>
            </div>
            <div>
              <dt>{t('redeem.maxValue')}</dt>
              <dd className="money" data-testid="redeem-max-value">
                {formatRupees(q.maxValuePaise)}
              </dd>
            </div>
            <div>
              <dt>{t('redeem.minPoints')}</dt>
              <dd data-testid="redeem-min-points">
                {t('member.points', { count: q.minPoints, points: formatPoints(q.minPoints) })}
              </dd>
            </div>
          </dl>
          {!q.allowed ? (
            <p className="message message-error" role="alert" data-testid="redeem-not-allowed">
              {q.reason ?? t('redeem.notAllowed')}
            </p>
          ) : (
            <form className="inline-form" onSubmit={sendOtp} noValidate>
              <label className="field">
                <span className="label">{t('redeem.points')}</span>
                <input
                  ref={pointsRef}
                  className="input input-number"
                  inputMode="numeric"
                  autoComplete="off"
                  autoFocus
                  value={pointsText ?? String(q.maxPoints)}
                  onChange={(event) => {
                    setPointsText(event.target.value.replace(/\D/g, ''));
                  }}
                  data-testid="redeem-points"
                />
              </label>
              <span className="money redeem-value" data-testid="redeem-points-value">
                = {isPointsValid ? formatRupees(points * q.pointValuePaise) : '—'}
              </span>
              <KeyButton
                type="submit"
                tone="primary"
                shortcut="Enter"
                testId="redeem-send-otp"
                disabled={isBusy}
              >
                {t('redeem.sendOtp')}
              </KeyButton>
            </form>
          )}
        </>
      )}
      {view !== null && isAwaiting && otpState !== null && (
        <>
          <p className="otp-sent" data-testid="redeem-otp-sent">
            {t('redeem.otpSent', { mobile: view.maskedMobile })}{' '}
            <span
              className={`tag tag-sms-${delivery ?? 'unknown'}`}
              data-testid="redeem-sms-state"
              data-state={delivery ?? 'unknown'}
            >
              {t(`sms.${delivery ?? 'unknown'}`)}
            </span>
          </p>
          {deliveryError !== null && (
            <p className="message message-error" data-testid="redeem-sms-error">
              {deliveryError}
            </p>
          )}
          <p className="hint">
            <span data-testid="redeem-amount">
              {t('redeem.forPoints', {
                points: formatPoints(view.points),
                value: formatRupees(view.valuePaise),
              })}
            </span>{' '}
            ·{' '}
            <span data-testid="redeem-tries-left">
              {t('redeem.triesLeft', { count: otpState.triesLeft })}
            </span>{' '}
            ·{' '}
            <span data-testid="redeem-expires">
              {t('redeem.expiresIn', { time: formatCountdown(otpState.expiresAt, now) })}
            </span>
          </p>
          <form className="inline-form" onSubmit={confirm} noValidate>
            <label className="field">
              <span className="label">{t('redeem.otp')}</span>
              <input
                ref={otpRef}
                className="input input-otp"
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={6}
                autoFocus
                value={otp}
                onChange={(event) => {
                  setOtp(event.target.value.replace(/\D/g, '').slice(0, 6));
                }}
                data-testid="redeem-otp"
              />
            </label>
            <KeyButton
              type="submit"
              tone="primary"
              shortcut="Enter"
              testId="redeem-confirm"
              disabled={isBusy}
            >
              {t('redeem.confirm')}
            </KeyButton>
            <KeyButton
              shortcut="Alt+R"
              testId="redeem-resend"
              onClick={resend}
              disabled={!canResend || isBusy}
            >
              {otpState.resendAt !== null && resendAtMs !== null && now < resendAtMs
                ? t('redeem.resendIn', { time: formatCountdown(otpState.resendAt, now) })
                : t('redeem.resend')}
            </KeyButton>
          </form>
        </>
      )}
      {isConfirmed && (
        <p className="message message-ok" data-testid="redeem-confirmed">
          {t('redeem.confirmed', {
            points: formatPoints(redemption.points),
            value: formatRupees(redemption.valuePaise),
          })}
          {view?.balanceAfter != null && (
            <> {t('redeem.balanceAfter', { points: formatPoints(view.balanceAfter) })}</>
          )}
        </p>
      )}
      {message !== null && (
        <p
          className={`message message-${message.tone}`}
          role={message.tone === 'error' ? 'alert' : 'status'}
          data-testid="redeem-message"
        >
          {message.text}
        </p>
      )}
      <div className="actions">
        {redemption !== null && (
          <KeyButton
            tone="danger"
            shortcut="Alt+X"
            testId="redeem-cancel"
            onClick={cancel}
            disabled={isBusy}
          >
            {t('redeem.cancel')}
          </KeyButton>
        )}
        {!isAwaiting && (
          <KeyButton shortcut="Esc" testId="redeem-close" onClick={props.onClose}>
            {t('redeem.close')}
          </KeyButton>
        )}
      </div>
      <p className="hint">
        <Kbd>F9</Kbd> {t('redeem.completeHint')}
      </p>
    </section>
  );
}
